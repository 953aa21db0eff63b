// A stored attribute, relation or document-label model predicting on notes, by its own
// exported graph (onnx/model.onnx, the one the download ships) run by onnxruntime: what the
// Evaluate step scores (task-compare.ts) and what the Extract step stores (predict-run.ts).

import { ModelFormatError } from "../errors.ts";
import { readModelFolder } from "../model/folder.ts";
import { type HostTensor, type SessionOptions, createSession } from "../onnx/run.ts";
import type { AppDatabase } from "../store/db.ts";
import { getModel, getModelFile } from "../store/models.ts";
import { loadTokenizer } from "../text/tokenizer.ts";
import { bucketsFor, type Adaptation } from "./run.ts";
import type { TaskBatch } from "./task-batches.ts";
import type { AnnotatedNote } from "./task-examples.ts";
import type { TaskAdaptation } from "./task-run.ts";
import { predictTaskWith, taskModel, type TaskPrediction } from "./task-train.ts";

const PREDICT_BATCH = 8;

/** The task a stored model was trained for (its adaptation.json), or null for a model without a task head. */
export async function storedTaskOf(db: AppDatabase, modelId: string): Promise<TaskAdaptation | null> {
  const model = await getModel(db, modelId);
  if (!("adaptation.json" in model.files)) return null;
  const adaptation = JSON.parse(new TextDecoder().decode(await getModelFile(db, modelId, "adaptation.json"))) as Adaptation;
  return adaptation.task ?? null;
}

/** A stored task model with its graph loaded: predict on as many chunks of notes as needed, then release. */
export interface StoredTaskPredictor {
  adaptation: TaskAdaptation;
  /** Predictions on notes whose spans are the entities (gold or an entity model's). */
  predict(notes: readonly AnnotatedNote[]): Promise<TaskPrediction>;
  release(): Promise<void>;
}

export async function loadStoredTaskPredictor(
  db: AppDatabase,
  modelId: string,
  adaptation: TaskAdaptation,
  sessionOptions?: SessionOptions,
): Promise<StoredTaskPredictor> {
  const model = await getModel(db, modelId);
  const files = new Map<string, Uint8Array>();
  for (const name of ["config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx"]) {
    if (name in model.files) files.set(name, await getModelFile(db, modelId, name));
  }
  const folder = readModelFolder(files);
  if (!folder.onnx) throw new ModelFormatError("onnx/model.onnx", `missing from model "${model.name}": it is made when training finishes; train the model again.`);
  const tokenizer = loadTokenizer(folder.tokenizerJson, folder.tokenizerConfig ?? {}, { verify: false });
  const session = await createSession(folder.onnx, sessionOptions);
  const logits = async (batch: TaskBatch): Promise<Float32Array> => {
    const out = await session.run(graphFeeds(batch, session.inputNames), ["logits"]);
    return out.logits.data as Float32Array;
  };
  const { choice, maxLength, stride } = adaptation;
  const step = taskModel(folder.config, choice);
  return {
    adaptation,
    predict: (notes) => predictTaskWith({ logits, batchSize: PREDICT_BATCH, model: step }, choice, notes, tokenizer, { maxLength, stride, buckets: bucketsFor(maxLength) }),
    release: () => session.release(),
  };
}

/** A stored task model's predictions on notes (their spans are its entities), by its exported graph. */
export async function predictStoredTaskModel(db: AppDatabase, modelId: string, adaptation: TaskAdaptation, notes: readonly AnnotatedNote[]): Promise<TaskPrediction> {
  const predictor = await loadStoredTaskPredictor(db, modelId, adaptation);
  try {
    return await predictor.predict(notes);
  } finally {
    await predictor.release();
  }
}

/** The exported graph's inputs from a task batch: token ids, mask, token types (all 0: one segment) and the pooling matrices. */
function graphFeeds(batch: TaskBatch, inputNames: readonly string[]): Record<string, HostTensor> {
  const dims = [batch.rows, batch.length];
  const feeds: Record<string, HostTensor> = {};
  for (const name of inputNames) {
    if (name === "input_ids") feeds[name] = { dtype: "int64", dims, data: batch.inputIds };
    else if (name === "attention_mask") feeds[name] = { dtype: "int64", dims, data: batch.attentionMask };
    else if (name === "token_type_ids") feeds[name] = { dtype: "int64", dims, data: new BigInt64Array(batch.rows * batch.length) };
    else if (Object.hasOwn(batch.task, name)) feeds[name] = batch.task[name];
    else throw new ModelFormatError("onnx/model.onnx", `takes an input "${name}" that a ${Object.keys(batch.task).join("/")} batch does not have`);
  }
  return feeds;
}
