// A Hugging Face model folder as the user drops it (or zips it): config.json, tokenizer
// files, and weights as model.safetensors (possibly sharded) or onnx/model.onnx. Paths are
// relative to the folder root; a folder dropped with its own name (`my-model/config.json`)
// or zipped with one is accepted too.

import { strToU8, unzipSync } from "fflate";
import { ModelFormatError } from "../errors.ts";
import { configToJson, parseConfig, withLabels, type EncoderConfig, type HeadKind, type ProblemType } from "./config.ts";
import { listParams, modernName, type ParamSpec } from "./names.ts";
import { type SpanHead, NO_RELATION, listSpanModelParams } from "./span-heads.ts";
import { readSafetensors, writeSafetensors, type FloatDType, type Tensor } from "./safetensors.ts";
import type { Weight } from "./weights.ts";

export interface ModelFolder {
  config: EncoderConfig;
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig?: Record<string, unknown>;
  specialTokensMap?: Record<string, unknown>;
  vocabTxt?: string;
  /** Tensors by the checkpoint's own names; match them to the model with resolveWeights. */
  weights?: Map<string, Tensor>;
  /** model.safetensors' "__metadata__" (of the first shard when sharded). */
  weightsMetadata?: Record<string, string>;
  onnx?: Uint8Array;
  /** Every file, by path relative to the folder root. */
  files: Map<string, Uint8Array>;
}

/** The tokenizer files to write with a model; a ModelFolder is one. */
export interface TokenizerFiles {
  /** Parsed JSON, or the file's text or bytes to copy unchanged. */
  tokenizerJson: unknown;
  tokenizerConfig?: unknown;
  specialTokensMap?: unknown;
  vocabTxt?: string;
}

const SAFETENSORS = "model.safetensors";
const SAFETENSORS_INDEX = "model.safetensors.index.json";
const ONNX_PATHS = ["onnx/model.onnx", "model.onnx"];

export function readModelFolder(input: Map<string, Uint8Array>): ModelFolder {
  const files = normalisePaths(input);
  const config = parseConfig(textOf(files, "config.json", true)!, "config.json");
  const tokenizerJson = jsonOf(files, "tokenizer.json", true)!;
  const tokenizerConfig = jsonOf(files, "tokenizer_config.json", false);
  const specialTokensMap = jsonOf(files, "special_tokens_map.json", false);
  const vocabTxt = textOf(files, "vocab.txt", false);

  let weights: Map<string, Tensor> | undefined;
  let weightsMetadata: Record<string, string> | undefined;
  if (files.has(SAFETENSORS)) {
    ({ tensors: weights, metadata: weightsMetadata } = readSafetensors(files.get(SAFETENSORS)!, SAFETENSORS));
  } else if (files.has(SAFETENSORS_INDEX)) {
    ({ weights, metadata: weightsMetadata } = readShards(files));
  }
  const onnxPath = ONNX_PATHS.find((path) => files.has(path));
  const onnx = onnxPath === undefined ? undefined : files.get(onnxPath);
  if (!weights && !onnx) {
    const pickle = ["pytorch_model.bin", "tf_model.h5", "flax_model.msgpack"].find((path) => files.has(path));
    throw new ModelFormatError(
      SAFETENSORS,
      pickle
        ? `missing; the folder has only ${pickle}, which cannot be read in a browser. Convert it to safetensors ` +
            `(in Python: model.save_pretrained(folder, safe_serialization=True)) and drop the folder again`
        : `missing; a model folder needs its weights as model.safetensors or onnx/model.onnx (found: ${[...files.keys()].join(", ")})`,
    );
  }
  if (weights) checkLabelCount(config, weights);

  return {
    config,
    tokenizerJson: tokenizerJson as Record<string, unknown>,
    ...(tokenizerConfig ? { tokenizerConfig: tokenizerConfig as Record<string, unknown> } : {}),
    ...(specialTokensMap ? { specialTokensMap: specialTokensMap as Record<string, unknown> } : {}),
    ...(vocabTxt !== undefined ? { vocabTxt } : {}),
    ...(weights ? { weights } : {}),
    ...(weightsMetadata ? { weightsMetadata } : {}),
    ...(onnx ? { onnx } : {}),
    files,
  };
}

/** A zipped model folder (fflate; the archive is read whole, in memory). */
export function readModelZip(bytes: Uint8Array, fileName = "model.zip"): ModelFolder {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (error) {
    throw new ModelFormatError(fileName, `not a readable zip archive (${(error as Error).message})`);
  }
  return readModelFolder(new Map(Object.entries(entries)));
}

/**
 * Paths relative to the folder root: backslashes and leading "./" or "/" go, directory
 * entries and macOS litter (__MACOSX/, .DS_Store) are dropped, and one enclosing directory
 * that holds everything is stripped (repeatedly) when config.json is not at the top.
 */
function normalisePaths(input: Map<string, Uint8Array>): Map<string, Uint8Array> {
  let files = new Map<string, Uint8Array>();
  for (const [rawPath, bytes] of input) {
    const path = rawPath.replace(/\\/g, "/").replace(/^(\.\/|\/)+/, "");
    if (path === "" || path.endsWith("/") || path.startsWith("__MACOSX/") || /(^|\/)\.DS_Store$/.test(path)) continue;
    files.set(path, bytes);
  }
  while (!files.has("config.json") && files.size > 0) {
    const tops = new Set([...files.keys()].map((path) => (path.includes("/") ? path.slice(0, path.indexOf("/")) : "")));
    if (tops.size !== 1 || tops.has("")) break;
    const top = [...tops][0].length + 1;
    files = new Map([...files].map(([path, bytes]) => [path.slice(top), bytes]));
  }
  return files;
}

function textOf(files: Map<string, Uint8Array>, path: string, required: boolean): string | undefined {
  const bytes = files.get(path);
  if (!bytes) {
    if (required) throw new ModelFormatError(path, `missing; a model folder needs ${path} at its top level (found: ${[...files.keys()].join(", ") || "no files"})`);
    return undefined;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes).replace(/^\uFEFF/, "");
  } catch {
    throw new ModelFormatError(path, "not valid UTF-8 text");
  }
}

function jsonOf(files: Map<string, Uint8Array>, path: string, required: boolean): Record<string, unknown> | undefined {
  const text = textOf(files, path, required);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ModelFormatError(path, `not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ModelFormatError(path, "not a JSON object");
  return value as Record<string, unknown>;
}

/** Sharded checkpoints: model.safetensors.index.json maps each tensor to its shard file. */
function readShards(files: Map<string, Uint8Array>): { weights: Map<string, Tensor>; metadata?: Record<string, string> } {
  const index = jsonOf(files, SAFETENSORS_INDEX, true)!;
  const weightMap = index.weight_map;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
    throw new ModelFormatError(SAFETENSORS_INDEX, "has no weight_map object");
  }
  const shards = [...new Set(Object.values(weightMap as Record<string, unknown>))];
  const weights = new Map<string, Tensor>();
  let metadata: Record<string, string> | undefined;
  for (const shard of shards) {
    if (typeof shard !== "string" || !files.has(shard)) {
      throw new ModelFormatError(String(shard), `missing; ${SAFETENSORS_INDEX} lists it as a shard of the weights`);
    }
    const file = readSafetensors(files.get(shard)!, shard);
    metadata ??= file.metadata;
    for (const [name, tensor] of file.tensors) weights.set(name, tensor);
  }
  for (const name of Object.keys(weightMap)) {
    if (!weights.has(name)) throw new ModelFormatError((weightMap as Record<string, string>)[name], `has no tensor '${name}' though ${SAFETENSORS_INDEX} says it does`);
  }
  return { weights, metadata };
}

/** The label map in config.json must name as many labels as the classifier has rows. */
function checkLabelCount(config: EncoderConfig, weights: Map<string, Tensor>): void {
  for (const [name, tensor] of weights) {
    const modern = modernName(name);
    if (modern !== "classifier.weight" && modern !== "classifier.out_proj.weight") continue;
    const rows = tensor.shape[0];
    if (rows === config.numLabels) return;
    const labels = config.hasLabelMap
      ? `id2label has ${config.numLabels} labels`
      : `config.json has no id2label, so transformers assumes ${config.numLabels} labels,`;
    throw new ModelFormatError(
      "config.json",
      `${labels} but ${name} in the weights has ${rows} rows (one per label); ` +
        `the label map does not belong to this classifier`,
    );
  }
}

export interface WriteFolderOptions {
  head?: HeadKind;
  /** Sequence classification only: multi-label models say so, or transformers scores them with a softmax. */
  problemType?: ProblemType;
  /** dtype of model.safetensors; default F32. */
  floatDtype?: FloatDType;
}

/**
 * A model folder transformers loads with from_pretrained: config.json for these labels,
 * model.safetensors with exactly the model's parameters (checked), and the tokenizer files.
 */
export function writeModelFolder(
  config: EncoderConfig,
  labels: readonly string[],
  weights: Map<string, Weight>,
  tokenizer: TokenizerFiles,
  options: WriteFolderOptions = {},
): Map<string, Uint8Array> {
  const head = options.head ?? "token";
  const specs = listParams(withLabels(config, labels), head);
  checkWeights(specs, weights);
  const files = new Map<string, Uint8Array>();
  files.set("config.json", strToU8(configToJson(config, labels, { head, ...(options.problemType ? { problemType: options.problemType } : {}) })));
  return withWeightsAndTokenizer(files, weights, tokenizer, options);
}

/** The config.json field that describes a span head (SPAN_HEAD_LOADING says how to use it). */
export const SPAN_HEAD_FIELD = "clinical_adapt_head";

/**
 * An attribute or relation model as a folder: config.json for the bare encoder
 * (architectures *Model, so AutoModel loads the encoder and skips the head tensors) with
 * the head described under SPAN_HEAD_FIELD, and, for relations, the labels as id2label;
 * model.safetensors with the encoder and the head's tensors (checked).
 */
export function writeSpanModelFolder(
  config: EncoderConfig,
  head: SpanHead,
  weights: Map<string, Weight>,
  tokenizer: TokenizerFiles,
  options: Omit<WriteFolderOptions, "head" | "problemType"> = {},
): Map<string, Uint8Array> {
  checkWeights(listSpanModelParams(config, head), weights);
  const description =
    head.kind === "attributes"
      ? { kind: "attributes", pooling: "mean", attributes: head.attributes.map((a) => ({ entity_type: a.entityType, name: a.name, values: [...a.values] })) }
      : { kind: "relations", pooling: "mean", pair: "from,to,from*to", no_relation: NO_RELATION };
  const labels = head.kind === "relations" ? head.labels : [...config.labels];
  const files = new Map<string, Uint8Array>();
  files.set("config.json", strToU8(configToJson(config, labels, { head: "base", extra: { [SPAN_HEAD_FIELD]: description } })));
  return withWeightsAndTokenizer(files, weights, tokenizer, options);
}

/** Every spec has a weight of its shape, and no weight is left over. */
function checkWeights(specs: readonly ParamSpec[], weights: Map<string, Weight>): void {
  const problems: string[] = [];
  for (const spec of specs) {
    const weight = weights.get(spec.name);
    if (!weight) problems.push(`'${spec.name}' is missing`);
    else if (weight.shape.length !== spec.shape.length || weight.shape.some((d, i) => d !== spec.shape[i])) {
      problems.push(`'${spec.name}' has shape [${weight.shape.join(", ")}], expected [${spec.shape.join(", ")}]`);
    }
  }
  const known = new Set(specs.map((spec) => spec.name));
  for (const name of weights.keys()) if (!known.has(name)) problems.push(`'${name}' is not a parameter of the model`);
  if (problems.length > 0) throw new ModelFormatError(SAFETENSORS, `cannot write the weights: ${problems.join("; ")}`);
}

function withWeightsAndTokenizer(
  files: Map<string, Uint8Array>,
  weights: Map<string, Weight>,
  tokenizer: TokenizerFiles,
  options: Pick<WriteFolderOptions, "floatDtype">,
): Map<string, Uint8Array> {
  // transformers refuses safetensors files whose metadata lacks format "pt".
  files.set(SAFETENSORS, writeSafetensors(weights, { metadata: { format: "pt" }, floatDtype: options.floatDtype }));
  files.set("tokenizer.json", fileBytes(tokenizer.tokenizerJson));
  if (tokenizer.tokenizerConfig !== undefined) files.set("tokenizer_config.json", fileBytes(tokenizer.tokenizerConfig));
  if (tokenizer.specialTokensMap !== undefined) files.set("special_tokens_map.json", fileBytes(tokenizer.specialTokensMap));
  if (tokenizer.vocabTxt !== undefined) files.set("vocab.txt", strToU8(tokenizer.vocabTxt));
  return files;
}

function fileBytes(content: unknown): Uint8Array {
  if (content instanceof Uint8Array) return content;
  if (typeof content === "string") return strToU8(content);
  return strToU8(JSON.stringify(content, null, 2) + "\n");
}
