// The model download: one .zip that transformers (Python) and transformers.js load as it is.
//
//   config.json            model_type, architectures, id2label, label2id (configToJson)
//   model.safetensors      float32, every parameter of *ForTokenClassification by its
//                          Hugging Face name (listParams), metadata format "pt"
//   tokenizer.json, tokenizer_config.json (and special_tokens_map.json, vocab.txt if stored)
//   onnx/model.onnx        float32 forward graph (buildInferenceModel), Optimum's layout
//   onnx/model_quantized.onnx  when asked (int8: true): the same graph in int8 (quantizeInt8),
//                          the file transformers.js loads for dtype "q8" (its default on wasm)
//   README.md              the model card (no note text)
//
// Models of the other tasks (task-run.ts): a document-label model is *ForSequenceClassification
// (problem_type kept), rebuilt the same way with its sequence head and graph; an attribute or
// relation model has no transformers class, so its folder (bare encoder config with the head
// described, model.safetensors with the head's tensors, the span-head graph) ships as the
// training run wrote it, and the card says how to load it (SPAN_HEAD_LOADING).
//
// Whatever the stored model holds (float16 weights, an old-style checkpoint, an ONNX graph
// someone quantized), the bundle is rebuilt from its weights, so the files always agree with
// each other and with these conventions. A stored model without weights (ONNX only) ships
// its graph and tokenizer as they are.

import { strToU8, zipSync, type Zippable } from "fflate";
import { ModelFormatError } from "../errors.ts";
import type { Comparison } from "../eval/compare.ts";
import type { TaskComparison } from "../eval/task-scores.ts";
import type { EncoderConfig, HeadKind, ProblemType } from "../model/config.ts";
import { type ModelFolder, SPAN_HEAD_FIELD, readModelFolder, writeModelFolder } from "../model/folder.ts";
import { buildInferenceModel } from "../model/inference-graph.ts";
import { quantizeInt8 } from "../onnx/quantize.ts";
import { resolveWeights } from "../model/weights.ts";
import type { AppDatabase } from "../store/db.ts";
import { getModel, getModelFile } from "../store/models.ts";
import { listEvaluations } from "../store/runs.ts";
import type { Adaptation } from "../train/run.ts";
import { type CardHead, modelCard } from "./model-card.ts";

const LEFT_OUT = new Set(["checkpoint.safetensors", "adaptation.json", "README.md"]);

const ONNX_FILE = "onnx/model.onnx";
/** transformers.js's name for dtype "q8" (DEFAULT_DTYPE_SUFFIX_MAPPING: "_quantized"), as on the Hub. */
export const INT8_ONNX_FILE = "onnx/model_quantized.onnx";

export interface BundleOptions {
  name: string;
  appVersion: string;
  /** ISO date; today by default. */
  date?: string;
  adaptation?: Adaptation;
  comparison?: Comparison | TaskComparison;
  /** Also ship the int8 graph (INT8_ONNX_FILE). */
  int8?: boolean;
}

/** The bundle's files, path → bytes (zipped by modelZip). */
export function bundleFiles(stored: Map<string, Uint8Array>, options: BundleOptions): Map<string, Uint8Array> {
  const input = new Map([...stored].filter(([path]) => !LEFT_OUT.has(path)));
  const folder: ModelFolder = readModelFolder(input);
  const config = folder.config;
  const head = cardHeadOf(config);
  let files: Map<string, Uint8Array>;
  if (head.kind === "span") {
    files = spanModelFiles(input, folder);
  } else if (folder.weights) {
    const headKind: HeadKind = head.kind;
    const resolved = resolveWeights(config, folder.weights, "model.safetensors", { head: headKind });
    if (resolved.newlyInitialised.length > 0) {
      throw new ModelFormatError(
        "model.safetensors",
        `has no ${headKind === "token" ? "token" : "sequence"}-classification head (${resolved.newlyInitialised.join(", ")}): train the model before downloading it.`,
      );
    }
    // The tokenizer files go in byte for byte, as they came with the model.
    const tokenizer = {
      tokenizerJson: input.get("tokenizer.json"),
      tokenizerConfig: input.get("tokenizer_config.json"),
      specialTokensMap: input.get("special_tokens_map.json"),
      vocabTxt: folder.vocabTxt,
    };
    const problemType = head.kind === "sequence" ? head.problemType : undefined;
    files = writeModelFolder(config, config.labels, resolved.params, tokenizer, { head: headKind, ...(problemType ? { problemType } : {}) });
    files.set(ONNX_FILE, buildInferenceModel(config, resolved.params, { head: headKind }));
  } else {
    files = new Map([...input].filter(([path]) => !path.endsWith(".safetensors")));
  }
  if (options.int8) files.set(INT8_ONNX_FILE, int8Graph(files));
  const sizeOf = (path: string) => files.get(path)?.byteLength;
  files.set(
    "README.md",
    strToU8(
      modelCard({
        name: options.name,
        modelType: config.modelType,
        labels: config.labels,
        head,
        adaptation: options.adaptation,
        comparison: options.comparison,
        onnxFiles: { fp32: sizeOf(ONNX_FILE), int8: sizeOf(INT8_ONNX_FILE) },
        appVersion: options.appVersion,
        date: options.date ?? new Date().toISOString().slice(0, 10),
      }),
    ),
  );
  return files;
}

/** Which head a model has, from its config.json: the card describes each differently. */
function cardHeadOf(config: EncoderConfig): CardHead {
  const span = config.raw[SPAN_HEAD_FIELD] as { kind?: string } | undefined;
  if (span) return { kind: "span", description: span };
  if (config.architectures.some((name) => name.endsWith("ForSequenceClassification"))) {
    const problemType = config.raw.problem_type === "multi_label_classification" ? "multi_label_classification" : "single_label_classification";
    return { kind: "sequence", problemType: problemType as ProblemType };
  }
  return { kind: "token" };
}

/** An attribute or relation model's folder as stored: it must have its weights and graph, which the card describes. */
function spanModelFiles(input: Map<string, Uint8Array>, folder: ModelFolder): Map<string, Uint8Array> {
  for (const path of ["model.safetensors", ONNX_FILE, "tokenizer.json"]) {
    if (!input.has(path)) throw new ModelFormatError(path, "missing: an attribute or relation model ships its weights, its graph and its tokenizer; train the model again.");
  }
  if (!folder.weights) throw new ModelFormatError("model.safetensors", "unreadable: the attribute or relation head's weights are not there.");
  return new Map([...input].filter(([path]) => !path.startsWith("onnx/") || path === ONNX_FILE));
}

/** The int8 variant of the bundle's float32 graph. */
function int8Graph(files: Map<string, Uint8Array>): Uint8Array {
  const fp32 = files.get(ONNX_FILE);
  if (!fp32) throw new ModelFormatError(ONNX_FILE, "missing: the int8 model is made from the float32 ONNX graph, and this model has none.");
  return quantizeInt8(fp32, ONNX_FILE).bytes;
}

/** Files → zip bytes. Weights barely compress, so they are stored; text is deflated. */
export function modelZip(files: Map<string, Uint8Array>): Uint8Array {
  const entries: Zippable = {};
  for (const [path, bytes] of files) {
    entries[path] = [bytes, { level: /\.(safetensors|onnx)$/.test(path) ? 0 : 6 }];
  }
  return zipSync(entries);
}

/** A file name for the download: the model's name, kebab-cased. */
export function bundleFileName(name: string): string {
  const base = name.toLowerCase().normalize("NFKD").replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-+|-+$/g, "").slice(0, 80);
  return `${base || "model"}.zip`;
}

/** A stored model as the download .zip, with its adaptation record and latest comparison in the card. */
export async function storedModelBundle(
  db: AppDatabase,
  modelId: string,
  options: { appVersion: string; date?: string; int8?: boolean },
): Promise<{ fileName: string; bytes: Uint8Array; files: Map<string, Uint8Array> }> {
  const model = await getModel(db, modelId);
  const stored = new Map<string, Uint8Array>();
  for (const name of Object.keys(model.files)) stored.set(name, await getModelFile(db, modelId, name));
  const adaptation = stored.has("adaptation.json") ? (JSON.parse(new TextDecoder().decode(stored.get("adaptation.json"))) as Adaptation) : undefined;
  let comparison: Comparison | TaskComparison | undefined;
  if (model.projectId) {
    const evaluations = await listEvaluations(db, model.projectId);
    comparison = evaluations
      .filter((row) => row.modelId === modelId)
      .map((row) => row.metrics as Comparison | TaskComparison)
      .at(-1);
  }
  const files = bundleFiles(stored, { name: model.name, appVersion: options.appVersion, date: options.date, adaptation, comparison, int8: options.int8 });
  return { fileName: bundleFileName(model.name), bytes: modelZip(files), files };
}
