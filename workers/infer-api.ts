// What the page sends to the inference worker and gets back.
import type { InferRunRequest } from "../src/core/model/predict-run.ts";
import type { SessionOptions } from "../src/core/onnx/run.ts";

interface Runtime {
  /** onnxruntime-web threads (needs a cross-origin isolated page for more than 1). */
  numThreads?: number;
}

export interface InferRequest extends InferRunRequest, Runtime {
  databaseName: string;
}

/** A stored model's spans for these texts; the model stays loaded until `release`. */
export interface PredictRequest extends Runtime {
  databaseName: string;
  modelId: string;
  texts: string[];
  session?: SessionOptions;
}

export interface ReleaseRequest {
  databaseName: string;
  modelId: string;
}

export type { InferProgress, InferSummary } from "../src/core/model/predict-run.ts";
