// Train a document-label, attribute or relation head from notes and annotations held in
// memory, and predict with it: the core the app and the `adapt` benchmark call (the stored,
// resumable run of run.ts does this for NER). The encoder's weights come from the base
// model; a head the weights lack is initialised as transformers would (normal 0.02, bias 0).

import type { DocumentLabels, Relation } from "../corpus/types.ts";
import type { EncoderConfig } from "../model/config.ts";
import { withLabels } from "../model/config.ts";
import { documentPrediction } from "../model/document-labels.ts";
import type { LoraConfig } from "../model/lora.ts";
import { initLoraWeights } from "../model/lora.ts";
import { seededRandom } from "../model/random.ts";
import { type AttributeTarget, attributeOffsets } from "../model/span-heads.ts";
import { type Weight, initialWeight } from "../model/weights.ts";
import type { DocumentLabelDef, RelationType } from "../schema/types.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import { DEFAULT_BUCKETS } from "./batches.ts";
import type { StepModel } from "./model.ts";
import type { Backend } from "./ort-session.ts";
import { type TaskBatch, padDocumentBatch, padPairBatch, padSpanBatch, taskBatches } from "./task-batches.ts";
import { type AnnotatedNote, documentExamples, pairExamples, relationLabels, spanExamples, typeFits } from "./task-examples.ts";
import { attributeModel, documentModel, relationModel } from "./task-models.ts";
import { type TrainMode } from "./trainable.ts";
import { type StepResult, Trainer } from "./trainer.ts";

export type TaskChoice =
  | { kind: "document"; label: DocumentLabelDef }
  | { kind: "attributes"; attributes: readonly (AttributeTarget & { default?: string })[] }
  | {
      kind: "relations";
      relationTypes: readonly RelationType[];
      /** Largest gap in tokens between the spans of a candidate pair. */
      maxDistance: number;
      /** "none" pairs kept per related pair in a note while training. */
      negativesPerPositive: number;
    };

export interface TaskTrainingOptions {
  /** The base encoder's config (its labels are replaced by the task's). */
  config: EncoderConfig;
  /** The base model's weights by Hugging Face name; the task head is initialised when absent. */
  weights: ReadonlyMap<string, Float32Array | Weight>;
  tokenizer: TextTokenizer;
  notes: readonly AnnotatedNote[];
  task: TaskChoice;
  mode: TrainMode;
  lora?: LoraConfig;
  epochs: number;
  batchSize: number;
  lr: number;
  warmupRatio: number;
  seed: number;
  maxLength: number;
  stride: number;
  buckets?: readonly number[];
  /** Dropout probabilities; the config's by default. */
  dropout?: { hiddenProb: number; attentionProb: number; classifierProb: number };
  backend?: Backend;
  onStep?: (result: StepResult) => void;
}

export interface TrainedTask {
  trainer: Trainer;
  model: StepModel;
  losses: number[];
  /** Training examples (windows) and the slots in them (spans or pairs; 1 per document). */
  examples: number;
  slots: number;
}

/** The step model of a task; document models take the label's values as their labels. */
export function taskModel(config: EncoderConfig, task: TaskChoice, lora?: LoraConfig): StepModel {
  switch (task.kind) {
    case "document":
      return documentModel(withLabels(config, task.label.values), { multiLabel: task.label.multiple, ...(lora ? { lora } : {}) });
    case "attributes":
      return attributeModel(config, { kind: "attributes", attributes: task.attributes }, lora);
    case "relations":
      return relationModel(config, { kind: "relations", labels: relationLabels(task.relationTypes) }, lora);
  }
}

/** Examples of the task with their batch padding, behind one type (a method, so any example type fits). */
export interface TaskData {
  examples: { ids: ArrayLike<number> }[];
  slots: number;
  pad(group: { ids: ArrayLike<number> }[], rows: number, length: number): TaskBatch;
}

/** The task's examples from annotated notes, with their padding; `made` keeps the examples' places in the notes. */
export function taskData(
  model: StepModel,
  task: TaskChoice,
  notes: readonly AnnotatedNote[],
  tokenizer: TextTokenizer,
  options: Pick<TaskTrainingOptions, "maxLength" | "stride" | "seed">,
  training: boolean,
) {
  const windows = { maxLength: options.maxLength, stride: options.stride };
  switch (task.kind) {
    case "document": {
      const made = documentExamples(notes, tokenizer, { label: task.label, maxLength: options.maxLength });
      const pad = (group: typeof made.examples, rows: number, length: number) => padDocumentBatch(model.config, group, rows, length, task.label.multiple);
      return { data: { examples: made.examples, slots: made.examples.length, pad } as TaskData, made };
    }
    case "attributes": {
      const made = spanExamples(notes, tokenizer, { ...windows, attributes: task.attributes });
      const pad = (group: typeof made.examples, rows: number, length: number) => padSpanBatch(model.config, group, rows, length, task.attributes.length);
      return { data: { examples: made.examples, slots: made.places.length, pad } as TaskData, made };
    }
    case "relations": {
      const negatives = training ? { perPositive: task.negativesPerPositive, minNegatives: 2, seed: options.seed } : undefined;
      const made = pairExamples(notes, tokenizer, { ...windows, relationTypes: task.relationTypes, maxDistance: task.maxDistance, ...(negatives ? { negatives } : {}) });
      const pad = (group: typeof made.examples, rows: number, length: number) => padPairBatch(model.config, group, rows, length);
      return { data: { examples: made.examples, slots: made.places.length, pad } as TaskData, made };
    }
  }
}

/**
 * Base weights plus the model's missing parameters, initialised with the seed. The task's
 * classifier always starts afresh (the base is a NER model or a bare encoder, whose
 * `classifier` means something else); BERT's pretrained pooler is kept, as
 * from_pretrained keeps it.
 */
export function completeTaskWeights(model: StepModel, weights: ReadonlyMap<string, Float32Array | Weight>, seed: number): Map<string, Float32Array> {
  const random = seededRandom(seed);
  const lora = model.lora ? initLoraWeights(model.config, model.lora, seed + 1) : new Map<string, Weight>();
  const out = new Map<string, Float32Array>();
  for (const spec of model.specs) {
    const reuse = spec.part !== "head" || spec.role === "head.dense.weight" || spec.role === "head.dense.bias";
    const given = reuse ? (weights.get(spec.name) ?? lora.get(spec.name)) : undefined;
    const data = given instanceof Float32Array ? given : given?.data;
    const fits = data !== undefined && data.length === spec.shape.reduce((a, b) => a * b, 1);
    out.set(spec.name, fits ? data : initialWeight(spec, random, model.config.initializerRange).data);
  }
  return out;
}

export async function trainTaskModel(options: TaskTrainingOptions): Promise<TrainedTask> {
  const model = taskModel(options.config, options.task, options.lora);
  const { data } = taskData(model, options.task, options.notes, options.tokenizer, options, true);
  const buckets = (options.buckets ?? DEFAULT_BUCKETS).filter((b) => b <= options.maxLength);
  const stepsPerEpoch = Math.ceil(data.examples.length / options.batchSize);
  const totalSteps = options.epochs * stepsPerEpoch;
  const trainer = await Trainer.create({
    model,
    weights: completeTaskWeights(model, options.weights, options.seed),
    mode: options.mode,
    schedule: { lr: options.lr, warmupSteps: Math.round(options.warmupRatio * totalSteps), totalSteps },
    seed: options.seed,
    batchSize: options.batchSize,
    ...(options.dropout ? { dropout: options.dropout } : {}),
    ...(options.backend ? { backend: options.backend } : {}),
  });
  const losses: number[] = [];
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const batches = taskBatches(data.examples, { batchSize: options.batchSize, buckets, shuffle: { seed: options.seed, epoch } }, data.pad);
    for (const { batch } of batches) {
      const result = await trainer.step(batch);
      losses.push(result.loss);
      options.onStep?.(result);
    }
  }
  return { trainer, model, losses, examples: data.examples.length, slots: data.slots };
}

/** Per note: the document label's values, each span's attributes (by span index), or the relations found. */
export type TaskPrediction =
  | { kind: "document"; labels: (DocumentLabels | undefined)[] }
  | { kind: "attributes"; attributes: Map<number, Record<string, string>>[] }
  | { kind: "relations"; relations: Relation[][] };

/**
 * Predictions of a trained task model on notes (their spans are the entities: gold or a
 * NER model's). Every candidate pair is scored (no sampling); a pair is related when its
 * best class is not "none". Documents are labelled whether or not they have a label.
 */
export async function predictTask(
  trained: Pick<TrainedTask, "trainer" | "model">,
  task: TaskChoice,
  notes: readonly AnnotatedNote[],
  tokenizer: TextTokenizer,
  options: Pick<TaskTrainingOptions, "maxLength" | "stride" | "buckets">,
): Promise<TaskPrediction> {
  const { trainer, model } = trained;
  return predictTaskWith({ logits: (batch) => trainer.predict(batch), batchSize: trainer.settings.batchSize, model }, task, notes, tokenizer, options);
}

/**
 * What predicts a task's logits for a batch: the trainer's prediction graph while training,
 * or the exported ONNX graph (the download) when a stored model is evaluated.
 */
export interface TaskLogits {
  logits(batch: TaskBatch): Promise<Float32Array>;
  /** Rows per batch. */
  batchSize: number;
  /** The task's step model (its config pads the batches). */
  model: StepModel;
}

/** predictTask with any source of logits. */
export async function predictTaskWith(
  source: TaskLogits,
  task: TaskChoice,
  notes: readonly AnnotatedNote[],
  tokenizer: TextTokenizer,
  options: Pick<TaskTrainingOptions, "maxLength" | "stride" | "buckets">,
): Promise<TaskPrediction> {
  const { model, batchSize } = source;
  const buckets = (options.buckets ?? DEFAULT_BUCKETS).filter((b) => b <= options.maxLength);
  const input = task.kind === "document" ? notes.map((note) => ({ ...note, labels: { [task.label.name]: [task.label.values[0]] } })) : notes;
  const { data, made } = taskData(model, task, input, tokenizer, { ...options, seed: 0 }, false);
  /** logits of each example: (slots, classes) row-major. */
  const logits: Float32Array[] = new Array(data.examples.length);
  for (const { batch, indices } of taskBatches(data.examples, { batchSize, buckets }, data.pad)) {
    const out = await source.logits(batch);
    const perRow = out.length / batch.rows;
    indices.forEach((k, r) => (logits[k] = out.subarray(r * perRow, (r + 1) * perRow)));
  }
  // A row holds the batch's padded slot count × classes; slot s of example k starts at s · classes.
  const slotLogits = (k: number, slot: number, classes: number) => logits[k].subarray(slot * classes, (slot + 1) * classes);

  if (task.kind === "document") {
    const labels: (DocumentLabels | undefined)[] = notes.map(() => undefined);
    const docs = made as ReturnType<typeof documentExamples>;
    docs.notes.forEach((n, k) => {
      const predicted = documentPrediction(logits[k], task.label.values, task.label.multiple);
      labels[n] = { [task.label.name]: predicted.values };
    });
    return { kind: "document", labels };
  }
  if (task.kind === "attributes") {
    const offsets = attributeOffsets(task.attributes);
    const classes = offsets[offsets.length - 1];
    const attributes = notes.map(() => new Map<number, Record<string, string>>());
    for (const place of (made as ReturnType<typeof spanExamples>).places) {
      const row = slotLogits(place.example, place.slot, classes);
      const values: Record<string, string> = {};
      task.attributes.forEach((a, i) => {
        if (a.entityType !== notes[place.note].spans[place.span].type) return;
        values[a.name] = a.values[argmax(row, offsets[i], offsets[i + 1])];
      });
      attributes[place.note].set(place.span, values);
    }
    return { kind: "attributes", attributes };
  }
  const labels = relationLabels(task.relationTypes);
  const relations: Relation[][] = notes.map(() => []);
  for (const place of (made as ReturnType<typeof pairExamples>).places) {
    const row = slotLogits(place.example, place.slot, labels.length);
    // Only the relation types the pair's entity types allow compete with "none" (label 0).
    const spans = notes[place.note].spans;
    const allowed = [0, ...task.relationTypes.flatMap((type, t) => (typeFits(type, spans[place.from].type, spans[place.to].type) ? [t + 1] : []))];
    const best = allowed.reduce((kept, label) => (row[label] > row[kept] ? label : kept));
    if (best !== 0) relations[place.note].push({ type: labels[best], from: place.from, to: place.to });
  }
  return { kind: "relations", relations };
}

function argmax(values: ArrayLike<number>, from: number, to: number): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (values[i] > values[best]) best = i;
  return best - from;
}
