// The "train" run against the store: a base model from IndexedDB adapted on a project's
// annotated pool notes, resumable at every checkpoint.
//
// - startTrainingRun() fixes everything a resume must see again: the base model, the note
//   ids (train and dev), the labels, the hyperparameters. It creates the run row and the
//   adapted model's row (kind "trained"), which the run fills.
// - runTraining() runs (or resumes) it. Checkpoints (Trainer.checkpoint: trainable state,
//   AdamW moments, step, plus our position in the epoch and the early-stopping state) go
//   into the adapted model's row as `checkpoint.safetensors`, every `checkpointEvery` steps
//   and at every epoch's end, so a reload loses at most the steps since the last one. The
//   run row holds the progress (loss curve, dev F1 per epoch), cut back to the checkpoint
//   when a run resumes, so the curve never shows steps twice.
// - After each epoch the weights are exported, built into the same forward-only ONNX graph
//   the download ships, and scored by the app's predictor on the dev notes (strict span
//   F1). The best epoch's weights are kept as the model's model.safetensors; a run stops
//   early after `patience` epochs without improvement.
// - A pause request stops at the next step with a checkpoint (status "paused"); resuming is
//   the same path as after a reload. Cancel stops without one (status "cancelled").
// - At the end the model row gets config.json, the tokenizer files, model.safetensors,
//   onnx/model.onnx and adaptation.json (the run's configuration and provenance), and the
//   checkpoint is deleted.
// - What a crash must not tear apart is written in one transaction each: the run row with
//   its model row; a checkpoint with the progress that points at it; the finished model's
//   files with the checkpoint's removal and the run's "done".
// - When the WebGPU device is lost (DeviceLostError), the run is not failed: the event is
//   recorded in the progress (`fallbacks`), the run stays "running", and the error goes to
//   the caller, which resumes the run from its last checkpoint on WebAssembly in a fresh
//   onnxruntime-web: the one that held the lost device is stuck (a session run on it never
//   settles, and later calls into its WebAssembly instance wait behind it), so the app
//   resumes in a new training worker (src/ui/state/train.svelte.ts).
// The loop, checkpoints and transactions are run-loop.ts's (shared with task-run.ts); this
// file makes the NER examples and batches, scores dev and writes the finished model's files.

import { NotFoundError } from "../errors.ts";
import { spanMetrics } from "../eval/span-metrics.ts";
import { buildInferenceModel } from "../model/inference-graph.ts";
import type { LoraConfig, LoraTarget } from "../model/lora.ts";
import { createPredictor } from "../model/predict.ts";
import { readSafetensors } from "../model/safetensors.ts";
import { inTransaction, type AppDatabase, type RunRow } from "../store/db.ts";
import { createModel, deleteModel, getModel } from "../store/models.ts";
import { getProject } from "../store/projects.ts";
import { createRun, getRun, updateRun } from "../store/runs.ts";
import { loadTokenizer } from "../text/tokenizer.ts";
import { DEFAULT_BUCKETS, epochBatches, type Batch } from "./batches.ts";
import { encoderModel } from "./model.ts";
import { trainingExamples } from "./ner-examples.ts";
import type { Backend, SessionFactory } from "./ort-session.ts";
import { type AnnotatorProvenance, type TrainingPlan, type TrainingSource, type TrainingSubset, labelledNotes, planTraining, subsetOfPlan } from "./run-data.ts";
import { type DevScore, adaptationOf, runStoredLoop, takePauseRequest } from "./run-loop.ts";
import { adaptedModelFiles, initialWeights, labelsFor, modelConfigFor, readStoredFolder, safetensorsOf, typesOf } from "./run-model.ts";
import type { TaskAdaptation } from "./task-run.ts";
import type { TrainTask } from "./tasks.ts";
import type { Trainer } from "./trainer.ts";

export interface Hyperparameters {
  epochs: number;
  /** Peak learning rate (linear warm-up, then linear decay to 0). */
  lr: number;
  batchSize: number;
  /** Tokens per window, [CLS] and [SEP] included; longer notes are windowed. */
  maxLength: number;
  /** Tokens shared by consecutive windows. */
  stride: number;
  mode: "full" | "lora";
  loraRank: number;
  /** Full mode: encoder layers (from the bottom) kept frozen, with the embeddings when > 0. */
  frozenLayers: number;
  warmupRatio: number;
  weightDecay: number;
  /** Epochs without a better dev F1 before stopping; 0 never stops early. */
  patience: number;
  /** A checkpoint every this many steps (besides every epoch's end); 0: at epoch ends only. */
  checkpointEvery: number;
  seed: number;
  /** Stop after this many steps in all (a short trial run); 0 for no limit. */
  maxSteps: number;
}

export interface TrainRunRequest {
  projectId: string;
  baseModelId: string;
  source: TrainingSource;
  /** Leave out LLM spans below this confidence; 0 keeps all. */
  minConfidence: number;
  /** Weight each span's tokens in the loss by its confidence. */
  weightByConfidence: boolean;
  hyper: Hyperparameters;
  /** Name of the adapted model; made from the base model's when absent. */
  name?: string;
  /** Train on `limit` of the training notes, drawn by `seed` (a learning curve's point). */
  subset?: TrainingSubset;
  /** The learning-curve run this run is a point of. */
  curveRunId?: string;
  /** What the run trains: entities (this file) by default; attributes, relations or a document label (task-run.ts). */
  task?: TrainTask;
}

/** What the run row stores as its config: the request plus everything fixed at the start. */
export interface TrainRunConfig extends TrainRunRequest {
  modelId: string;
  labels: string[];
  newHead: boolean;
  baseModelName: string;
  plan: TrainingPlan;
}

export interface LossPoint {
  step: number;
  loss: number;
}

export interface DevPoint {
  epoch: number;
  step: number;
  f1: number;
  precision: number;
  recall: number;
}

/** A run that left its backend half-way: the GPU was lost and the run went on on WebAssembly. */
export interface BackendFallback {
  from: Backend;
  to: Backend;
  /** The last step whose loss came back before the device was lost. */
  lostAfterStep: number;
  /** The checkpoint the run went on from (0: none was written yet, so from the start). */
  resumedFrom: number;
  /** What the browser said (the DeviceLostError's message). */
  message: string;
}

export interface TrainProgress {
  runId: string;
  modelId: string;
  step: number;
  totalSteps: number;
  /** 1-based epoch being run. */
  epoch: number;
  epochs: number;
  loss: number | null;
  /** The latest dev F1 (strict, micro), when an epoch has been scored. */
  devF1: number | null;
  tokensPerSecond: number;
  etaSeconds: number | null;
  /** The step of the last checkpoint in the store. */
  checkpointStep: number;
  /** Set when this attempt started from a checkpoint. */
  resumedFrom: number | null;
  backend: Backend;
  losses: LossPoint[];
  dev: DevPoint[];
  bestDevF1: number | null;
  bestEpoch: number | null;
  examples: number;
  /** Backend switches so far, oldest first (absent in runs stored before they existed). */
  fallbacks?: BackendFallback[];
  stoppedEarly?: boolean;
  error?: { name: string; message: string };
}

/** The UI's progress events: the progress without the full curves, plus the newest points. */
export type TrainProgressEvent = Omit<TrainProgress, "losses" | "dev"> & { point?: LossPoint; devPoint?: DevPoint; losses?: LossPoint[]; dev?: DevPoint[] };

export interface TrainSummary {
  runId: string;
  modelId: string;
  status: "done" | "paused" | "cancelled";
  steps: number;
  bestDevF1: number | null;
}

export const LORA_TARGETS_DEFAULT: LoraTarget[] = ["query", "key", "value", "attention_output", "intermediate", "output"];

/** Defaults that work without tuning: full fine-tuning for small encoders, LoRA for big ones. */
export function defaultHyperparameters(parameterCount: number, tokenizerMaxLength = 512): Hyperparameters {
  const small = parameterCount < 30_000_000;
  return {
    epochs: 5,
    lr: small ? 3e-4 : 5e-4,
    batchSize: 8,
    maxLength: Math.min(small ? 128 : 256, tokenizerMaxLength),
    stride: 32,
    mode: small ? "full" : "lora",
    loraRank: 8,
    frozenLayers: 0,
    warmupRatio: 0.1,
    weightDecay: 0.01,
    patience: 2,
    checkpointEvery: 0,
    seed: 1,
    maxSteps: 0,
  };
}

// The loop itself (with its pause requests and loss thinning) is run-loop.ts, shared with the
// task runs; these stay importable from here, where callers have always found them.
export { modeOf, requestPause, takePauseRequest, thin } from "./run-loop.ts";

export async function startTrainingRun(db: AppDatabase, request: TrainRunRequest): Promise<RunRow> {
  const project = await getProject(db, request.projectId);
  const base = await getModel(db, request.baseModelId);
  const folder = await readStoredFolder(db, request.baseModelId);
  const types = project.schema.entityTypes.map((type) => type.name);
  const { labels, newHead } = types.length > 0 ? labelsFor(folder.config, types) : { labels: folder.config.labels, newHead: false };
  const plan = subsetOfPlan(await planTraining(db, request.projectId, request.source), request.subset);
  if (plan.trainNoteIds.length === 0) {
    throw new NotFoundError(
      request.source === "human"
        ? "No pool note has a human annotation yet: annotate some notes, or train on the LLM's annotations."
        : "No pool note has an LLM annotation yet: run the Annotate step first.",
    );
  }
  const name = request.name ?? `${base.name} adapted to ${project.name}`;
  // Together: a crash between the two would leave a model row that no run fills.
  return inTransaction(db, "rw", [db.models, db.runs], `the training run of "${name}"`, async () => {
    const model = await createModel(db, { name, kind: "trained", config: null, labels, projectId: request.projectId });
    const config: TrainRunConfig = { ...request, name, modelId: model.id, labels, newHead, baseModelName: base.name, plan };
    return createRun(db, { projectId: request.projectId, kind: "train", config });
  });
}

export interface TrainRunOptions {
  backend?: Backend;
  signal?: AbortSignal;
  onProgress?: (event: TrainProgressEvent) => void;
  /**
   * Where the trainer's onnxruntime sessions come from (onnxruntime-web's by default). The
   * seam where a test stands in for a GPU that is lost; nothing else is replaceable.
   */
  createSession?: SessionFactory;
}

export function bucketsFor(maxLength: number): number[] {
  return [...DEFAULT_BUCKETS.filter((b) => b < maxLength), maxLength];
}

export function loraOf(hyper: Hyperparameters): LoraConfig | undefined {
  return hyper.mode === "lora" ? { rank: hyper.loraRank, alpha: 2 * hyper.loraRank, targets: LORA_TARGETS_DEFAULT } : undefined;
}

function realTokens(batch: Batch): number {
  let n = 0;
  for (let i = 0; i < batch.attentionMask.length; i++) n += Number(batch.attentionMask[i]);
  return n - (batch.rows - batch.examples);
}

/**
 * Runs (or resumes) a training run, from its stored checkpoint or the start, to its end, a
 * pause or a cancel. A lost GPU ends it with a DeviceLostError and the run left "running",
 * its `fallbacks` saying from which checkpoint to go on on WebAssembly (see the top).
 */
export async function runTraining(db: AppDatabase, runId: string, options: TrainRunOptions = {}): Promise<TrainSummary> {
  const run = await getRun(db, runId);
  if (run.kind !== "train") throw new NotFoundError(`Run ${runId} is not a training run.`);
  const config = run.config as TrainRunConfig;
  const { hyper } = config;
  takePauseRequest(runId);

  const folder = await readStoredFolder(db, config.baseModelId);
  const modelConfig = modelConfigFor(folder, config.labels);
  const lora = loraOf(hyper);
  const { weights } = initialWeights(folder, modelConfig, config.newHead, hyper.seed, lora);
  const tokenizer = loadTokenizer(folder.tokenizerJson, folder.tokenizerConfig ?? {}, { verify: false });
  const maxLength = Math.min(hyper.maxLength, tokenizer.maxLength, modelConfig.maxPositions - modelConfig.positionOffset);
  const types = typesOf(config.labels);
  const trainNotes = await labelledNotes(db, config.projectId, config.plan.trainNoteIds, config.source);
  const devNotes = await labelledNotes(db, config.projectId, config.plan.devNoteIds, config.plan.devKind === "dev" ? "reference" : config.source);
  const { examples } = trainingExamples(trainNotes, tokenizer, {
    types,
    maxLength,
    stride: Math.min(hyper.stride, Math.floor(maxLength / 4)),
    ...(config.minConfidence > 0 ? { minConfidence: config.minConfidence } : {}),
    weightByConfidence: config.weightByConfidence,
  });
  if (examples.length === 0) throw new NotFoundError("The training notes gave no examples: are they empty?");
  const buckets = bucketsFor(maxLength);
  const batchSize = Math.max(1, Math.min(hyper.batchSize, examples.length));
  const epochBatchesOf = (epoch: number) => epochBatches(modelConfig, examples, { batchSize, buckets, seed: hyper.seed, epoch });

  // Dev is scored by the app's predictor on the forward-only graph the download ships.
  const scoreDev = async (trainer: Trainer): Promise<DevScore> => {
    const exported = await trainer.exportWeights();
    const predictor = await createPredictor({ onnx: buildInferenceModel(modelConfig, exported), config: modelConfig, tokenizer });
    try {
      const predicted = await predictor.predict(devNotes.map((note) => note.text), { maxLength, signal: options.signal });
      const { micro } = spanMetrics(devNotes.map((note, i) => ({ gold: note.spans, pred: predicted[i] }))).strict;
      return { metrics: { f1: micro.f1, precision: micro.precision, recall: micro.recall }, bestWeights: () => safetensorsOf(modelConfig, exported) };
    } finally {
      await predictor.release();
    }
  };

  return runStoredLoop(db, run, options, {
    model: encoderModel(modelConfig, lora),
    weights,
    examples: examples.length,
    batchSize,
    stepsPerEpoch: epochBatchesOf(0).length,
    epochBatches: epochBatchesOf,
    realTokens,
    hasDev: devNotes.length > 0,
    scoreDev,
    finalFiles: async (trainer, best, progress) => finalFiles(config, folder, modelConfig, trainer, best, progress),
  });
}

/** Provenance written next to the weights (adaptation.json) and read by the model card. */
export interface Adaptation {
  format: "clinical-adapt/adaptation";
  runId: string;
  baseModel: { id: string; name: string };
  labels: string[];
  newHead: boolean;
  source: TrainingSource;
  minConfidence: number;
  weightByConfidence: boolean;
  hyperparameters: Hyperparameters & { effectiveMaxLength?: number };
  counts: TrainingPlan["counts"] & { trainNotes: number; devNotes: number; devKind: TrainingPlan["devKind"]; examples: number };
  annotators: AnnotatorProvenance[];
  steps: number;
  stoppedEarly: boolean;
  dev: DevPoint[];
  bestDevF1: number | null;
  bestEpoch: number | null;
  backend: Backend;
  finishedAt: string;
  /** Set for attribute, relation and document-label models: the task and its head (task-run.ts). */
  task?: TaskAdaptation;
}

/** The adapted model's files: the best epoch's weights (else the last), its graph and adaptation.json. */
async function finalFiles(
  config: TrainRunConfig,
  folder: Awaited<ReturnType<typeof readStoredFolder>>,
  modelConfig: ReturnType<typeof modelConfigFor>,
  trainer: Trainer,
  best: Uint8Array | null,
  progress: TrainProgress,
): Promise<Map<string, Uint8Array>> {
  let weights: Map<string, Float32Array>;
  let safetensors: Uint8Array;
  if (best) {
    safetensors = best;
    const file = readSafetensors(safetensors);
    weights = new Map([...file.tensors].map(([name, t]) => [name, t.data as Float32Array]));
  } else {
    weights = await trainer.exportWeights();
    safetensors = safetensorsOf(modelConfig, weights);
  }
  return adaptedModelFiles(folder, modelConfig, weights, safetensors, adaptationOf(config, progress));
}

/** Deletes a run's unfinished model (checkpoint and all); the run row stays as a record. */
export async function discardTrainingRun(db: AppDatabase, runId: string): Promise<void> {
  const run = await getRun(db, runId);
  const config = run.config as TrainRunConfig;
  await deleteModel(db, config.modelId).catch(() => undefined);
  await updateRun(db, runId, { status: "cancelled" });
}
