// The encoder as an ONNX graph: BERT, RoBERTa (XLM-R, CamemBERT) and DistilBERT, with the
// token- and sequence-classification heads, as transformers computes them. Parameters come
// from the caller (ParamSource), so one builder serves the training step (trainable ones
// as graph inputs, frozen ones as initializers) and the exported inference model (all
// initializers). Linear weights stay in PyTorch's (out, in) layout so names and shapes map
// 1:1 onto model.safetensors.
//
// Shapes: B batch, T tokens, H hidden, nh heads, hd head size, I intermediate, L labels.

import { ShapeError } from "../errors.ts";
import {
  type DType,
  type Graph,
  type Value,
  add,
  dropout as dropoutOp,
  equal,
  gather,
  gelu,
  geluTanh,
  layerNorm,
  linear,
  matmul,
  mul,
  relu,
  reshape,
  slice,
  softmax,
  transpose,
  transposeLast2,
  unsqueeze,
  where,
} from "../onnx/index.ts";
import type { EncoderConfig, HeadKind } from "./config.ts";
import { sequenceClassificationHead, tokenClassificationHead } from "./heads.ts";
import { type LinearRole, type LoraConfig, type LoraParamSpec, listLoraParams, withLora } from "./lora.ts";
import { type HeadChoice, type ParamRole, type ParamSpec, listParams } from "./names.ts";

export interface EncoderInputs {
  /** int64 (B, T) */
  inputIds: Value;
  /** int64 (B, T), 1 = real token, 0 = padding */
  attentionMask: Value;
  /** int64 (B, T), where the model has token types; row 0 of the table is used when absent. */
  tokenTypeIds?: Value;
  /** int64 (B, T) or (1, T): see positionIds(). */
  positionIds: Value;
}

/** The caller decides, per parameter, whether it is a trainable graph input or a frozen initializer. */
export type ParamSource = (spec: ParamSpec) => Value;

export interface DropoutOptions {
  hiddenProb: number;
  attentionProb: number;
  /** Before the classifier; hiddenProb when absent. dropoutFromConfig fills it as transformers does. */
  classifierProb?: number;
  /** Each dropout site gets its own seed derived from this one. */
  seed: number;
}

export interface EncoderOptions {
  /** Absent: inference, no dropout. */
  dropout?: DropoutOptions;
  lora?: LoraConfig;
  /** float64 for gradient checks (needs hiddenAct "gelu_tanh" or "relu": Erf has no float64 kernel). */
  dtype?: "float32" | "float64";
}

/** The dropout rates transformers trains this model and head with. */
export function dropoutFromConfig(config: EncoderConfig, seed: number, head: HeadKind = "token"): DropoutOptions {
  return {
    hiddenProb: config.hiddenDropout,
    attentionProb: config.attentionDropout,
    classifierProb: head === "token" ? config.classifierDropout : config.sequenceClassifierDropout,
    seed,
  };
}

/** Every parameter the classifier graph asks its ParamSource for: the model's, then LoRA's. */
export function listModelParams(config: EncoderConfig, head: HeadChoice, lora?: LoraConfig): ParamSpec[] {
  return [...listParams(config, head), ...(lora ? listLoraParams(config, lora) : [])];
}

/**
 * What the layer code reads parameters and dropout from. Each parameter is asked of the
 * ParamSource once (a source that makes graph inputs could not name one twice).
 */
export class EncoderContext {
  readonly dtype: DType;
  private readonly byRole = new Map<string, ParamSpec>();
  /** LoRA factors by `${role of the adapted weight}#${layer}#${lora_A | lora_B}`. */
  private readonly loraFactors = new Map<string, LoraParamSpec>();
  private readonly values = new Map<string, Value>();
  private site = 0;

  constructor(
    readonly g: Graph,
    readonly config: EncoderConfig,
    head: HeadChoice,
    private readonly source: ParamSource,
    readonly options: EncoderOptions,
  ) {
    this.dtype = options.dtype ?? "float32";
    for (const spec of listParams(config, head)) this.byRole.set(roleKey(spec.role, spec.layer), spec);
    for (const spec of options.lora ? listLoraParams(config, options.lora) : []) {
      this.loraFactors.set(`${roleKey(spec.role, spec.layer)}#${spec.adapter}`, spec);
    }
  }

  param(role: ParamRole, layer?: number): Value {
    const spec = this.byRole.get(roleKey(role, layer));
    if (!spec) throw new ShapeError(`encoder: expected a parameter with role ${role}${layer === undefined ? "" : ` in layer ${layer}`}, got none`);
    return this.fetch(spec);
  }

  /** Linear layer `role` (e.g. "attention.query") of `layer`, with its LoRA term when adapted. */
  dense(x: Value, role: LinearRole, layer: number): Value {
    const w = this.param(`${role}.weight` as ParamRole, layer); // (out, in)
    const b = this.param(`${role}.bias` as ParamRole, layer); // (out,)
    const y = linear(x, w, b, "out_in"); // (..., out)
    const key = roleKey(`${role}.weight` as ParamRole, layer);
    const [specA, specB] = [this.loraFactors.get(`${key}#lora_A`), this.loraFactors.get(`${key}#lora_B`)];
    if (!this.options.lora || !specA || !specB) return y;
    const a = this.fetch(specA); // (rank, in)
    const bLora = this.fetch(specB); // (out, rank)
    return withLora(y, x, a, bLora, this.options.lora); // (..., out)
  }

  /** Inverted dropout with probability p; the identity at inference. */
  dropout(x: Value, p: number): Value {
    const opts = this.options.dropout;
    if (!opts || p === 0) return x;
    return dropoutOp(x, p, { seed: siteSeed(opts.seed, this.site++) });
  }

  /**
   * The parameter of this spec, checked against its shape. Heads whose parameters are not in
   * listParams (span-heads.ts) ask by spec; the others by role (param).
   */
  fetch(spec: ParamSpec): Value {
    const cached = this.values.get(spec.name);
    if (cached) return cached;
    const v = this.source(spec);
    if (v.dtype !== this.dtype || v.rank !== spec.shape.length || v.shape.some((d, i) => d !== spec.shape[i])) {
      throw new ShapeError(`encoder: expected ${spec.name} as ${this.dtype}(${spec.shape.join(", ")}), got ${v}`);
    }
    this.values.set(spec.name, v);
    return v;
  }
}

function roleKey(role: ParamRole, layer: number | undefined): string {
  return `${role}#${layer ?? ""}`;
}

/**
 * A per-site seed from the run's seed: sites must not share a seed (RandomUniformLike nodes
 * with one seed and one shape draw the same mask). Below 2^24, as the attribute is a float.
 */
function siteSeed(seed: number, site: number): number {
  let h = Math.imul(Math.trunc(seed) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(site + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h ^= h >>> 15;
  return (h >>> 0) % 16777216;
}

/**
 * The additive attention mask: 0 where attended, the dtype's lowest where padded (as
 * transformers adds torch.finfo(dtype).min). Built with Where, not (1 - mask) · lowest,
 * which is NaN in float16, where lowest rounds to -inf and 0 · -inf appears.
 */
export function additiveMask(attentionMask: Value, dtype: DType): Value {
  const g = attentionMask.graph;
  const padded = equal(attentionMask, 0); // (B, T)
  const blocked = where(padded, g.constant(lowestOf(dtype), dtype), 0); // (B, T)
  return unsqueeze(blocked, [1, 2]); // (B, 1, 1, T)
}

/** torch.finfo(float32).min for float32 and float64 (no sum of it with a score overflows); float16's own. */
function lowestOf(dtype: DType): number {
  return dtype === "float16" ? -65504 : -3.4028234663852886e38;
}

function embeddings(ctx: EncoderContext, inputs: EncoderInputs): Value {
  const { config } = ctx;
  const words = gather(ctx.param("embeddings.word"), inputs.inputIds); // (B, T, H)
  const positions = gather(ctx.param("embeddings.position"), inputs.positionIds); // (B, T, H)
  let sum = add(words, positions); // (B, T, H)
  if (config.typeVocabSize > 0) {
    const table = ctx.param("embeddings.tokenType"); // (types, H)
    const types = inputs.tokenTypeIds ? gather(table, inputs.tokenTypeIds) /* (B, T, H) */ : slice(table, [0], [1], [0]); /* (1, H) */
    sum = add(sum, types); // (B, T, H)
  }
  const normed = layerNorm(sum, ctx.param("embeddings.norm.weight"), ctx.param("embeddings.norm.bias"), { epsilon: config.layerNormEps });
  return ctx.dropout(normed, ctx.options.dropout?.hiddenProb ?? 0); // (B, T, H)
}

function selfAttention(ctx: EncoderContext, x: Value, mask: Value, layer: number): Value {
  const { numHeads: nh, headSize: hd, hiddenSize: H } = ctx.config;
  const [B, T] = x.shape;
  const heads = (y: Value) => transpose(reshape(y, [B, T, nh, hd]), [0, 2, 1, 3]); // (B, nh, T, hd)
  const q = heads(ctx.dense(x, "attention.query", layer)); // (B, nh, T, hd)
  const k = heads(ctx.dense(x, "attention.key", layer)); // (B, nh, T, hd)
  const v = heads(ctx.dense(x, "attention.value", layer)); // (B, nh, T, hd)
  const scores = add(mul(matmul(q, transposeLast2(k)), 1 / Math.sqrt(hd)), mask); // (B, nh, T, T)
  const probs = ctx.dropout(softmax(scores, -1), ctx.options.dropout?.attentionProb ?? 0); // (B, nh, T, T)
  const context = reshape(transpose(matmul(probs, v), [0, 2, 1, 3]), [B, T, H]); // (B, T, H)
  return ctx.dense(context, "attention.output", layer); // (B, T, H)
}

function activation(ctx: EncoderContext, x: Value): Value {
  switch (ctx.config.hiddenAct) {
    case "gelu":
      if (ctx.dtype === "float64") {
        throw new ShapeError("encoder: GELU (erf) has no float64 kernel in onnxruntime-web; build float64 graphs from a gelu_tanh or relu config");
      }
      return gelu(x);
    case "gelu_tanh":
      return geluTanh(x);
    case "relu":
      return relu(x);
  }
}

/** One post-LN transformer layer. DistilBERT has no dropout after the attention output. */
function encoderLayer(ctx: EncoderContext, x: Value, mask: Value, layer: number): Value {
  const { config } = ctx;
  const hiddenProb = ctx.options.dropout?.hiddenProb ?? 0;
  const eps = { epsilon: config.layerNormEps };
  const attended = selfAttention(ctx, x, mask, layer); // (B, T, H)
  const a = config.family === "distilbert" ? attended : ctx.dropout(attended, hiddenProb); // (B, T, H)
  const h = layerNorm(add(a, x), ctx.param("attention.norm.weight", layer), ctx.param("attention.norm.bias", layer), eps); // (B, T, H)
  const inner = activation(ctx, ctx.dense(h, "ffn.in", layer)); // (B, T, I)
  const out = ctx.dropout(ctx.dense(inner, "ffn.out", layer), hiddenProb); // (B, T, H)
  return layerNorm(add(out, h), ctx.param("ffn.norm.weight", layer), ctx.param("ffn.norm.bias", layer), eps); // (B, T, H)
}

/** The encoder's last hidden state, (B, T, H), within a context (heads add to the same one). */
export function encode(ctx: EncoderContext, inputs: EncoderInputs): Value {
  const mask = additiveMask(inputs.attentionMask, ctx.dtype); // (B, 1, 1, T)
  let x = embeddings(ctx, inputs); // (B, T, H)
  for (let layer = 0; layer < ctx.config.numLayers; layer++) x = encoderLayer(ctx, x, mask, layer); // (B, T, H)
  return x;
}

/** The bare encoder: last hidden state (B, T, H). */
export function buildEncoder(g: Graph, config: EncoderConfig, params: ParamSource, inputs: EncoderInputs, options: EncoderOptions = {}): Value {
  return encode(new EncoderContext(g, config, "none", params, options), inputs);
}

/** *ForTokenClassification: logits (B, T, L) and the encoder's hidden state (B, T, H). */
export function buildTokenClassifier(
  g: Graph,
  config: EncoderConfig,
  params: ParamSource,
  inputs: EncoderInputs,
  options: EncoderOptions = {},
): { logits: Value; hidden: Value } {
  const ctx = new EncoderContext(g, config, "token", params, options);
  const hidden = encode(ctx, inputs); // (B, T, H)
  return { logits: tokenClassificationHead(ctx, hidden), hidden };
}

/** *ForSequenceClassification: logits (B, L) from the first token, with each family's head. */
export function buildSequenceClassifier(
  g: Graph,
  config: EncoderConfig,
  params: ParamSource,
  inputs: EncoderInputs,
  options: EncoderOptions = {},
): { logits: Value; hidden: Value } {
  const ctx = new EncoderContext(g, config, "sequence", params, options);
  const hidden = encode(ctx, inputs); // (B, T, H)
  return { logits: sequenceClassificationHead(ctx, hidden), hidden };
}

/**
 * Position ids as transformers makes them, row-major (batch, length): BERT and DistilBERT
 * count 0..T-1 whatever the padding; RoBERTa-family models count real tokens from
 * padding_idx + 1 and give padding padding_idx (create_position_ids_from_input_ids, which
 * tests input_ids != pad; here the attention mask stands for that test).
 */
export function positionIds(
  config: EncoderConfig,
  attentionMask: ArrayLike<number | bigint>,
  batch: number,
  length: number,
): BigInt64Array {
  if (attentionMask.length !== batch * length) {
    throw new ShapeError(`positionIds: expected an attention mask of ${batch}×${length} values, got ${attentionMask.length}`);
  }
  const ids = new BigInt64Array(batch * length);
  for (let b = 0; b < batch; b++) {
    let count = 0;
    for (let t = 0; t < length; t++) {
      const i = b * length + t;
      if (config.family !== "roberta") ids[i] = BigInt(t);
      else {
        const real = Number(attentionMask[i]) !== 0;
        if (real) count++;
        ids[i] = BigInt(real ? count + config.padTokenId : config.padTokenId);
      }
    }
  }
  return ids;
}
