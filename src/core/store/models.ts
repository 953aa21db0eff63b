// Models and their files. IndexedDB handles big values badly (one structured clone of
// hundreds of MB, no partial reads), so each file is stored as chunks of ~32 MB keyed by
// [modelId+fileName+index]; only that key is indexed, never the bytes.

import { AppError, NotFoundError } from "../errors.ts";
import { SPAN_HEAD_FIELD } from "../model/folder.ts";
import { inTransaction, newId, withStorageErrors, type AppDatabase, type ModelChunkRow, type ModelRow } from "./db.ts";

export const DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024;

/** Where a model folder keeps its ONNX graph, in the order they are looked for. */
export const ONNX_FILES = ["onnx/model.onnx", "model.onnx"];

/** A model the predictor can run: its config and an ONNX graph, and not a half-trained checkpoint. */
export function isRunnable(model: ModelRow): boolean {
  return "config.json" in model.files && ONNX_FILES.some((name) => name in model.files) && !("checkpoint.safetensors" in model.files);
}

/**
 * A model with a document-label (sequence classification) or span head (attributes,
 * relations), by its config.json: it predicts no entities, so the NER steps leave it out.
 */
export function isTaskModel(model: Pick<ModelRow, "config">): boolean {
  const config = model.config as { architectures?: unknown } | null;
  if (!config || typeof config !== "object") return false;
  const architectures = Array.isArray(config.architectures) ? config.architectures : [];
  return SPAN_HEAD_FIELD in config || architectures.some((name) => typeof name === "string" && name.endsWith("ForSequenceClassification"));
}

/** A runnable model that predicts entities (what the annotate, extract and NER evaluate steps run). */
export function isEntityModel(model: ModelRow): boolean {
  return isRunnable(model) && !isTaskModel(model);
}

export type NewModel = Pick<ModelRow, "name" | "kind" | "config" | "labels"> & { projectId?: string; id?: string };

export async function createModel(db: AppDatabase, input: NewModel): Promise<ModelRow> {
  const model: ModelRow = {
    id: input.id ?? newId(),
    name: input.name,
    kind: input.kind,
    config: input.config,
    labels: input.labels,
    createdAt: Date.now(),
    byteLength: 0,
    chunkCount: 0,
    files: {},
  };
  if (input.projectId !== undefined) model.projectId = input.projectId;
  await withStorageErrors(`model "${input.name}"`, () => db.models.add(model));
  return model;
}

export async function getModel(db: AppDatabase, modelId: string): Promise<ModelRow> {
  const model = await db.models.get(modelId);
  if (!model) throw new NotFoundError(`No model with id ${modelId}: it may have been deleted.`);
  return model;
}

/** Models of a project plus the ones that belong to none (demo, uploads), newest first. */
export async function listModels(db: AppDatabase, projectId?: string): Promise<ModelRow[]> {
  const models = await db.models.toArray();
  return models
    .filter((model) => projectId === undefined || model.projectId === undefined || model.projectId === projectId)
    .sort((a, b) => b.createdAt - a.createdAt);
}

export async function deleteModel(db: AppDatabase, modelId: string): Promise<void> {
  await inTransaction(db, "rw", [db.models, db.modelChunks], `deleting model ${modelId}`, async () => {
    await getModel(db, modelId);
    await deleteModelRows(db, [modelId]);
  });
}

/** Deletes model rows and all their chunks; call inside a transaction over models and modelChunks. */
export async function deleteModelRows(db: AppDatabase, modelIds: string[]): Promise<void> {
  for (const modelId of modelIds) {
    await chunksOf(db, modelId).delete();
  }
  await db.models.bulkDelete(modelIds);
}

export interface PutModelFileOptions {
  /** Bytes per chunk; tests use small chunks. */
  chunkBytes?: number;
}

/** Stores (or replaces) one file of a model, in chunks, in one transaction. */
export async function putModelFile(
  db: AppDatabase,
  modelId: string,
  fileName: string,
  bytes: Uint8Array,
  options: PutModelFileOptions = {},
): Promise<ModelRow> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!(chunkBytes > 0)) throw new AppError(`Chunk size must be positive, got ${chunkBytes}.`);
  return inTransaction(db, "rw", [db.models, db.modelChunks], `model file ${fileName}`, async () => {
    const model = await getModel(db, modelId);
    await chunksOf(db, modelId, fileName).delete();
    const chunkCount = Math.ceil(bytes.byteLength / chunkBytes);
    for (let index = 0; index < chunkCount; index++) {
      // slice, not subarray: a structured clone of a view copies its whole underlying
      // buffer, so every chunk would store the entire file.
      const chunk = bytes.slice(index * chunkBytes, (index + 1) * chunkBytes);
      await db.modelChunks.put({ modelId, fileName, index, bytes: chunk });
    }
    const files = { ...model.files, [fileName]: { byteLength: bytes.byteLength, chunkCount } };
    const updated: ModelRow = { ...model, files, ...totals(files) };
    await db.models.put(updated);
    return updated;
  });
}

/** Reads one file of a model back, joining its chunks into one array. */
export async function getModelFile(db: AppDatabase, modelId: string, fileName: string): Promise<Uint8Array> {
  return inTransaction(db, "r", [db.models, db.modelChunks], `reading model file ${fileName}`, async () => {
    const model = await getModel(db, modelId);
    const info = model.files[fileName];
    if (!info) throw new NotFoundError(`Model "${model.name}" has no file ${fileName}.`);
    const joined = new Uint8Array(info.byteLength);
    let offset = 0;
    let expectedIndex = 0;
    // One chunk in memory at a time besides the result.
    await chunksOf(db, modelId, fileName).each((chunk: ModelChunkRow) => {
      if (chunk.index !== expectedIndex || offset + chunk.bytes.byteLength > info.byteLength) {
        throw new AppError(`Model "${model.name}": file ${fileName} is damaged (chunk ${chunk.index} out of place).`);
      }
      joined.set(chunk.bytes, offset);
      offset += chunk.bytes.byteLength;
      expectedIndex++;
    });
    if (offset !== info.byteLength || expectedIndex !== info.chunkCount) {
      throw new AppError(
        `Model "${model.name}": file ${fileName} is incomplete (${offset} of ${info.byteLength} bytes stored).`,
      );
    }
    return joined;
  });
}

export async function deleteModelFile(db: AppDatabase, modelId: string, fileName: string): Promise<ModelRow> {
  return inTransaction(db, "rw", [db.models, db.modelChunks], `deleting model file ${fileName}`, async () => {
    const model = await getModel(db, modelId);
    await chunksOf(db, modelId, fileName).delete();
    const files = { ...model.files };
    delete files[fileName];
    const updated: ModelRow = { ...model, files, ...totals(files) };
    await db.models.put(updated);
    return updated;
  });
}

/** The chunks of one file, or of all files of a model, in key order. */
function chunksOf(db: AppDatabase, modelId: string, fileName?: string) {
  // IndexedDB orders a shorter array before its extensions, and any array after any
  // number or string, so [prefix] .. [prefix, []] spans every key that starts with prefix.
  const prefix = fileName === undefined ? [modelId] : [modelId, fileName];
  return db.modelChunks.where("[modelId+fileName+index]").between(prefix, [...prefix, []], true, true);
}

function totals(files: Record<string, { byteLength: number; chunkCount: number }>) {
  let byteLength = 0;
  let chunkCount = 0;
  for (const info of Object.values(files)) {
    byteLength += info.byteLength;
    chunkCount += info.chunkCount;
  }
  return { byteLength, chunkCount };
}
