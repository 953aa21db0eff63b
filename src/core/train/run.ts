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

import { CancelledError, DeviceLostError, NotFoundError, toErrorData } from "../errors.ts";
import { spanMetrics } from "../eval/span-metrics.ts";
import { buildInferenceModel } from "../model/inference-graph.ts";
import type { LoraConfig, LoraTarget } from "../model/lora.ts";
import { createPredictor } from "../model/predict.ts";
import { readSafetensors } from "../model/safetensors.ts";
import { inTransaction, type AppDatabase, type RunRow } from "../store/db.ts";
import { createModel, deleteModel, deleteModelFile, getModel, getModelFile, putModelFile } from "../store/models.ts";
import { getProject } from "../store/projects.ts";
import { createRun, getRun, updateRun } from "../store/runs.ts";
import { loadTokenizer } from "../text/tokenizer.ts";
import { DEFAULT_BUCKETS, epochBatches, type Batch } from "./batches.ts";
import { encoderModel } from "./model.ts";
import { trainingExamples } from "./ner-examples.ts";
import type { Backend, SessionFactory } from "./ort-session.ts";
import { type AnnotatorProvenance, type TrainingPlan, type TrainingSource, type TrainingSubset, labelledNotes, planTraining, subsetOfPlan } from "./run-data.ts";
import { adaptedModelFiles, initialWeights, labelsFor, modelConfigFor, readStoredFolder, safetensorsOf, typesOf } from "./run-model.ts";
import { warmupStepsFor } from "./schedule.ts";
import { DEFAULT_ADAMW } from "./step-graph.ts";
import type { TaskAdaptation } from "./task-run.ts";
import type { TrainTask } from "./tasks.ts";
import { Trainer } from "./trainer.ts";
import type { TrainMode } from "./trainable.ts";

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

// --- Pause requests: the worker's "pause" call flags a run; the loop checkpoints and stops. ---

const pauseRequests = new Set<string>();

export function requestPause(runId: string): void {
  pauseRequests.add(runId);
}

/** True once when a pause was asked for this run (the task runs' loop asks it too). */
export function takePauseRequest(runId: string): boolean {
  return pauseRequests.delete(runId);
}

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

const CHECKPOINT = "checkpoint.safetensors";
const MAX_LOSS_POINTS = 2000;

export function bucketsFor(maxLength: number): number[] {
  return [...DEFAULT_BUCKETS.filter((b) => b < maxLength), maxLength];
}

export function loraOf(hyper: Hyperparameters): LoraConfig | undefined {
  return hyper.mode === "lora" ? { rank: hyper.loraRank, alpha: 2 * hyper.loraRank, targets: LORA_TARGETS_DEFAULT } : undefined;
}

export function modeOf(hyper: Hyperparameters): TrainMode {
  if (hyper.mode === "lora") return { kind: "lora" };
  return hyper.frozenLayers > 0 ? { kind: "freeze", embeddings: true, layers: hyper.frozenLayers } : { kind: "full" };
}

function realTokens(batch: Batch): number {
  let n = 0;
  for (let i = 0; i < batch.attentionMask.length; i++) n += Number(batch.attentionMask[i]);
  return n - (batch.rows - batch.examples);
}

/** Halves a long curve by averaging neighbours, so the stored progress stays small. */
export function thin(points: LossPoint[]): LossPoint[] {
  if (points.length <= MAX_LOSS_POINTS) return points;
  const out: LossPoint[] = [];
  for (let i = 0; i + 1 < points.length; i += 2) out.push({ step: points[i + 1].step, loss: (points[i].loss + points[i + 1].loss) / 2 });
  if (points.length % 2) out.push(points[points.length - 1]);
  return out;
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
  const backend = options.backend ?? "wasm";
  const { createSession } = options;
  pauseRequests.delete(runId);

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
  const stepsPerEpoch = epochBatches(modelConfig, examples, { batchSize, buckets, seed: hyper.seed, epoch: 0 }).length;
  const totalSteps = hyper.maxSteps > 0 ? Math.min(hyper.maxSteps, hyper.epochs * stepsPerEpoch) : hyper.epochs * stepsPerEpoch;
  const model = encoderModel(modelConfig, lora);
  const stored = await getModel(db, config.modelId);

  // Resume state.
  let trainer: Trainer;
  let startEpoch = 0;
  let startBatch = 0;
  let bestDevF1: number | null = null;
  let bestEpoch: number | null = null;
  let badEpochs = 0;
  const previous = (run.progress ?? null) as TrainProgress | null;
  let losses: LossPoint[] = previous?.losses ?? [];
  let dev: DevPoint[] = previous?.dev ?? [];
  let resumedFrom: number | null = null;
  let fallbacks: BackendFallback[] = previous?.fallbacks ?? [];
  if (CHECKPOINT in stored.files) {
    const bytes = await getModelFile(db, config.modelId, CHECKPOINT);
    trainer = await Trainer.fromCheckpoint(bytes, { model, weights, backend, createSession });
    const meta = readSafetensors(bytes, CHECKPOINT).metadata ?? {};
    startEpoch = Number(meta.epoch ?? 0);
    startBatch = Number(meta.batch ?? 0);
    bestDevF1 = meta.bestDevF1 ? Number(meta.bestDevF1) : null;
    bestEpoch = meta.bestEpoch ? Number(meta.bestEpoch) : null;
    badEpochs = Number(meta.badEpochs ?? 0);
    resumedFrom = trainer.stepCount;
    losses = losses.filter((point) => point.step <= trainer.stepCount);
    dev = dev.filter((point) => point.step <= trainer.stepCount);
  } else {
    trainer = await Trainer.create({
      model,
      weights,
      mode: modeOf(hyper),
      schedule: { lr: hyper.lr, warmupSteps: warmupStepsFor(totalSteps, hyper.warmupRatio), totalSteps },
      adamw: { ...DEFAULT_ADAMW, weightDecay: hyper.weightDecay },
      seed: hyper.seed,
      batchSize,
      backend,
      createSession,
    });
    losses = [];
    dev = [];
  }

  let checkpointStep = trainer.stepCount;
  let lastLoss: number | null = losses.at(-1)?.loss ?? null;
  let lastStep = trainer.stepCount;
  let tokens = 0;
  let stepsThisAttempt = 0;
  const started = performance.now();
  let lastWrite = 0;
  const progress = (): TrainProgress => {
    const seconds = (performance.now() - started) / 1000;
    const perStep = stepsThisAttempt > 0 ? seconds / stepsThisAttempt : 0;
    return {
      runId,
      modelId: config.modelId,
      step: trainer.stepCount,
      totalSteps,
      epoch: Math.min(hyper.epochs, Math.floor(Math.max(0, trainer.stepCount - 1) / stepsPerEpoch) + 1),
      epochs: hyper.epochs,
      loss: lastLoss,
      devF1: dev.at(-1)?.f1 ?? null,
      tokensPerSecond: seconds > 0 ? tokens / seconds : 0,
      etaSeconds: stepsThisAttempt > 0 ? perStep * (totalSteps - trainer.stepCount) : null,
      checkpointStep,
      resumedFrom,
      backend,
      losses,
      dev,
      bestDevF1,
      bestEpoch,
      examples: examples.length,
      fallbacks,
    };
  };
  const emit = (extra: Partial<TrainProgressEvent> = {}) => {
    const { losses: _l, dev: _d, ...rest } = progress();
    options.onProgress?.({ ...rest, ...extra });
  };
  const save = async (status?: RunRow["status"]) => {
    lastWrite = performance.now();
    await updateRun(db, runId, { ...(status ? { status } : {}), progress: progress() });
  };

  const checkpoint = async (epoch: number, batch: number) => {
    const bytes = await trainer.checkpoint({
      epoch: String(epoch),
      batch: String(batch),
      bestDevF1: bestDevF1 === null ? "" : String(bestDevF1),
      bestEpoch: bestEpoch === null ? "" : String(bestEpoch),
      badEpochs: String(badEpochs),
    });
    // Together: after a crash the run's progress (its curve, "resume from step N") always
    // matches the checkpoint that is stored.
    await inTransaction(db, "rw", [db.models, db.modelChunks, db.runs], `the checkpoint at step ${trainer.stepCount}`, async () => {
      await putModelFile(db, config.modelId, CHECKPOINT, bytes);
      checkpointStep = trainer.stepCount;
      await save();
    });
    emit();
  };

  const scoreDev = async (epoch: number): Promise<void> => {
    if (devNotes.length === 0) return;
    const exported = await trainer.exportWeights();
    const predictor = await createPredictor({ onnx: buildInferenceModel(modelConfig, exported), config: modelConfig, tokenizer });
    try {
      const predicted = await predictor.predict(devNotes.map((note) => note.text), { maxLength, signal: options.signal });
      const { micro } = spanMetrics(devNotes.map((note, i) => ({ gold: note.spans, pred: predicted[i] }))).strict;
      const point: DevPoint = { epoch, step: trainer.stepCount, f1: micro.f1, precision: micro.precision, recall: micro.recall };
      dev = [...dev, point];
      if (bestDevF1 === null || micro.f1 > bestDevF1) {
        bestDevF1 = micro.f1;
        bestEpoch = epoch;
        badEpochs = 0;
        await putModelFile(db, config.modelId, "model.safetensors", safetensorsOf(modelConfig, exported));
      } else {
        badEpochs++;
      }
      emit({ devPoint: point });
    } finally {
      await predictor.release();
    }
  };

  await save("running");
  emit({ losses, dev });
  let stoppedEarly = false;
  try {
    outer: for (let epoch = startEpoch; epoch < hyper.epochs; epoch++) {
      const batches = epochBatches(modelConfig, examples, { batchSize, buckets, seed: hyper.seed, epoch });
      for (let i = epoch === startEpoch ? startBatch : 0; i < batches.length; i++) {
        if (trainer.stepCount >= totalSteps) break outer;
        if (options.signal?.aborted) throw new CancelledError("training");
        const result = await trainer.step(batches[i]);
        stepsThisAttempt++;
        tokens += realTokens(batches[i]);
        lastLoss = result.loss;
        lastStep = result.step;
        const point = { step: result.step, loss: result.loss };
        losses = thin([...losses, point]);
        emit({ point });
        if (performance.now() - lastWrite > 1000) await save();
        const lastOfEpoch = i === batches.length - 1 || trainer.stepCount >= totalSteps;
        if (pauseRequests.has(runId)) {
          pauseRequests.delete(runId);
          if (lastOfEpoch) await scoreDev(epoch + 1);
          await checkpoint(lastOfEpoch ? epoch + 1 : epoch, lastOfEpoch ? 0 : i + 1);
          await save("paused");
          await trainer.release();
          return { runId, modelId: config.modelId, status: "paused", steps: trainer.stepCount, bestDevF1 };
        }
        if (!lastOfEpoch && hyper.checkpointEvery > 0 && trainer.stepCount % hyper.checkpointEvery === 0) await checkpoint(epoch, i + 1);
      }
      await scoreDev(epoch + 1);
      await checkpoint(epoch + 1, 0);
      if (hyper.patience > 0 && badEpochs >= hyper.patience) {
        stoppedEarly = true;
        break;
      }
    }
    // A run cut short mid-epoch (maxSteps) is scored where it stopped.
    if (dev.at(-1)?.step !== trainer.stepCount && devNotes.length > 0) await scoreDev(progress().epoch);
    await finish(db, config, folder, modelConfig, trainer, bestDevF1 !== null, { ...progress(), stoppedEarly });
    emit({ stoppedEarly });
    return { runId, modelId: config.modelId, status: "done", steps: trainer.stepCount, bestDevF1 };
  } catch (error) {
    if (error instanceof DeviceLostError && backend !== "wasm") {
      // Not a failure: the caller goes on from the stored checkpoint on WebAssembly.
      fallbacks = [...fallbacks, { from: backend, to: "wasm", lostAfterStep: lastStep, resumedFrom: checkpointStep, message: error.message }];
      await save();
      throw error;
    }
    const cancelled = error instanceof CancelledError || options.signal?.aborted === true;
    await updateRun(db, runId, {
      status: cancelled ? "cancelled" : "failed",
      progress: { ...progress(), ...(cancelled ? {} : { error: toErrorData(error) }) },
    });
    if (!cancelled) throw error;
    return { runId, modelId: config.modelId, status: "cancelled", steps: trainer.stepCount, bestDevF1 };
  } finally {
    pauseRequests.delete(runId);
    await trainer.release().catch(() => undefined);
  }
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

async function finish(
  db: AppDatabase,
  config: TrainRunConfig,
  folder: Awaited<ReturnType<typeof readStoredFolder>>,
  modelConfig: ReturnType<typeof modelConfigFor>,
  trainer: Trainer,
  keptBest: boolean,
  progress: TrainProgress,
): Promise<void> {
  const stored = await getModel(db, config.modelId);
  let weights: Map<string, Float32Array>;
  let safetensors: Uint8Array;
  if (keptBest && "model.safetensors" in stored.files) {
    safetensors = await getModelFile(db, config.modelId, "model.safetensors");
    const file = readSafetensors(safetensors);
    weights = new Map([...file.tensors].map(([name, t]) => [name, t.data as Float32Array]));
  } else {
    weights = await trainer.exportWeights();
    safetensors = safetensorsOf(modelConfig, weights);
  }
  const adaptation: Adaptation = {
    format: "clinical-adapt/adaptation",
    runId: progress.runId,
    baseModel: { id: config.baseModelId, name: config.baseModelName },
    labels: config.labels,
    newHead: config.newHead,
    source: config.source,
    minConfidence: config.minConfidence,
    weightByConfidence: config.weightByConfidence,
    hyperparameters: config.hyper,
    counts: {
      ...config.plan.counts,
      trainNotes: config.plan.trainNoteIds.length,
      devNotes: config.plan.devNoteIds.length,
      devKind: config.plan.devKind,
      examples: progress.examples,
    },
    annotators: config.plan.annotators,
    steps: progress.step,
    stoppedEarly: progress.stoppedEarly === true,
    dev: progress.dev,
    bestDevF1: progress.bestDevF1,
    bestEpoch: progress.bestEpoch,
    backend: progress.backend,
    finishedAt: new Date().toISOString(),
  };
  const files = adaptedModelFiles(folder, modelConfig, weights, safetensors, adaptation);
  // Together: a crash half-way would leave a model with some final files and no checkpoint,
  // which a resume could only restart from step 0.
  await inTransaction(db, "rw", [db.models, db.modelChunks, db.runs], `the adapted model "${config.name}"`, async () => {
    for (const [name, bytes] of files) await putModelFile(db, config.modelId, name, bytes);
    await deleteModelFile(db, config.modelId, CHECKPOINT);
    await db.models.update(config.modelId, { config: JSON.parse(new TextDecoder().decode(files.get("config.json"))), labels: config.labels });
    await updateRun(db, progress.runId, { status: "done", progress });
  });
}

/** Deletes a run's unfinished model (checkpoint and all); the run row stays as a record. */
export async function discardTrainingRun(db: AppDatabase, runId: string): Promise<void> {
  const run = await getRun(db, runId);
  const config = run.config as TrainRunConfig;
  await deleteModel(db, config.modelId).catch(() => undefined);
  await updateRun(db, runId, { status: "cancelled" });
}
