// Parameter names exactly as the Python model's state_dict (and so model.safetensors) spells
// them, with shapes and an architecture-neutral role, so that graph code can ask for
// "layer 3's query weight" without knowing whether the file says `attention.self.query` or
// `attention.q_lin`. PyTorch Linear weights are (out, in): y = x Wᵀ + b.

import type { EncoderConfig, EncoderFamily, HeadKind } from "./config.ts";

export type ParamRole =
  | "embeddings.word"
  | "embeddings.position"
  | "embeddings.tokenType"
  | "embeddings.norm.weight"
  | "embeddings.norm.bias"
  | "attention.query.weight"
  | "attention.query.bias"
  | "attention.key.weight"
  | "attention.key.bias"
  | "attention.value.weight"
  | "attention.value.bias"
  | "attention.output.weight"
  | "attention.output.bias"
  | "attention.norm.weight"
  | "attention.norm.bias"
  | "ffn.in.weight"
  | "ffn.in.bias"
  | "ffn.out.weight"
  | "ffn.out.bias"
  | "ffn.norm.weight"
  | "ffn.norm.bias"
  /** Sequence classification's hidden → hidden layer: BERT's pooler, RoBERTa's classifier.dense, DistilBERT's pre_classifier. */
  | "head.dense.weight"
  | "head.dense.bias"
  | "head.classifier.weight"
  | "head.classifier.bias"
  /** Span heads (span-heads.ts), which no transformers class has: one Linear per entity attribute… */
  | "head.attribute.weight"
  | "head.attribute.bias"
  /** …and one over a pair of pooled spans for relations. */
  | "head.relation.weight"
  | "head.relation.bias";

/** How transformers' `_init_weights` fills the parameter in a fresh model. */
export type ParamInit = "normal" | "ones" | "zeros";

export interface ParamSpec {
  /** The state_dict name, e.g. `bert.encoder.layer.0.attention.self.query.weight`. */
  name: string;
  shape: number[];
  role: ParamRole;
  /** The encoder layer, for per-layer parameters. */
  layer?: number;
  init: ParamInit;
  /** "encoder" parameters come from the pretrained model; "head" ones may be newly initialised. */
  part: "encoder" | "head";
}

/** Which head's parameters to list: none for a bare encoder. */
export type HeadChoice = HeadKind | "none";

/** The base-model attribute name, which prefixes every encoder parameter. */
export function basePrefix(family: EncoderFamily): string {
  return family;
}

type Layout = {
  [Role in ParamRole]?: string;
};

// Names inside the base model (no prefix); per-layer ones after `{layers}.{i}.`.
const EMBEDDINGS: Layout = {
  "embeddings.word": "embeddings.word_embeddings.weight",
  "embeddings.position": "embeddings.position_embeddings.weight",
  "embeddings.tokenType": "embeddings.token_type_embeddings.weight",
  "embeddings.norm.weight": "embeddings.LayerNorm.weight",
  "embeddings.norm.bias": "embeddings.LayerNorm.bias",
};

const BERT_LAYER: Layout = {
  "attention.query.weight": "attention.self.query.weight",
  "attention.query.bias": "attention.self.query.bias",
  "attention.key.weight": "attention.self.key.weight",
  "attention.key.bias": "attention.self.key.bias",
  "attention.value.weight": "attention.self.value.weight",
  "attention.value.bias": "attention.self.value.bias",
  "attention.output.weight": "attention.output.dense.weight",
  "attention.output.bias": "attention.output.dense.bias",
  "attention.norm.weight": "attention.output.LayerNorm.weight",
  "attention.norm.bias": "attention.output.LayerNorm.bias",
  "ffn.in.weight": "intermediate.dense.weight",
  "ffn.in.bias": "intermediate.dense.bias",
  "ffn.out.weight": "output.dense.weight",
  "ffn.out.bias": "output.dense.bias",
  "ffn.norm.weight": "output.LayerNorm.weight",
  "ffn.norm.bias": "output.LayerNorm.bias",
};

const DISTILBERT_LAYER: Layout = {
  "attention.query.weight": "attention.q_lin.weight",
  "attention.query.bias": "attention.q_lin.bias",
  "attention.key.weight": "attention.k_lin.weight",
  "attention.key.bias": "attention.k_lin.bias",
  "attention.value.weight": "attention.v_lin.weight",
  "attention.value.bias": "attention.v_lin.bias",
  "attention.output.weight": "attention.out_lin.weight",
  "attention.output.bias": "attention.out_lin.bias",
  "attention.norm.weight": "sa_layer_norm.weight",
  "attention.norm.bias": "sa_layer_norm.bias",
  "ffn.in.weight": "ffn.lin1.weight",
  "ffn.in.bias": "ffn.lin1.bias",
  "ffn.out.weight": "ffn.lin2.weight",
  "ffn.out.bias": "ffn.lin2.bias",
  "ffn.norm.weight": "output_layer_norm.weight",
  "ffn.norm.bias": "output_layer_norm.bias",
};

/** Top-level names of the sequence-classification head's hidden layer, per family. */
const SEQUENCE_DENSE: Record<EncoderFamily, string> = {
  bert: "bert.pooler.dense",
  roberta: "classifier.dense",
  distilbert: "pre_classifier",
};

const SEQUENCE_CLASSIFIER: Record<EncoderFamily, string> = {
  bert: "classifier",
  roberta: "classifier.out_proj",
  distilbert: "classifier",
};

/**
 * Every parameter of the encoder plus the chosen head, in state_dict order. Shapes:
 * V vocab, P max positions, T token types, H hidden, I intermediate, L labels.
 */
export function listParams(config: EncoderConfig, head: HeadChoice = "token"): ParamSpec[] {
  const { family, vocabSize: V, maxPositions: P, typeVocabSize: T, hiddenSize: H, intermediateSize: I, numLabels: L } = config;
  const prefix = basePrefix(family);
  const specs: ParamSpec[] = [];
  const add = (role: ParamRole, name: string, shape: number[], part: ParamSpec["part"], layer?: number) => {
    const init: ParamInit = role.endsWith("norm.weight") ? "ones" : role.endsWith(".bias") ? "zeros" : "normal";
    specs.push({ name, shape, role, init, part, ...(layer === undefined ? {} : { layer }) });
  };

  const embeddingShapes: Partial<Record<ParamRole, number[]>> = {
    "embeddings.word": [V, H],
    "embeddings.position": [P, H],
    "embeddings.tokenType": [T, H],
    "embeddings.norm.weight": [H],
    "embeddings.norm.bias": [H],
  };
  for (const [role, inner] of Object.entries(EMBEDDINGS) as [ParamRole, string][]) {
    if (role === "embeddings.tokenType" && T === 0) continue;
    add(role, `${prefix}.${inner}`, embeddingShapes[role]!, "encoder");
  }

  const layerShapes: Partial<Record<ParamRole, number[]>> = {
    "attention.query.weight": [H, H],
    "attention.query.bias": [H],
    "attention.key.weight": [H, H],
    "attention.key.bias": [H],
    "attention.value.weight": [H, H],
    "attention.value.bias": [H],
    "attention.output.weight": [H, H],
    "attention.output.bias": [H],
    "attention.norm.weight": [H],
    "attention.norm.bias": [H],
    "ffn.in.weight": [I, H],
    "ffn.in.bias": [I],
    "ffn.out.weight": [H, I],
    "ffn.out.bias": [H],
    "ffn.norm.weight": [H],
    "ffn.norm.bias": [H],
  };
  const layout = family === "distilbert" ? DISTILBERT_LAYER : BERT_LAYER;
  const layers = family === "distilbert" ? "transformer.layer" : "encoder.layer";
  for (let i = 0; i < config.numLayers; i++) {
    for (const [role, inner] of Object.entries(layout) as [ParamRole, string][]) {
      add(role, `${prefix}.${layers}.${i}.${inner}`, layerShapes[role]!, "encoder", i);
    }
  }

  if (head === "sequence") {
    add("head.dense.weight", `${SEQUENCE_DENSE[family]}.weight`, [H, H], "head");
    add("head.dense.bias", `${SEQUENCE_DENSE[family]}.bias`, [H], "head");
  }
  if (head !== "none") {
    const classifier = head === "sequence" ? SEQUENCE_CLASSIFIER[family] : "classifier";
    add("head.classifier.weight", `${classifier}.weight`, [L, H], "head");
    add("head.classifier.bias", `${classifier}.bias`, [L], "head");
  }
  return specs;
}

/** The spec for a role (and layer, for per-layer roles); throws if the layout has none. */
export function paramFor(specs: readonly ParamSpec[], role: ParamRole, layer?: number): ParamSpec {
  const spec = specs.find((s) => s.role === role && s.layer === layer);
  if (!spec) throw new Error(`no parameter with role ${role}${layer === undefined ? "" : ` in layer ${layer}`}`);
  return spec;
}

/** Whether AdamW should decay this parameter: transformers' recipe skips biases and LayerNorm weights. */
export function decaysWeight(spec: ParamSpec): boolean {
  return spec.init === "normal";
}

/** The state_dict name with the old TF-era LayerNorm names (gamma, beta) replaced. */
export function modernName(name: string): string {
  return name.replace(/\.gamma$/, ".weight").replace(/\.beta$/, ".bias");
}
