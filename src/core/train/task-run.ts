// The stored training run of an attribute, relation or document-label model: run.ts's NER
// run for the heads of task-train.ts, with the same store, plan and record.
//
// - The notes are run.ts's: planTraining's pool notes (gold and dev never train), each with
//   the annotation row the source picks (its spans, relations and labels); dev notes (or
//   held-out training notes) score each epoch with the task's metric (task-scores.ts), the
//   model being given the notes' own entities.
// - The task is fixed at the start (TaskRunConfig.choice, read from the project's schema),
//   so a resume sees the head it began with even if the schema has changed since.
// - Checkpoints are the Trainer's, in the adapted model's row, with the epoch and batch
//   position, as in run.ts: the batches of an epoch are drawn from the seed and the epoch
//   (and relation negatives from the seed), so a resume sees the same ones.
// - The result: document labels as *ForSequenceClassification (problem_type set; transformers
//   loads it with AutoModelForSequenceClassification) with the forward graph of that head;
//   attributes and relations as the bare encoder plus the head's Linear layers
//   (writeSpanModelFolder, SPAN_HEAD_LOADING) with the span-head graph. adaptation.json
//   records the task and its head, so the model can be evaluated and described later.
// - Pause, cancel and a lost GPU behave as in run.ts.

import { strToU8 } from "fflate";
import { CancelledError, DeviceLostError, NotFoundError, SchemaError, toErrorData } from "../errors.ts";
import { type TaskSummary, scoreTask } from "../eval/task-scores.ts";
import type { EncoderConfig, ProblemType } from "../model/config.ts";
import { withLabels } from "../model/config.ts";
import { type ModelFolder, type TokenizerFiles, writeModelFolder, writeSpanModelFolder } from "../model/folder.ts";
import { buildInferenceModel, buildSpanInferenceModel } from "../model/inference-graph.ts";
import { readSafetensors, writeSafetensors } from "../model/safetensors.ts";
import type { SpanHead } from "../model/span-heads.ts";
import type { Weight } from "../model/weights.ts";
import type { TaskSchema } from "../schema/types.ts";
import { inTransaction, type AppDatabase, type RunRow } from "../store/db.ts";
import { createModel, deleteModelFile, getModel, getModelFile, putModelFile } from "../store/models.ts";
import { getProject } from "../store/projects.ts";
import { createRun, getRun, updateRun } from "../store/runs.ts";
import { loadTokenizer } from "../text/tokenizer.ts";
import type { StepModel } from "./model.ts";
import { labelledNotes, planTraining } from "./run-data.ts";
import { initialWeights, readStoredFolder } from "./run-model.ts";
import {
  type Adaptation,
  type BackendFallback,
  type DevPoint,
  type LossPoint,
  type TrainProgress,
  type TrainProgressEvent,
  type TrainRunConfig,
  type TrainRunOptions,
  type TrainRunRequest,
  type TrainSummary,
  bucketsFor,
  loraOf,
  modeOf,
  takePauseRequest,
  thin,
} from "./run.ts";
import { warmupStepsFor } from "./schedule.ts";
import { DEFAULT_ADAMW } from "./step-graph.ts";
import type { TaskBatch } from "./task-batches.ts";
import { taskBatches } from "./task-batches.ts";
import { attributeTargets, relationLabels } from "./task-examples.ts";
import { type TaskChoice, completeTaskWeights, predictTask, taskData, taskModel } from "./task-train.ts";
import { Trainer } from "./trainer.ts";
import { type HeadTask, isTaskRun, taskName } from "./tasks.ts";

/** Candidate relation pairs: at most this many tokens apart; "none" pairs kept per related one. */
export const RELATION_PAIRS = { maxDistance: 64, negativesPerPositive: 3 };

export interface TaskRunConfig extends TrainRunConfig {
  task: HeadTask;
  choice: TaskChoice;
}

/** The task and head of a trained model, in its adaptation.json. */
export interface TaskAdaptation {
  task: HeadTask;
  choice: TaskChoice;
  /** The windows the model was trained on (and is evaluated with). */
  maxLength: number;
  stride: number;
}

/** The head a task trains, from the schema. */
export function taskChoiceFor(schema: TaskSchema, task: HeadTask): TaskChoice {
  switch (task.kind) {
    case "attributes": {
      const attributes = attributeTargets(schema);
      if (attributes.length === 0) throw new SchemaError("the schema", "no entity type has an attribute: add one in the Schema step to train attributes");
      return { kind: "attributes", attributes };
    }
    case "relations":
      if (schema.relationTypes.length === 0) throw new SchemaError("the schema", "it has no relation type: add one in the Schema step to train relations");
      return { kind: "relations", relationTypes: schema.relationTypes.map((t) => ({ ...t, from: [...t.from], to: [...t.to] })), ...RELATION_PAIRS };
    case "document": {
      const label = schema.documentLabels.find((l) => l.name === task.label);
      if (!label) throw new SchemaError(`document label "${task.label}"`, "the schema no longer has it (renamed or removed): choose the task again");
      return { kind: "document", label: { ...label, values: [...label.values] } };
    }
  }
}

/** The labels the model row lists: the label's values, the relation labels ("none" first), or "Type.attribute" per attribute. */
export function headLabels(choice: TaskChoice): string[] {
  switch (choice.kind) {
    case "document":
      return [...choice.label.values];
    case "relations":
      return relationLabels(choice.relationTypes);
    case "attributes":
      return choice.attributes.map((a) => `${a.entityType}.${a.name}`);
  }
}

function spanHeadOf(choice: Exclude<TaskChoice, { kind: "document" }>): SpanHead {
  return choice.kind === "attributes" ? { kind: "attributes", attributes: choice.attributes } : { kind: "relations", labels: relationLabels(choice.relationTypes) };
}

export async function startTaskRun(db: AppDatabase, request: TrainRunRequest & { task: HeadTask }): Promise<RunRow> {
  const project = await getProject(db, request.projectId);
  const base = await getModel(db, request.baseModelId);
  await readStoredFolder(db, request.baseModelId); // it must have weights to train from
  const choice = taskChoiceFor(project.schema, request.task);
  const plan = await planTraining(db, request.projectId, request.source);
  if (plan.trainNoteIds.length === 0) {
    throw new NotFoundError(
      request.source === "human"
        ? "No pool note has a human annotation yet: annotate some notes, or train on the LLM's annotations."
        : "No pool note has an LLM annotation yet: run the Annotate step first.",
    );
  }
  const labels = headLabels(choice);
  const name = request.name ?? `${base.name}: ${taskName(request.task).toLowerCase()} for ${project.name}`;
  // Together: a crash between the two would leave a model row that no run fills.
  return inTransaction(db, "rw", [db.models, db.runs], `the training run of "${name}"`, async () => {
    const model = await createModel(db, { name, kind: "trained", config: null, labels, projectId: request.projectId });
    const config: TaskRunConfig = { ...request, name, modelId: model.id, labels, newHead: true, baseModelName: base.name, plan, choice };
    return createRun(db, { projectId: request.projectId, kind: "train", config });
  });
}

const CHECKPOINT = "checkpoint.safetensors";
const BEST = "model.safetensors";

/** The model's parameters by name with their shapes (LoRA factors are merged by exportWeights, so left out). */
function namedWeights(model: StepModel, exported: ReadonlyMap<string, Float32Array>): Map<string, Weight> {
  const out = new Map<string, Weight>();
  for (const spec of model.specs) {
    if ("adapter" in spec) continue;
    const data = exported.get(spec.name);
    if (!data) throw new NotFoundError(`The trained weights lack ${spec.name}.`);
    out.set(spec.name, { shape: spec.shape, data });
  }
  return out;
}

/** Real tokens of a task batch: the attention mask of the rows that hold an example. */
function realTokens(batch: TaskBatch): number {
  let n = 0;
  for (let i = 0; i < batch.examples * batch.length; i++) n += Number(batch.attentionMask[i]);
  return n;
}

/** Runs (or resumes) a task run to its end, a pause or a cancel; as runTraining does for NER. */
export async function runTaskTraining(db: AppDatabase, runId: string, options: TrainRunOptions = {}): Promise<TrainSummary> {
  const run = await getRun(db, runId);
  const config = run.config as TaskRunConfig;
  if (run.kind !== "train" || !isTaskRun(config)) throw new NotFoundError(`Run ${runId} is not the training run of an attribute, relation or document-label model.`);
  const { hyper, choice } = config;
  const backend = options.backend ?? "wasm";
  const { createSession } = options;
  takePauseRequest(runId);

  const folder = await readStoredFolder(db, config.baseModelId);
  const lora = loraOf(hyper);
  const model = taskModel(folder.config, choice, lora);
  // The base weights under their canonical names (its token head, if any, is not used).
  const { weights: base } = initialWeights(folder, folder.config, true, hyper.seed);
  const weights = completeTaskWeights(model, base, hyper.seed);
  const tokenizer = loadTokenizer(folder.tokenizerJson, folder.tokenizerConfig ?? {}, { verify: false });
  const maxLength = Math.min(hyper.maxLength, tokenizer.maxLength, folder.config.maxPositions - folder.config.positionOffset);
  const stride = Math.min(hyper.stride, Math.floor(maxLength / 4));
  const buckets = bucketsFor(maxLength);
  const trainNotes = await labelledNotes(db, config.projectId, config.plan.trainNoteIds, config.source);
  const devNotes = await labelledNotes(db, config.projectId, config.plan.devNoteIds, config.plan.devKind === "dev" ? "reference" : config.source);
  const { data } = taskData(model, choice, trainNotes, tokenizer, { maxLength, stride, seed: hyper.seed }, true);
  if (data.examples.length === 0) {
    throw new NotFoundError(`The training notes gave no examples for ${taskName(config.task).toLowerCase()}: do their annotations have them?`);
  }
  const batchSize = Math.max(1, Math.min(hyper.batchSize, data.examples.length));
  const epochBatches = (epoch: number) => taskBatches(data.examples, { batchSize, buckets, shuffle: { seed: hyper.seed, epoch } }, data.pad);
  const stepsPerEpoch = Math.ceil(data.examples.length / batchSize);
  const totalSteps = hyper.maxSteps > 0 ? Math.min(hyper.maxSteps, hyper.epochs * stepsPerEpoch) : hyper.epochs * stepsPerEpoch;
  const stored = await getModel(db, config.modelId);

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
      examples: data.examples.length,
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
    // Together: after a crash the run's progress always matches the stored checkpoint.
    await inTransaction(db, "rw", [db.models, db.modelChunks, db.runs], `the checkpoint at step ${trainer.stepCount}`, async () => {
      await putModelFile(db, config.modelId, CHECKPOINT, bytes);
      checkpointStep = trainer.stepCount;
      await save();
    });
    emit();
  };
  const scoreDev = async (epoch: number): Promise<void> => {
    if (devNotes.length === 0) return;
    const predicted = await predictTask({ trainer, model }, choice, devNotes, tokenizer, { maxLength, stride, buckets });
    const summary: TaskSummary = scoreTask(choice, devNotes, predicted).summary;
    const point: DevPoint = { epoch, step: trainer.stepCount, ...summary };
    dev = [...dev, point];
    if (bestDevF1 === null || summary.f1 > bestDevF1) {
      bestDevF1 = summary.f1;
      bestEpoch = epoch;
      badEpochs = 0;
      await putModelFile(db, config.modelId, BEST, writeSafetensors(namedWeights(model, await trainer.exportWeights()), { metadata: { format: "pt" } }));
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
      const batches = epochBatches(epoch);
      for (let i = epoch === startEpoch ? startBatch : 0; i < batches.length; i++) {
        if (trainer.stepCount >= totalSteps) break outer;
        if (options.signal?.aborted) throw new CancelledError("training");
        const { batch } = batches[i];
        const result = await trainer.step(batch);
        stepsThisAttempt++;
        tokens += realTokens(batch);
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
    const best = bestDevF1 !== null && BEST in (await getModel(db, config.modelId)).files;
    const final = best ? weightsOfFile(await getModelFile(db, config.modelId, BEST), model) : namedWeights(model, await trainer.exportWeights());
    await finish(db, config, folder, final, { ...progress(), stoppedEarly }, { maxLength, stride });
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
    await updateRun(db, runId, { status: cancelled ? "cancelled" : "failed", progress: { ...progress(), ...(cancelled ? {} : { error: toErrorData(error) }) } });
    if (!cancelled) throw error;
    return { runId, modelId: config.modelId, status: "cancelled", steps: trainer.stepCount, bestDevF1 };
  } finally {
    takePauseRequest(runId);
    await trainer.release().catch(() => undefined);
  }
}

/** The best epoch's weights, as scoreDev stored them, with the model's shapes. */
function weightsOfFile(bytes: Uint8Array, model: StepModel): Map<string, Weight> {
  const file = readSafetensors(bytes, BEST);
  return namedWeights(model, new Map([...file.tensors].map(([name, t]) => [name, t.data as Float32Array])));
}

/** The model folder and forward graph of a trained head (see the top of the file). */
export function taskModelFiles(base: ModelFolder, choice: TaskChoice, weights: Map<string, Weight>): Map<string, Uint8Array> {
  const tokenizer: TokenizerFiles = {
    tokenizerJson: base.files.get("tokenizer.json") ?? base.tokenizerJson,
    tokenizerConfig: base.files.get("tokenizer_config.json"),
    specialTokensMap: base.files.get("special_tokens_map.json"),
    vocabTxt: base.vocabTxt,
  };
  if (choice.kind === "document") {
    const config: EncoderConfig = withLabels(base.config, choice.label.values);
    const problemType: ProblemType = choice.label.multiple ? "multi_label_classification" : "single_label_classification";
    const files = writeModelFolder(config, config.labels, weights, tokenizer, { head: "sequence", problemType });
    files.set("onnx/model.onnx", buildInferenceModel(config, weights, { head: "sequence" }));
    return files;
  }
  const head = spanHeadOf(choice);
  const files = writeSpanModelFolder(base.config, head, weights, tokenizer);
  files.set("onnx/model.onnx", buildSpanInferenceModel(base.config, weights, head));
  return files;
}

async function finish(
  db: AppDatabase,
  config: TaskRunConfig,
  folder: ModelFolder,
  weights: Map<string, Weight>,
  progress: TrainProgress,
  windows: { maxLength: number; stride: number },
): Promise<void> {
  const adaptation: Adaptation = {
    format: "clinical-adapt/adaptation",
    runId: progress.runId,
    baseModel: { id: config.baseModelId, name: config.baseModelName },
    labels: config.labels,
    newHead: true,
    source: config.source,
    minConfidence: config.minConfidence,
    weightByConfidence: config.weightByConfidence,
    hyperparameters: { ...config.hyper, effectiveMaxLength: windows.maxLength },
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
    task: { task: config.task, choice: config.choice, ...windows },
  };
  const files = taskModelFiles(folder, config.choice, weights);
  files.set("adaptation.json", strToU8(JSON.stringify(adaptation, null, 2) + "\n"));
  // Together: a crash half-way would leave a model with some final files and no checkpoint.
  await inTransaction(db, "rw", [db.models, db.modelChunks, db.runs], `the adapted model "${config.name}"`, async () => {
    for (const [name, bytes] of files) await putModelFile(db, config.modelId, name, bytes);
    await deleteModelFile(db, config.modelId, CHECKPOINT);
    await db.models.update(config.modelId, { config: JSON.parse(new TextDecoder().decode(files.get("config.json"))), labels: config.labels });
    await updateRun(db, progress.runId, { status: "done", progress });
  });
}
