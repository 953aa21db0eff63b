// The models a training run reads and writes in the store: the base model as a folder
// (config, tokenizer, weights), its weights matched to the labels the run trains, and the
// adapted model's files (config.json, tokenizer files, model.safetensors, onnx/model.onnx,
// adaptation.json with the run's provenance).

import { strToU8 } from "fflate";
import { ModelFormatError } from "../errors.ts";
import type { EncoderConfig } from "../model/config.ts";
import { configToJson, withLabels } from "../model/config.ts";
import { type ModelFolder, readModelFolder } from "../model/folder.ts";
import { buildInferenceModel } from "../model/inference-graph.ts";
import { initLoraWeights, type LoraConfig } from "../model/lora.ts";
import { listParams } from "../model/names.ts";
import { seededRandom } from "../model/random.ts";
import { writeSafetensors } from "../model/safetensors.ts";
import { completeWeights, resolveWeights, type Weight } from "../model/weights.ts";
import type { AppDatabase } from "../store/db.ts";
import { getModel, getModelFile } from "../store/models.ts";
import { bioLabels } from "../text/bio.ts";

/** Files a base model needs for training (an ONNX-only model cannot be trained). */
const SKIP = new Set(["onnx/model.onnx", "model.onnx", "checkpoint.safetensors", "adaptation.json", "README.md"]);

export async function readStoredFolder(db: AppDatabase, modelId: string, skip: ReadonlySet<string> = SKIP): Promise<ModelFolder> {
  const model = await getModel(db, modelId);
  const files = new Map<string, Uint8Array>();
  for (const name of Object.keys(model.files)) if (!skip.has(name)) files.set(name, await getModelFile(db, modelId, name));
  const folder = readModelFolder(files);
  if (!folder.weights) {
    throw new ModelFormatError(
      "model.safetensors",
      `model "${model.name}" has only an ONNX graph; training needs its weights (model.safetensors). Upload the Hugging Face folder instead.`,
    );
  }
  return folder;
}

/** The labels a run trains: the base model's when they are BIO labels of exactly the project's types, else fresh ones. */
export function labelsFor(base: EncoderConfig, types: readonly string[]): { labels: string[]; newHead: boolean } {
  const wanted = bioLabels(types).id2label;
  const same = base.hasLabelMap && base.labels.length === wanted.length && wanted.every((label) => base.labels.includes(label));
  return same ? { labels: [...base.labels], newHead: false } : { labels: wanted, newHead: true };
}

/** Entity types in the order of the model's B- labels. */
export function typesOf(labels: readonly string[]): string[] {
  return labels.filter((label) => label.startsWith("B-")).map((label) => label.slice(2));
}

/** Float32 weights for training, keyed by parameter name; LoRA factors added when asked. */
export function initialWeights(
  folder: ModelFolder,
  config: EncoderConfig,
  newHead: boolean,
  seed: number,
  lora?: LoraConfig,
): { weights: Map<string, Weight>; newlyInitialised: string[] } {
  const resolved = resolveWeights(config, folder.weights!, "model.safetensors", { reinitialiseHead: newHead });
  const weights = completeWeights(resolved, seededRandom(seed));
  // Copies: resolved data may be views on the file's bytes.
  for (const [name, w] of weights) weights.set(name, { shape: w.shape, data: Float32Array.from(w.data) });
  if (lora) for (const [name, w] of initLoraWeights(config, lora, seed + 1)) weights.set(name, w);
  return { weights, newlyInitialised: resolved.newlyInitialised };
}

export function modelConfigFor(folder: ModelFolder, labels: readonly string[]): EncoderConfig {
  return withLabels(folder.config, labels);
}

/** model.safetensors bytes (float32, Hugging Face names, format "pt") of exported weights. */
export function safetensorsOf(config: EncoderConfig, weights: ReadonlyMap<string, Float32Array>): Uint8Array {
  const tensors = listParams(config, "token").map((spec) => {
    const data = weights.get(spec.name);
    if (!data) throw new ModelFormatError("model.safetensors", `the trained weights lack ${spec.name}`);
    return [spec.name, { shape: spec.shape, data }] as const;
  });
  return writeSafetensors(tensors, { metadata: { format: "pt" } });
}

/** Every file of the adapted model, ready for putModelFile. */
export function adaptedModelFiles(
  folder: ModelFolder,
  config: EncoderConfig,
  weights: ReadonlyMap<string, Float32Array>,
  safetensors: Uint8Array,
  adaptation: unknown,
): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  files.set("config.json", strToU8(configToJson(config, config.labels)));
  for (const name of ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]) {
    const bytes = folder.files.get(name);
    if (bytes) files.set(name, bytes);
  }
  files.set("model.safetensors", safetensors);
  files.set("onnx/model.onnx", buildInferenceModel(config, weights));
  files.set("adaptation.json", strToU8(JSON.stringify(adaptation, null, 2) + "\n"));
  return files;
}
