// Inference off the main thread: a stored model over a project's notes, each note's spans
// saved as it finishes (origin "model"), progress out, cancel in.
import "./bind-policy.ts";
import * as ort from "onnxruntime-web";
// The app's own copies of onnxruntime-web's WebAssembly (the default bundle runs the JSEP
// build, which serves both wasm and WebGPU): never the CDN transformers.js would point at.
import ortWasmUrl from "onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url";
import ortMjsUrl from "onnxruntime-web/ort-wasm-simd-threaded.jsep.mjs?url";
import { runInference } from "../src/core/model/predict-run.ts";
import { openDatabase } from "../src/core/store/db.ts";
import type { InferRequest } from "./infer-api.ts";
import { serve } from "./protocol.ts";

ort.env.wasm.wasmPaths = { wasm: ortWasmUrl, mjs: ortMjsUrl };

serve({
  infer({ databaseName, numThreads, ...request }: InferRequest, { progress, signal }) {
    if (numThreads !== undefined) ort.env.wasm.numThreads = numThreads;
    const db = openDatabase(databaseName);
    return runInference(db, request, { signal, onProgress: progress }).finally(() => db.close());
  },
});
