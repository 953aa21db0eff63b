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
// - Pause, cancel and a lost GPU behave as in run.ts: the loop is the same (run-loop.ts).

import { strToU8 } from "fflate";
import { NotFoundError, SchemaError } from "../errors.ts";
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
import { createModel, getModel } from "../store/models.ts";
import { getProject } from "../store/projects.ts";
import { createRun, getRun } from "../store/runs.ts";
import { loadTokenizer } from "../text/tokenizer.ts";
import type { StepModel } from "./model.ts";
import { labelledNotes, planTraining, subsetOfPlan } from "./run-data.ts";
import { initialWeights, readStoredFolder } from "./run-model.ts";
import { BEST, type DevScore, adaptationOf, runStoredLoop, takePauseRequest } from "./run-loop.ts";
import {
  type Adaptation,
  type TrainProgress,
  type TrainRunConfig,
  type TrainRunOptions,
  type TrainRunRequest,
  type TrainSummary,
  bucketsFor,
  loraOf,
} from "./run.ts";
import type { TaskBatch } from "./task-batches.ts";
import { taskBatches } from "./task-batches.ts";
import { attributeTargets, relationLabels } from "./task-examples.ts";
import { type TaskChoice, completeTaskWeights, predictTask, taskData, taskModel } from "./task-train.ts";
import type { Trainer } from "./trainer.ts";
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
  const plan = subsetOfPlan(await planTraining(db, request.projectId, request.source), request.subset);
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

  // Scored with the task's metric; the best epoch's file holds the model's parameters by name.
  const scoreDev = async (trainer: Trainer): Promise<DevScore> => {
    const predicted = await predictTask({ trainer, model }, choice, devNotes, tokenizer, { maxLength, stride, buckets });
    const summary: TaskSummary = scoreTask(choice, devNotes, predicted).summary;
    return {
      metrics: summary,
      bestWeights: async () => writeSafetensors(namedWeights(model, await trainer.exportWeights()), { metadata: { format: "pt" } }),
    };
  };

  return runStoredLoop(db, run, options, {
    model,
    weights,
    examples: data.examples.length,
    batchSize,
    stepsPerEpoch: Math.ceil(data.examples.length / batchSize),
    epochBatches: (epoch) => taskBatches(data.examples, { batchSize, buckets, shuffle: { seed: hyper.seed, epoch } }, data.pad).map(({ batch }) => batch),
    realTokens,
    hasDev: devNotes.length > 0,
    scoreDev,
    finalFiles: async (trainer, best, progress) => {
      const final = best ? weightsOfFile(best, model) : namedWeights(model, await trainer.exportWeights());
      return finalFiles(config, folder, final, progress, { maxLength, stride });
    },
  });
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

/** The finished model's files with its adaptation.json (the task and its windows recorded). */
function finalFiles(
  config: TaskRunConfig,
  folder: ModelFolder,
  weights: Map<string, Weight>,
  progress: TrainProgress,
  windows: { maxLength: number; stride: number },
): Map<string, Uint8Array> {
  const adaptation: Adaptation = {
    ...adaptationOf(config, progress),
    newHead: true,
    hyperparameters: { ...config.hyper, effectiveMaxLength: windows.maxLength },
    task: { task: config.task, choice: config.choice, ...windows },
  };
  const files = taskModelFiles(folder, config.choice, weights);
  files.set("adaptation.json", strToU8(JSON.stringify(adaptation, null, 2) + "\n"));
  return files;
}
