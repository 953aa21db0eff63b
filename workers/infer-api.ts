// What the page sends to the inference worker and gets back.
import type { InferRunRequest } from "../src/core/model/predict-run.ts";

export interface InferRequest extends InferRunRequest {
  databaseName: string;
  /** onnxruntime-web threads (needs a cross-origin isolated page for more than 1). */
  numThreads?: number;
}

export type { InferProgress, InferSummary } from "../src/core/model/predict-run.ts";
