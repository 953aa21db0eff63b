// A user's model (a dropped folder or a .zip) into the store, ready for the inference run:
// every file is kept as it came (so an export can give it back unchanged), and a checkpoint
// that has weights but no ONNX graph gets one built from its weights when they include the
// token-classification head (a base model without a head is kept for training only).

import { ModelFormatError } from "../errors.ts";
import type { AppDatabase, ModelKind, ModelRow } from "../store/db.ts";
import { createModel, deleteModel, putModelFile } from "../store/models.ts";
import { type ModelFolder, readModelFolder, readModelZip } from "./folder.ts";
import { buildInferenceModel } from "./inference-graph.ts";
import { resolveWeights } from "./weights.ts";

const ONNX_FILE = "onnx/model.onnx";

export interface StoreModelOptions {
  name: string;
  kind?: ModelKind;
  projectId?: string;
}

export interface StoredModel {
  model: ModelRow;
  /** True when the model can run inference (it has or was given an ONNX graph). */
  runnable: boolean;
  /** Why it cannot, when it cannot. */
  reason?: string;
}

/** Reads a folder (path → bytes) or a zip and stores it; see storeModelFolder. */
export async function storeModelFiles(
  db: AppDatabase,
  input: Map<string, Uint8Array> | { zip: Uint8Array; fileName?: string },
  options: StoreModelOptions,
): Promise<StoredModel> {
  const folder = input instanceof Map ? readModelFolder(input) : readModelZip(input.zip, input.fileName);
  return storeModelFolder(db, folder, options);
}

export async function storeModelFolder(db: AppDatabase, folder: ModelFolder, options: StoreModelOptions): Promise<StoredModel> {
  let onnx: Uint8Array | undefined;
  let reason: string | undefined;
  if (!folder.onnx && folder.weights) {
    const resolved = resolveWeights(folder.config, folder.weights);
    if (resolved.newlyInitialised.length === 0) onnx = buildInferenceModel(folder.config, resolved.params);
    else reason = `the checkpoint has no token-classification head (${resolved.newlyInitialised.join(", ")}); train it before running it.`;
  } else if (!folder.onnx) {
    throw new ModelFormatError("model folder", "expected model.safetensors or onnx/model.onnx next to config.json.");
  }
  const model = await createModel(db, {
    name: options.name,
    kind: options.kind ?? "uploaded",
    config: folder.config.raw,
    labels: folder.config.labels,
    projectId: options.projectId,
  });
  try {
    let row = model;
    for (const [path, bytes] of folder.files) row = await putModelFile(db, model.id, path, bytes);
    if (onnx) row = await putModelFile(db, model.id, ONNX_FILE, onnx);
    return { model: row, runnable: reason === undefined, ...(reason ? { reason } : {}) };
  } catch (error) {
    // Half a model is worse than none: a later run would fail on the missing file.
    await deleteModel(db, model.id).catch(() => undefined);
    throw error;
  }
}
