// Inference off the main thread: a stored model over a project's notes, each note's spans
// saved as it finishes (origin "model"), progress out, cancel in; and a stored model's
// spans for texts the page sends (the source-model annotator), its session kept loaded
// between calls.
import "./bind-policy.ts";
import * as ort from "onnxruntime-web";
import "./ort-wasm.ts";
import type { Predictor } from "../src/core/model/predict.ts";
import { loadStoredPredictor, runInference } from "../src/core/model/predict-run.ts";
import { openDatabase } from "../src/core/store/db.ts";
import type { InferRequest, PredictRequest, ReleaseRequest } from "./infer-api.ts";
import { serve } from "./protocol.ts";

/** Loaded predictors by database and model, for `predict`. */
const loaded = new Map<string, Promise<Predictor>>();
const keyOf = (databaseName: string, modelId: string) => `${databaseName}\u0000${modelId}`;

serve({
  infer({ databaseName, numThreads, ...request }: InferRequest, { progress, signal }) {
    if (numThreads !== undefined) ort.env.wasm.numThreads = numThreads;
    const db = openDatabase(databaseName);
    return runInference(db, request, { signal, onProgress: progress }).finally(() => db.close());
  },

  async predict({ databaseName, modelId, texts, numThreads, session }: PredictRequest, { signal }) {
    const key = keyOf(databaseName, modelId);
    let predictor = loaded.get(key);
    if (!predictor) {
      if (numThreads !== undefined) ort.env.wasm.numThreads = numThreads;
      const db = openDatabase(databaseName);
      predictor = loadStoredPredictor(db, modelId, session).finally(() => db.close());
      // A model that failed to load is not kept: the next call tries again.
      predictor.catch(() => loaded.delete(key));
      loaded.set(key, predictor);
    }
    return (await predictor).predict(texts, { signal });
  },

  async release({ databaseName, modelId }: ReleaseRequest) {
    const key = keyOf(databaseName, modelId);
    const predictor = loaded.get(key);
    loaded.delete(key);
    if (predictor) await (await predictor).release();
  },
});
