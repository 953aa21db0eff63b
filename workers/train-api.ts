// What the page sends to the training worker and gets back.
import type { ConnectionPlan } from "../src/core/privacy/policy.ts";
import type { Backend } from "../src/core/train/ort-session.ts";
import type { CurveRequest } from "../src/core/train/curve.ts";
import type { TrainRunRequest } from "../src/core/train/run.ts";

interface WithDatabase {
  databaseName: string;
}

export interface RuntimeChoice {
  backend: Backend;
  /** onnxruntime-web threads on wasm (more than 1 needs a cross-origin isolated page). */
  numThreads?: number;
}

/** Start a new run (`request`) or resume a stored one (`runId`). */
export type TrainCall = WithDatabase & RuntimeChoice & ({ request: TrainRunRequest } | { runId: string });

/** Start a learning curve (`request`) or resume a stored one (`curveRunId`). */
export type CurveCall = WithDatabase & RuntimeChoice & ({ request: CurveRequest } | { curveRunId: string });

export interface PauseCall {
  runId: string;
}

export interface CompareCall extends WithDatabase {
  projectId: string;
  sourceModelId: string;
  adaptedModelId: string;
  /** Store the comparison as an evaluation of this run. */
  runId?: string;
}

/** An attribute, relation or document-label model on the gold notes, with its source where that has the same head. */
export interface CompareTaskCall extends WithDatabase {
  projectId: string;
  sourceModelId: string | null;
  adaptedModelId: string;
  /** An entity model for end-to-end attribute or relation scores. */
  entityModelId?: string;
  runId?: string;
}

export interface StoreModelCall extends WithDatabase {
  /** A dropped folder's files (name with its path) or one .zip. */
  files: { name: string; file: File }[];
  name: string;
  projectId?: string;
}

export interface DownloadModelCall extends WithDatabase {
  /** What the user typed: a model id (optionally @revision) or a URL on the Hub. */
  reference: string;
  /** The plan the page runs under; the worker shares the page's policy, so it checks the same one. */
  plan: ConnectionPlan;
}

/** What storeModel and downloadModel answer. */
export interface StoredModelReply {
  modelId: string;
  /** False when the model cannot run inference yet (no token-classification head); `reason` says why. */
  runnable: boolean;
  reason?: string;
}

export type { HubProgress } from "../src/core/model/hub.ts";
export type { TrainProgressEvent, TrainSummary } from "../src/core/train/run.ts";
export type { Comparison, CompareProgress } from "../src/core/eval/compare.ts";
export type { TaskComparison, TaskCompareProgress } from "../src/core/eval/task-compare.ts";
export type { CurveProgress, CurveResult } from "../src/core/train/curve.ts";
