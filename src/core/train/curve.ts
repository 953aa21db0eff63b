// A learning curve in the app, like the paper's figure: the same base model adapted on 5,
// 10, 25, … of the training notes and on all of them, each result scored on the gold
// notes, next to the source model's score.
//
// Choices:
// - The subsets are nested (one seed shuffles the training notes; a point takes the first
//   n), so the curve shows what more annotated notes buy, not which notes were drawn.
// - Each point is an ordinary training run, recorded with its configuration and provenance
//   and marked with the curve's run id. Its model is deleted once scored: a curve of a
//   BERT-base model would otherwise keep a copy of the weights per point.
// - The Train step's task decides what each point trains: entities (scored by span F1
//   against the source model), or an attribute, relation or document-label head (scored by
//   the task's F1 on the gold notes given their entities, as the Evaluate step scores it;
//   a base model has no such head, so such a curve has no source row).
// - One "curve" run row holds the request and the points so far. A curve cut by a reload,
//   a cancel or a lost GPU resumes: scored points are kept, a point that was training
//   resumes from its checkpoint, and a point trained but not yet scored is scored.

import { scoreStoredModel } from "../eval/compare.ts";
import { curveMetrics, type CurveMetrics } from "../eval/learning-curve.ts";
import { compareTaskModels } from "../eval/task-compare.ts";
import { CancelledError, DeviceLostError, NotFoundError, SettingError, toErrorData, type ErrorData } from "../errors.ts";
import type { AppDatabase, RunRow } from "../store/db.ts";
import { deleteModel, getModel } from "../store/models.ts";
import { getProject } from "../store/projects.ts";
import { createRun, getRun, listRuns, updateRun } from "../store/runs.ts";
import { continueRun, startRun } from "./any-run.ts";
import type { Backend } from "./ort-session.ts";
import { planTraining } from "./run-data.ts";
import type { TrainProgress, TrainProgressEvent, TrainRunConfig, TrainRunRequest, TrainSummary } from "./run.ts";
import { taskChoiceFor } from "./task-run.ts";
import { isTaskRequest } from "./tasks.ts";

/** The sizes a curve offers by default, below the number of training notes (which is added last). */
export const CURVE_LADDER = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

export interface CurveRequest extends Omit<TrainRunRequest, "subset" | "curveRunId" | "name"> {
  /** Numbers of training notes; each above what there is becomes all of them. */
  sizes: number[];
  /** Draws the nested subsets. */
  seed: number;
}

export interface CurveConfig extends CurveRequest {
  /** Training notes there were when the curve started. */
  available: number;
  baseModelName: string;
}

export interface CurvePoint {
  nNotes: number;
  runId: string;
  steps: number;
  metrics: CurveMetrics;
}

export interface CurveResult {
  /** The base model on the gold notes: the curve's baseline (none for an attribute, relation or document-label curve). */
  source: { modelId: string; name: string; metrics: CurveMetrics } | null;
  points: CurvePoint[];
  /** Why the last attempt failed, when it did. */
  error?: ErrorData;
}

export interface CurveProgress {
  curveRunId: string;
  /** What the curve is doing: scoring the base model, training a point, or scoring it. */
  phase: "source" | "train" | "score";
  /** The point's index in `sizes`, and its size. */
  index: number;
  nNotes: number;
  sizes: number[];
  /** The point's training progress, while it trains. */
  train?: TrainProgressEvent;
  result: CurveResult;
}

export interface CurveOptions {
  backend?: Backend;
  signal?: AbortSignal;
  onProgress?: (progress: CurveProgress) => void;
}

/** Default sizes: the ladder below `available`, then `available` itself. */
export function curveSizes(available: number, ladder: readonly number[] = CURVE_LADDER): number[] {
  return available > 0 ? [...ladder.filter((n) => n < available), available] : [];
}

/** Sizes cleaned: whole, positive, at most `available`, ascending, each once. */
export function normalizeSizes(sizes: readonly number[], available: number): number[] {
  const bad = sizes.filter((n) => !Number.isInteger(n) || n <= 0);
  if (bad.length > 0) throw new SettingError("Learning-curve sizes", `each size must be a whole number of notes above 0 (not ${bad.join(", ")}).`);
  return [...new Set(sizes.map((n) => Math.min(n, available)))].sort((a, b) => a - b);
}

export async function startLearningCurve(db: AppDatabase, request: CurveRequest): Promise<RunRow> {
  // A task the schema lacks is refused now, not at the first point.
  if (isTaskRequest(request)) taskChoiceFor((await getProject(db, request.projectId)).schema, request.task);
  const plan = await planTraining(db, request.projectId, request.source);
  const available = plan.trainNoteIds.length;
  if (available === 0) throw new NotFoundError("No training notes have annotations of the chosen source yet: annotate some first.");
  const sizes = normalizeSizes(request.sizes, available);
  if (sizes.length === 0) throw new SettingError("Learning-curve sizes", "give at least one number of notes.");
  const base = await getModel(db, request.baseModelId);
  const config: CurveConfig = { ...request, sizes, available, baseModelName: base.name };
  const result: CurveResult = { source: null, points: [] };
  return createRun(db, { projectId: request.projectId, kind: "curve", config, progress: result });
}

export async function runLearningCurve(db: AppDatabase, curveRunId: string, options: CurveOptions = {}): Promise<CurveResult> {
  const run = await getRun(db, curveRunId);
  if (run.kind !== "curve") throw new NotFoundError(`Run ${curveRunId} is not a learning curve.`);
  const config = run.config as CurveConfig;
  const result = (run.progress as CurveResult | null) ?? { source: null, points: [] };
  const report = (phase: CurveProgress["phase"], index: number, train?: TrainProgressEvent) =>
    options.onProgress?.({ curveRunId, phase, index, nNotes: config.sizes[index] ?? 0, sizes: config.sizes, ...(train ? { train } : {}), result });
  const save = () => updateRun(db, curveRunId, { progress: result });
  delete result.error;
  await updateRun(db, curveRunId, { status: "running", progress: result });

  try {
    if (!result.source && !isTaskRequest(config)) {
      report("source", 0);
      const scores = await scoreStoredModel(db, config.projectId, config.baseModelId, { signal: options.signal });
      result.source = { modelId: scores.modelId, name: scores.name, metrics: curveMetrics(scores) };
      await save();
    }
    for (const [index, nNotes] of config.sizes.entries()) {
      if (result.points.some((point) => point.nNotes === nNotes)) continue;
      if (options.signal?.aborted) throw new CancelledError("learning curve");
      const train = await pointRun(db, config, curveRunId, nNotes);
      const trained = train.status === "done" ? doneRun(train) : await continueRun(db, train.id, { backend: options.backend, signal: options.signal, onProgress: (event) => report("train", index, event) });
      if (trained.status !== "done") throw new CancelledError("learning curve");
      report("score", index);
      result.points.push({ nNotes, runId: train.id, steps: trained.steps, metrics: await pointMetrics(db, config, trained.modelId, options.signal) });
      await save();
      await deleteModel(db, trained.modelId);
    }
    await updateRun(db, curveRunId, { status: "done" });
    return result;
  } catch (error) {
    // The point's run recorded the loss and resumes from its checkpoint; so does the curve,
    // on another backend, in the caller's hands.
    if (error instanceof DeviceLostError) throw error;
    const cancelled = error instanceof CancelledError || options.signal?.aborted === true;
    if (!cancelled) result.error = toErrorData(error);
    await updateRun(db, curveRunId, { status: cancelled ? "cancelled" : "failed", progress: result });
    if (!cancelled) throw error;
    return result;
  }
}

/** A point's model on the gold notes: span metrics for entities, the task's F1, precision and recall for a head. */
async function pointMetrics(db: AppDatabase, config: CurveConfig, modelId: string, signal: AbortSignal | undefined): Promise<CurveMetrics> {
  if (!isTaskRequest(config)) return curveMetrics(await scoreStoredModel(db, config.projectId, modelId, { signal }));
  const { summary } = (await compareTaskModels(db, config.projectId, null, modelId, { signal })).adapted.scores;
  return { f1: summary.f1, precision: summary.precision, recall: summary.recall };
}

/** A point trained before a reload cut the curve off, before its model was scored. */
function doneRun(run: RunRow): Pick<TrainSummary, "status" | "modelId" | "steps"> {
  return { status: "done", modelId: (run.config as TrainRunConfig).modelId, steps: (run.progress as TrainProgress | null)?.step ?? 0 };
}

/** This point's training run: the one a cut-off attempt left (to resume), else a new one. */
async function pointRun(db: AppDatabase, config: CurveConfig, curveRunId: string, nNotes: number): Promise<RunRow> {
  const earlier = (await listRuns(db, config.projectId, "train")).find((run) => {
    const train = run.config as TrainRunConfig;
    return train.curveRunId === curveRunId && train.subset?.limit === nNotes;
  });
  if (earlier) return earlier;
  const { sizes: _sizes, seed, available: _available, baseModelName: _name, ...request } = config;
  return startRun(db, {
    ...request,
    subset: { limit: nNotes, seed },
    curveRunId,
    name: `${config.baseModelName}, learning curve, ${nNotes} notes`,
  });
}
