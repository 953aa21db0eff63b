// The stored run loop that the NER run (run.ts) and the task runs (task-run.ts) share: what
// makes a run resumable, pausable and crash-safe, whatever its head.
//
// - The trainer comes from the adapted model's checkpoint when there is one (its metadata
//   holds our position in the epoch and the early-stopping state), or is created fresh. A
//   resume cuts the stored curves back to the checkpoint, so they never show steps twice.
// - The epoch/batch loop: a loss point per step (the curve thinned when long), the progress
//   written at most once a second, a checkpoint every `checkpointEvery` steps and at every
//   epoch's end, dev scored after each epoch (the best epoch's weights kept as
//   model.safetensors), early stopping after `patience` epochs without improvement.
// - A pause request stops at the next step with a checkpoint (status "paused"); cancel stops
//   without one (status "cancelled"); a lost GPU is recorded in `fallbacks` and the
//   DeviceLostError goes to the caller, the run left "running" (see run.ts's top).
// - What a crash must not tear apart is written in one transaction each: a checkpoint with
//   the progress that points at it; the finished model's files with the checkpoint's removal
//   and the run's "done".
//
// What differs between runs comes in a RunLoopSetup: the model and its weights, the batches,
// how dev is scored and which files the finished model gets.

import { CancelledError, DeviceLostError, toErrorData } from "../errors.ts";
import { readSafetensors } from "../model/safetensors.ts";
import type { Weight } from "../model/weights.ts";
import { inTransaction, type AppDatabase, type RunRow } from "../store/db.ts";
import { deleteModelFile, getModel, getModelFile, putModelFile } from "../store/models.ts";
import { updateRun } from "../store/runs.ts";
import type { Batch } from "./batches.ts";
import type { StepModel } from "./model.ts";
import type { Adaptation, BackendFallback, DevPoint, Hyperparameters, LossPoint, TrainProgress, TrainProgressEvent, TrainRunConfig, TrainRunOptions, TrainSummary } from "./run.ts";
import { warmupStepsFor } from "./schedule.ts";
import { DEFAULT_ADAMW } from "./step-graph.ts";
import type { TaskBatch } from "./task-batches.ts";
import { Trainer } from "./trainer.ts";
import type { TrainMode } from "./trainable.ts";

export const CHECKPOINT = "checkpoint.safetensors";
/** The best epoch's weights, kept while the run goes on. */
export const BEST = "model.safetensors";
const MAX_LOSS_POINTS = 2000;

// --- Pause requests: the worker's "pause" call flags a run; the loop checkpoints and stops. ---

const pauseRequests = new Set<string>();

export function requestPause(runId: string): void {
  pauseRequests.add(runId);
}

/** True once when a pause was asked for this run. */
export function takePauseRequest(runId: string): boolean {
  return pauseRequests.delete(runId);
}

export function modeOf(hyper: Hyperparameters): TrainMode {
  if (hyper.mode === "lora") return { kind: "lora" };
  return hyper.frozenLayers > 0 ? { kind: "freeze", embeddings: true, layers: hyper.frozenLayers } : { kind: "full" };
}

/** Halves a long curve by averaging neighbours, so the stored progress stays small. */
export function thin(points: LossPoint[]): LossPoint[] {
  if (points.length <= MAX_LOSS_POINTS) return points;
  const out: LossPoint[] = [];
  for (let i = 0; i + 1 < points.length; i += 2) out.push({ step: points[i + 1].step, loss: (points[i].loss + points[i + 1].loss) / 2 });
  if (points.length % 2) out.push(points[points.length - 1]);
  return out;
}

/** One dev scoring: the point's metrics, and the weights file to keep if it is the best yet. */
export interface DevScore {
  metrics: { f1: number; precision: number; recall: number };
  bestWeights: () => Uint8Array | Promise<Uint8Array>;
}

/** What a run's head adds to the shared loop. */
export interface RunLoopSetup<B extends Batch | TaskBatch> {
  model: StepModel;
  weights: ReadonlyMap<string, Float32Array | Weight>;
  /** Training examples, for the progress record. */
  examples: number;
  batchSize: number;
  stepsPerEpoch: number;
  /** An epoch's batches, drawn from the seed and the epoch, so a resume sees the same ones. */
  epochBatches: (epoch: number) => B[];
  /** The batch's real tokens (padding left out), for tokens per second. */
  realTokens: (batch: B) => number;
  /** Whether there are dev notes to score each epoch on. */
  hasDev: boolean;
  scoreDev: (trainer: Trainer) => Promise<DevScore>;
  /**
   * The finished model's files, from the best epoch's weights file (null when none was kept:
   * then from the trainer's) and the final progress.
   */
  finalFiles: (trainer: Trainer, best: Uint8Array | null, progress: TrainProgress) => Promise<Map<string, Uint8Array>>;
}

/** adaptation.json's fields that every run writes the same way (a head adds or overrides). */
export function adaptationOf(config: TrainRunConfig, progress: TrainProgress): Adaptation {
  return {
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
}

/**
 * Runs (or resumes) a stored run with the head's setup, from its checkpoint or the start, to
 * its end, a pause or a cancel. The caller has taken any stale pause request already (before
 * loading, so that a pause asked for meanwhile is kept).
 */
export async function runStoredLoop<B extends Batch | TaskBatch>(
  db: AppDatabase,
  run: RunRow,
  options: TrainRunOptions,
  setup: RunLoopSetup<B>,
): Promise<TrainSummary> {
  const runId = run.id;
  const config = run.config as TrainRunConfig;
  const { hyper } = config;
  const backend = options.backend ?? "wasm";
  const { createSession } = options;
  const { model, weights, batchSize, stepsPerEpoch } = setup;
  const totalSteps = hyper.maxSteps > 0 ? Math.min(hyper.maxSteps, hyper.epochs * stepsPerEpoch) : hyper.epochs * stepsPerEpoch;
  const stored = await getModel(db, config.modelId);

  // Resume state.
  let trainer: Trainer;
  let startEpoch = 0;
  let startBatch = 0;
  let bestDevF1: number | null = null;
  let bestEpoch: number | null = null;
  let badEpochs = 0;
  const previous = (run.progress ?? null) as TrainProgress | null;
  let losses: LossPoint[] = [];
  let dev: DevPoint[] = [];
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
    losses = (previous?.losses ?? []).filter((point) => point.step <= trainer.stepCount);
    dev = (previous?.dev ?? []).filter((point) => point.step <= trainer.stepCount);
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
      examples: setup.examples,
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
    if (!setup.hasDev) return;
    const { metrics, bestWeights } = await setup.scoreDev(trainer);
    const point: DevPoint = { epoch, step: trainer.stepCount, ...metrics };
    dev = [...dev, point];
    if (bestDevF1 === null || metrics.f1 > bestDevF1) {
      bestDevF1 = metrics.f1;
      bestEpoch = epoch;
      badEpochs = 0;
      await putModelFile(db, config.modelId, BEST, await bestWeights());
    } else {
      badEpochs++;
    }
    emit({ devPoint: point });
  };

  await save("running");
  emit({ losses, dev });
  let stoppedEarly = false;
  try {
    outer: for (let epoch = startEpoch; epoch < hyper.epochs; epoch++) {
      const batches = setup.epochBatches(epoch);
      for (let i = epoch === startEpoch ? startBatch : 0; i < batches.length; i++) {
        if (trainer.stepCount >= totalSteps) break outer;
        if (options.signal?.aborted) throw new CancelledError("training");
        const result = await trainer.step(batches[i]);
        stepsThisAttempt++;
        tokens += setup.realTokens(batches[i]);
        lastLoss = result.loss;
        lastStep = result.step;
        const point = { step: result.step, loss: result.loss };
        losses = thin([...losses, point]);
        emit({ point });
        if (performance.now() - lastWrite > 1000) await save();
        const lastOfEpoch = i === batches.length - 1 || trainer.stepCount >= totalSteps;
        if (takePauseRequest(runId)) {
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
    if (dev.at(-1)?.step !== trainer.stepCount && setup.hasDev) await scoreDev(progress().epoch);
    const finished = { ...progress(), stoppedEarly };
    const kept = bestDevF1 !== null && BEST in (await getModel(db, config.modelId)).files;
    const files = await setup.finalFiles(trainer, kept ? await getModelFile(db, config.modelId, BEST) : null, finished);
    await finish(db, config, files, finished);
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
    takePauseRequest(runId);
    // The run's own outcome (its result, or the error above) is what the caller must see;
    // a release that fails (its GPU device lost) has nothing left to free.
    await trainer.release().catch(() => undefined);
  }
}

/** Writes the finished model's files, removes the checkpoint and marks the run "done". */
async function finish(db: AppDatabase, config: TrainRunConfig, files: Map<string, Uint8Array>, progress: TrainProgress): Promise<void> {
  // Together: a crash half-way would leave a model with some final files and no checkpoint,
  // which a resume could only restart from step 0.
  await inTransaction(db, "rw", [db.models, db.modelChunks, db.runs], `the adapted model "${config.name}"`, async () => {
    for (const [name, bytes] of files) await putModelFile(db, config.modelId, name, bytes);
    await deleteModelFile(db, config.modelId, CHECKPOINT);
    await db.models.update(config.modelId, { config: JSON.parse(new TextDecoder().decode(files.get("config.json"))), labels: config.labels });
    await updateRun(db, progress.runId, { status: "done", progress });
  });
}
