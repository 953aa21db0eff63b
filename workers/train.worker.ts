// Training and evaluation off the main thread: a run (new or resumed) with progress out and
// pause/cancel in, source-vs-adapted comparisons on the gold notes, and model uploads.
import "./bind-policy.ts";
import * as ort from "onnxruntime-web";
// The app's own copies of onnxruntime-web's WebAssembly (see infer.worker.ts).
import ortWasmUrl from "onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url";
import ortMjsUrl from "onnxruntime-web/ort-wasm-simd-threaded.jsep.mjs?url";
import { compareStoredModels } from "../src/core/eval/compare.ts";
import { storeModelFiles } from "../src/core/model/load.ts";
import { openDatabase } from "../src/core/store/db.ts";
import { addEvaluation } from "../src/core/store/runs.ts";
import { requestPause, runTraining, startTrainingRun } from "../src/core/train/run.ts";
import { serve } from "./protocol.ts";
import type { CompareCall, PauseCall, StoreModelCall, TrainCall } from "./train-api.ts";

ort.env.wasm.wasmPaths = { wasm: ortWasmUrl, mjs: ortMjsUrl };

serve({
  async train(call: TrainCall, { progress, signal }) {
    if (call.numThreads !== undefined) ort.env.wasm.numThreads = call.numThreads;
    const db = openDatabase(call.databaseName);
    try {
      const runId = "runId" in call ? call.runId : (await startTrainingRun(db, call.request)).id;
      return await runTraining(db, runId, { backend: call.backend, signal, onProgress: progress });
    } finally {
      db.close();
    }
  },

  pause({ runId }: PauseCall) {
    requestPause(runId);
  },

  async compare({ databaseName, projectId, sourceModelId, adaptedModelId, runId }: CompareCall, { progress, signal }) {
    const db = openDatabase(databaseName);
    try {
      const comparison = await compareStoredModels(db, projectId, sourceModelId, adaptedModelId, { signal, onProgress: progress });
      await addEvaluation(db, { projectId, runId: runId ?? "", modelId: adaptedModelId, metrics: comparison });
      return comparison;
    } finally {
      db.close();
    }
  },

  async storeModel({ databaseName, files, name, projectId }: StoreModelCall) {
    const db = openDatabase(databaseName);
    try {
      const zip = files.length === 1 && files[0].name.toLowerCase().endsWith(".zip") ? files[0] : undefined;
      const input = zip
        ? { zip: new Uint8Array(await zip.file.arrayBuffer()), fileName: zip.name }
        : new Map(await Promise.all(files.map(async ({ name, file }) => [name, new Uint8Array(await file.arrayBuffer())] as const)));
      const stored = await storeModelFiles(db, input, { name, kind: "uploaded", projectId });
      return { modelId: stored.model.id, runnable: stored.runnable, reason: stored.reason };
    } finally {
      db.close();
    }
  },
});
