// Hugging Face config.json ⇄ a typed EncoderConfig. Missing size fields take the defaults of
// the transformers config class (BertConfig, RobertaConfig, DistilBertConfig), as
// `from_pretrained` would; fields of the wrong type or sizes that cannot work are errors.

import { ModelFormatError } from "../errors.ts";

export type ModelType = "bert" | "distilbert" | "roberta" | "xlm-roberta" | "camembert";

/** Which parameter layout a model type uses (camembert and xlm-roberta are RoBERTa's). */
export type EncoderFamily = "bert" | "roberta" | "distilbert";

/** "gelu" is the exact erf form; "gelu_tanh" the tanh approximation (gelu_new, gelu_pytorch_tanh). */
export type HiddenAct = "gelu" | "gelu_tanh" | "relu";

export type HeadKind = "token" | "sequence";

/**
 * transformers' problem_type for *ForSequenceClassification: which loss it trains with and
 * how pipelines score (softmax, or a sigmoid per label for multi-label).
 */
export type ProblemType = "single_label_classification" | "multi_label_classification";

export interface EncoderConfig {
  modelType: ModelType;
  family: EncoderFamily;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** hiddenSize / numHeads */
  headSize: number;
  intermediateSize: number;
  hiddenAct: HiddenAct;
  /** Rows of the position-embedding table (514 for RoBERTa: 512 tokens + the offset). */
  maxPositions: number;
  /** 0 when the model has no token-type embeddings (DistilBERT). */
  typeVocabSize: number;
  layerNormEps: number;
  padTokenId: number;
  /** First position id: 0 for BERT/DistilBERT, padding_idx + 1 for RoBERTa/XLM-R/CamemBERT. */
  positionOffset: number;
  hiddenDropout: number;
  attentionDropout: number;
  /** Dropout before the token-classification head. */
  classifierDropout: number;
  /** Dropout in the sequence-classification head (DistilBERT has its own). */
  sequenceClassifierDropout: number;
  initializerRange: number;
  /** Labels by id: labels[i] = id2label[i]. */
  labels: string[];
  id2label: Record<number, string>;
  label2id: Record<string, number>;
  numLabels: number;
  /** False when config.json had no id2label and the labels are transformers' LABEL_0, LABEL_1, … */
  hasLabelMap: boolean;
  architectures: string[];
  /** The parsed config.json, kept so that writing it back preserves fields we do not model. */
  raw: Record<string, unknown>;
}

const FAMILY: Record<ModelType, EncoderFamily> = {
  bert: "bert",
  distilbert: "distilbert",
  roberta: "roberta",
  "xlm-roberta": "roberta",
  camembert: "roberta",
};

const ARCHITECTURE_PREFIX: Record<ModelType, string> = {
  bert: "Bert",
  roberta: "Roberta",
  "xlm-roberta": "XLMRoberta",
  camembert: "Camembert",
  distilbert: "DistilBert",
};

const ACTIVATIONS: Record<string, HiddenAct> = {
  gelu: "gelu",
  gelu_python: "gelu",
  gelu_new: "gelu_tanh",
  gelu_pytorch_tanh: "gelu_tanh",
  gelu_fast: "gelu_tanh",
  relu: "relu",
};

const TRANSFORMERS_VERSION = "4.46.3";

export const SUPPORTED_MODEL_TYPES = Object.keys(FAMILY) as ModelType[];

export function isSupportedModelType(value: unknown): value is ModelType {
  return typeof value === "string" && Object.hasOwn(FAMILY, value);
}

/** Parses config.json (its text or the already-parsed object). */
export function parseConfig(json: unknown, fileName = "config.json"): EncoderConfig {
  const fail = (problem: string): never => {
    throw new ModelFormatError(fileName, problem);
  };
  let raw: unknown = json;
  if (typeof json === "string") {
    try {
      raw = JSON.parse(json);
    } catch (error) {
      fail(`not valid JSON (${(error as Error).message})`);
    }
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("not a JSON object");
  const fields = raw as Record<string, unknown>;

  const modelType = fields.model_type;
  if (modelType === undefined) fail(`has no model_type; supported: ${SUPPORTED_MODEL_TYPES.join(", ")}`);
  if (!isSupportedModelType(modelType)) {
    fail(`model_type '${String(modelType)}' is not supported; supported: ${SUPPORTED_MODEL_TYPES.join(", ")}`);
  }
  const type = modelType as ModelType;
  const family = FAMILY[type];

  const int = (key: string, fallback: number, min = 1): number => {
    const value = fields[key] ?? fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
      fail(`${key} is ${JSON.stringify(fields[key])}; expected an integer ≥ ${min}`);
    }
    return value as number;
  };
  const prob = (key: string, fallback: number): number => {
    const value = fields[key] ?? fallback;
    if (typeof value !== "number" || !(value >= 0 && value < 1)) {
      fail(`${key} is ${JSON.stringify(fields[key])}; expected a probability in [0, 1)`);
    }
    return value as number;
  };
  const positive = (key: string, fallback: number): number => {
    const value = fields[key] ?? fallback;
    if (typeof value !== "number" || !(value > 0)) fail(`${key} is ${JSON.stringify(fields[key])}; expected a positive number`);
    return value as number;
  };

  const isDistil = family === "distilbert";
  const vocabSize = int("vocab_size", family === "roberta" ? 50265 : 30522);
  const hiddenSize = int(isDistil ? "dim" : "hidden_size", 768);
  const numLayers = int(isDistil ? "n_layers" : "num_hidden_layers", isDistil ? 6 : 12);
  const numHeads = int(isDistil ? "n_heads" : "num_attention_heads", 12);
  const intermediateSize = int(isDistil ? "hidden_dim" : "intermediate_size", 3072);
  const maxPositions = int("max_position_embeddings", 512);
  const padTokenId = int("pad_token_id", family === "roberta" ? 1 : 0, 0);
  const typeVocabSize = isDistil ? 0 : int("type_vocab_size", 2);
  // DistilBERT hard-codes eps=1e-12 in its LayerNorms and has no config field for it.
  const layerNormEps = isDistil ? 1e-12 : positive("layer_norm_eps", 1e-12);
  const initializerRange = positive("initializer_range", 0.02);
  if (hiddenSize % numHeads !== 0) {
    fail(`hidden size ${hiddenSize} is not a multiple of the number of attention heads ${numHeads}`);
  }

  const actKey = isDistil ? "activation" : "hidden_act";
  const actName = fields[actKey] ?? "gelu";
  if (typeof actName !== "string" || !Object.hasOwn(ACTIVATIONS, actName)) {
    fail(`${actKey} '${String(actName)}' is not supported; supported: ${Object.keys(ACTIVATIONS).join(", ")}`);
  }

  const positionType = fields.position_embedding_type;
  if (positionType !== undefined && positionType !== null && positionType !== "absolute") {
    fail(`position_embedding_type '${String(positionType)}' is not supported; only 'absolute' is`);
  }
  // RoBERTa numbers positions from padding_idx + 1 (create_position_ids_from_input_ids), so
  // its table has 2 extra rows (514 for 512 tokens).
  const positionOffset = family === "roberta" ? padTokenId + 1 : 0;
  if (positionOffset >= maxPositions) {
    fail(`max_position_embeddings ${maxPositions} leaves no positions after the offset ${positionOffset} (pad_token_id + 1)`);
  }

  const hiddenDropout = prob(isDistil ? "dropout" : "hidden_dropout_prob", 0.1);
  const attentionDropout = prob(isDistil ? "attention_dropout" : "attention_probs_dropout_prob", 0.1);
  const classifierDropout = isDistil
    ? hiddenDropout
    : fields.classifier_dropout === null || fields.classifier_dropout === undefined
      ? hiddenDropout
      : prob("classifier_dropout", hiddenDropout);
  const sequenceClassifierDropout = isDistil ? prob("seq_classif_dropout", 0.2) : classifierDropout;

  const labelMap = parseLabels(fields, fail);

  let architectures: string[] = [];
  if (fields.architectures !== undefined && fields.architectures !== null) {
    if (!Array.isArray(fields.architectures) || !fields.architectures.every((a) => typeof a === "string")) {
      fail(`architectures is ${JSON.stringify(fields.architectures)}; expected a list of class names`);
    }
    architectures = [...(fields.architectures as string[])];
  }

  return {
    modelType: type,
    family,
    vocabSize,
    hiddenSize,
    numLayers,
    numHeads,
    headSize: hiddenSize / numHeads,
    intermediateSize,
    hiddenAct: ACTIVATIONS[actName as string],
    maxPositions,
    typeVocabSize,
    layerNormEps,
    padTokenId,
    positionOffset,
    hiddenDropout,
    attentionDropout,
    classifierDropout,
    sequenceClassifierDropout,
    initializerRange,
    ...labelMap,
    architectures,
    raw: { ...fields },
  };
}

interface LabelMap {
  labels: string[];
  id2label: Record<number, string>;
  label2id: Record<string, number>;
  numLabels: number;
  hasLabelMap: boolean;
}

function parseLabels(fields: Record<string, unknown>, fail: (problem: string) => never): LabelMap {
  const given = fields.id2label;
  if (given === undefined || given === null) {
    // transformers' default: num_labels (2 unless given) labels named LABEL_i.
    const count = fields.num_labels ?? 2;
    if (typeof count !== "number" || !Number.isInteger(count) || count < 1) {
      fail(`num_labels is ${JSON.stringify(fields.num_labels)}; expected an integer ≥ 1`);
    }
    return { ...labelMapOf(Array.from({ length: count as number }, (_, i) => `LABEL_${i}`)), hasLabelMap: false };
  }
  if (typeof given !== "object" || Array.isArray(given)) fail("id2label is not an object of id → label");
  const entries = Object.entries(given as Record<string, unknown>);
  const labels: string[] = new Array(entries.length);
  for (const [key, label] of entries) {
    const id = Number(key);
    if (!/^\d+$/.test(key) || id >= entries.length) {
      fail(`id2label has key '${key}'; expected the ids 0 to ${entries.length - 1}`);
    }
    if (typeof label !== "string") fail(`id2label['${key}'] is ${JSON.stringify(label)}; expected a string`);
    labels[id] = label as string;
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === undefined) fail(`id2label has no entry for id ${i}; expected the ids 0 to ${entries.length - 1}`);
  }
  if (new Set(labels).size !== labels.length) fail(`id2label names a label twice: ${labels.join(", ")}`);
  // label2id in the wild is sometimes stale (left at LABEL_0…); id2label is what transformers
  // uses to name predictions, so it wins and label2id is rebuilt from it.
  return { ...labelMapOf(labels), hasLabelMap: true };
}

function labelMapOf(labels: string[]): Omit<LabelMap, "hasLabelMap"> {
  const id2label: Record<number, string> = {};
  const label2id: Record<string, number> = {};
  labels.forEach((label, id) => {
    id2label[id] = label;
    label2id[label] = id;
  });
  return { labels: [...labels], id2label, label2id, numLabels: labels.length };
}

/**
 * The transformers class name of the model with this head (e.g. BertForTokenClassification);
 * "base" is the bare encoder (BertModel), for heads transformers has no class for.
 */
export function architectureName(modelType: ModelType, head: HeadKind | "base" = "token"): string {
  if (head === "base") return `${ARCHITECTURE_PREFIX[modelType]}Model`;
  return `${ARCHITECTURE_PREFIX[modelType]}For${head === "token" ? "Token" : "Sequence"}Classification`;
}

/** A copy of the config with another label set (for a head with new labels). */
export function withLabels(config: EncoderConfig, labels: readonly string[]): EncoderConfig {
  return { ...config, ...labelMapOf([...labels]), hasLabelMap: true };
}

/**
 * config.json text that transformers loads as *ForTokenClassification (or
 * *ForSequenceClassification) with these labels. Fields of the original config that we do not
 * model are kept; keys are sorted and indented as `PretrainedConfig.to_json_file` writes them.
 */
export function configToJson(
  config: EncoderConfig,
  labels: readonly string[],
  options: {
    head?: HeadKind | "base";
    problemType?: ProblemType;
    /** Fields of our own (e.g. a span head's description), written as they are. */
    extra?: Record<string, unknown>;
  } = {},
): string {
  const out: Record<string, unknown> = { ...config.raw };
  // Stale label counts from older transformers versions would contradict id2label.
  delete out.num_labels;
  delete out._num_labels;
  const sizes: Record<string, unknown> =
    config.family === "distilbert"
      ? {
          vocab_size: config.vocabSize,
          dim: config.hiddenSize,
          n_layers: config.numLayers,
          n_heads: config.numHeads,
          hidden_dim: config.intermediateSize,
          activation: activationName(config.hiddenAct),
          max_position_embeddings: config.maxPositions,
          dropout: config.hiddenDropout,
          attention_dropout: config.attentionDropout,
          seq_classif_dropout: config.sequenceClassifierDropout,
          qa_dropout: out.qa_dropout ?? 0.1,
          sinusoidal_pos_embds: out.sinusoidal_pos_embds ?? false,
          tie_weights_: out.tie_weights_ ?? true,
          initializer_range: config.initializerRange,
          pad_token_id: config.padTokenId,
        }
      : {
          vocab_size: config.vocabSize,
          hidden_size: config.hiddenSize,
          num_hidden_layers: config.numLayers,
          num_attention_heads: config.numHeads,
          intermediate_size: config.intermediateSize,
          hidden_act: activationName(config.hiddenAct),
          max_position_embeddings: config.maxPositions,
          type_vocab_size: config.typeVocabSize,
          layer_norm_eps: config.layerNormEps,
          hidden_dropout_prob: config.hiddenDropout,
          attention_probs_dropout_prob: config.attentionDropout,
          classifier_dropout: config.classifierDropout === config.hiddenDropout ? (out.classifier_dropout ?? null) : config.classifierDropout,
          initializer_range: config.initializerRange,
          pad_token_id: config.padTokenId,
          position_embedding_type: "absolute",
          ...(config.family === "roberta" ? { bos_token_id: out.bos_token_id ?? 0, eos_token_id: out.eos_token_id ?? 2 } : {}),
        };
  Object.assign(out, sizes);
  out.model_type = config.modelType;
  out.architectures = [architectureName(config.modelType, options.head ?? "token")];
  out.id2label = Object.fromEntries(labels.map((label, id) => [String(id), label]));
  out.label2id = Object.fromEntries(labels.map((label, id) => [label, id]));
  if (options.problemType) out.problem_type = options.problemType;
  Object.assign(out, options.extra);
  out.torch_dtype = "float32";
  out.transformers_version = TRANSFORMERS_VERSION;
  return JSON.stringify(sortKeys(out), null, 2) + "\n";
}

function activationName(act: HiddenAct): string {
  return act === "gelu_tanh" ? "gelu_new" : act;
}

/**
 * Python's json.dumps(sort_keys=True) order at every level, except that JavaScript always
 * puts integer-like keys first in numeric order, so id2label reads "0", "1", "2", …, "10"
 * where Python writes "0", "1", "10", "2": the same JSON object either way.
 */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort(compareCodePoints)) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  return sorted;
}

function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface ConfigSizes {
  vocabSize?: number;
  hiddenSize?: number;
  numLayers?: number;
  numHeads?: number;
  intermediateSize?: number;
  maxPositions?: number;
  typeVocabSize?: number;
  hiddenAct?: HiddenAct;
  labels?: readonly string[];
}

/** A config built in code (tests, benchmarks, random-weight encoders), as if read from config.json. */
export function createConfig(modelType: ModelType, sizes: ConfigSizes = {}): EncoderConfig {
  const raw: Record<string, unknown> = { model_type: modelType };
  const set = (key: string, value: unknown) => {
    if (value !== undefined) raw[key] = value;
  };
  const act = sizes.hiddenAct === undefined ? undefined : activationName(sizes.hiddenAct);
  // Defaults as the published checkpoints have them (RoBERTa: 514 positions, 1 token type),
  // which differ from the transformers config classes' defaults.
  const roberta = FAMILY[modelType] === "roberta";
  set("vocab_size", sizes.vocabSize);
  set("max_position_embeddings", sizes.maxPositions ?? (roberta ? 514 : undefined));
  if (FAMILY[modelType] === "distilbert") {
    set("dim", sizes.hiddenSize);
    set("n_layers", sizes.numLayers);
    set("n_heads", sizes.numHeads);
    set("hidden_dim", sizes.intermediateSize);
    set("activation", act);
  } else {
    set("hidden_size", sizes.hiddenSize);
    set("num_hidden_layers", sizes.numLayers);
    set("num_attention_heads", sizes.numHeads);
    set("intermediate_size", sizes.intermediateSize);
    set("type_vocab_size", sizes.typeVocabSize ?? (roberta ? 1 : undefined));
    set("hidden_act", act);
  }
  if (sizes.labels) raw.id2label = Object.fromEntries(sizes.labels.map((label, id) => [String(id), label]));
  return parseConfig(raw, "config");
}
