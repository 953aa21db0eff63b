// A plain-TypeScript float64 forward of BERT, RoBERTa and DistilBERT classifiers, written
// from transformers' modeling code with loops over arrays, to check the ONNX graphs
// against. Also the shared fixtures of the encoder tests: tiny configs, weights that make
// every parameter matter, a padded batch, and runners for graphs.

import { createConfig, type EncoderConfig, type HiddenAct, type ModelType } from "../../../src/core/model/config.ts";
import {
  type EncoderInputs,
  type EncoderOptions,
  type ParamSource,
  buildSequenceClassifier,
  buildTokenClassifier,
  positionIds,
} from "../../../src/core/model/encoder.ts";
import { type ParamSpec, listParams } from "../../../src/core/model/names.ts";
import { seededRandom } from "../../../src/core/model/random.ts";
import { randomEncoderWeights } from "../../../src/core/model/random-init.ts";
import type { Weight } from "../../../src/core/model/weights.ts";
import { Graph, tensor, toModelProto } from "../../../src/core/onnx/index.ts";
import { type HostTensor, createSession } from "../../../src/core/onnx/run.ts";

export const LABELS = ["O", "B-DRUG", "I-DRUG", "B-DOSE", "I-DOSE"];

export function tinyConfig(type: ModelType, hiddenAct?: HiddenAct): EncoderConfig {
  return createConfig(type, {
    vocabSize: 50,
    hiddenSize: 32,
    numLayers: 2,
    numHeads: 4,
    intermediateSize: 64,
    maxPositions: type === "roberta" ? 40 : 32,
    hiddenAct,
    labels: LABELS,
  });
}

/**
 * randomEncoderWeights, made larger and less regular so that attention is far from uniform
 * and every bias and LayerNorm parameter changes the output: matrices std 0.2, biases and
 * LayerNorm shifts N(0, 0.1), LayerNorm scales 1 + N(0, 0.1).
 */
export function testWeights(config: EncoderConfig, seed: number, head: "token" | "sequence" = "token"): Map<string, Weight> {
  const weights = randomEncoderWeights(config, seed, head);
  const random = seededRandom(seed + 1);
  for (const spec of listParams(config, head)) {
    const w = weights.get(spec.name)!;
    for (let i = 0; i < w.data.length; i++) {
      if (spec.init === "normal") w.data[i] *= 10;
      else w.data[i] += random.normal(0, 0.1);
    }
  }
  return weights;
}

export interface Batch {
  batch: number;
  length: number;
  inputIds: number[];
  attentionMask: number[];
  tokenTypeIds?: number[];
  positionIds: number[];
}

/** Two rows, the second padded: lengths 6 and 4 of T = 6. */
export function paddedBatch(config: EncoderConfig, seed = 3): Batch {
  const random = seededRandom(seed);
  const [batch, length] = [2, 6];
  const lengths = [6, 4];
  const inputIds: number[] = [];
  const attentionMask: number[] = [];
  const tokenTypeIds: number[] = [];
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < length; t++) {
      const real = t < lengths[b];
      let id = config.padTokenId;
      while (real && id === config.padTokenId) id = Math.floor(random.uniform() * config.vocabSize);
      inputIds.push(id);
      attentionMask.push(real ? 1 : 0);
      tokenTypeIds.push(real && t >= 3 ? 1 : 0);
    }
  }
  const positions = Array.from(positionIds(config, attentionMask, batch, length), Number);
  return {
    batch,
    length,
    inputIds,
    attentionMask,
    tokenTypeIds: config.family === "bert" ? tokenTypeIds : undefined,
    positionIds: positions,
  };
}

// ---- the reference forward --------------------------------------------------------------

type Params = (name: string) => Float64Array;

/** x (n, in) · Wᵀ (W is (out, in)) + b → (n, out). */
function linear(x: Float64Array, n: number, w: Float64Array, b: Float64Array | undefined, out: number): Float64Array {
  const inp = x.length / n;
  const y = new Float64Array(n * out);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < out; o++) {
      let s = b ? b[o] : 0;
      for (let k = 0; k < inp; k++) s += x[r * inp + k] * w[o * inp + k];
      y[r * out + o] = s;
    }
  }
  return y;
}

function layerNorm(x: Float64Array, n: number, scale: Float64Array, bias: Float64Array, eps: number): Float64Array {
  const d = x.length / n;
  const y = new Float64Array(x.length);
  for (let r = 0; r < n; r++) {
    let mean = 0;
    for (let k = 0; k < d; k++) mean += x[r * d + k];
    mean /= d;
    let variance = 0;
    for (let k = 0; k < d; k++) variance += (x[r * d + k] - mean) ** 2;
    variance /= d;
    const inv = 1 / Math.sqrt(variance + eps);
    for (let k = 0; k < d; k++) y[r * d + k] = (x[r * d + k] - mean) * inv * scale[k] + bias[k];
  }
  return y;
}

/** erf to ~1e-15: Taylor series near 0, Lentz's continued fraction for erfc further out. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))
  let f = ax;
  let c = ax;
  let d = 0;
  for (let k = 1; k < 300; k++) {
    const a = k / 2;
    d = ax + a * d;
    d = 1 / d;
    c = ax + a / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

function act(kind: HiddenAct, x: number): number {
  if (kind === "relu") return Math.max(0, x);
  if (kind === "gelu") return 0.5 * x * (1 + erf(x / Math.SQRT2));
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

interface Names {
  word: string;
  position: string;
  tokenType?: string;
  embNorm: string;
  layer: (i: number) => { q: string; k: string; v: string; o: string; norm1: string; ffnIn: string; ffnOut: string; norm2: string };
}

function namesOf(config: EncoderConfig): Names {
  const p = config.family;
  if (p === "distilbert") {
    return {
      word: "distilbert.embeddings.word_embeddings.weight",
      position: "distilbert.embeddings.position_embeddings.weight",
      embNorm: "distilbert.embeddings.LayerNorm",
      layer: (i) => {
        const l = `distilbert.transformer.layer.${i}`;
        return {
          q: `${l}.attention.q_lin`,
          k: `${l}.attention.k_lin`,
          v: `${l}.attention.v_lin`,
          o: `${l}.attention.out_lin`,
          norm1: `${l}.sa_layer_norm`,
          ffnIn: `${l}.ffn.lin1`,
          ffnOut: `${l}.ffn.lin2`,
          norm2: `${l}.output_layer_norm`,
        };
      },
    };
  }
  return {
    word: `${p}.embeddings.word_embeddings.weight`,
    position: `${p}.embeddings.position_embeddings.weight`,
    tokenType: `${p}.embeddings.token_type_embeddings.weight`,
    embNorm: `${p}.embeddings.LayerNorm`,
    layer: (i) => {
      const l = `${p}.encoder.layer.${i}`;
      return {
        q: `${l}.attention.self.query`,
        k: `${l}.attention.self.key`,
        v: `${l}.attention.self.value`,
        o: `${l}.attention.output.dense`,
        norm1: `${l}.attention.output.LayerNorm`,
        ffnIn: `${l}.intermediate.dense`,
        ffnOut: `${l}.output.dense`,
        norm2: `${l}.output.LayerNorm`,
      };
    },
  };
}

/** The last hidden state, (B·T, H) row-major. */
export function referenceEncoder(config: EncoderConfig, param: Params, batch: Batch): Float64Array {
  const { hiddenSize: H, numHeads: nh, headSize: hd, intermediateSize: I, layerNormEps: eps } = config;
  const { batch: B, length: T } = batch;
  const n = B * T;
  const names = namesOf(config);

  // Embeddings: word + position (+ token type) → LayerNorm.
  const word = param(names.word);
  const pos = param(names.position);
  const types = names.tokenType ? param(names.tokenType) : undefined;
  let x: Float64Array = new Float64Array(n * H);
  for (let r = 0; r < n; r++) {
    const [id, p, tt] = [batch.inputIds[r], batch.positionIds[r], batch.tokenTypeIds?.[r] ?? 0];
    for (let k = 0; k < H; k++) x[r * H + k] = word[id * H + k] + pos[p * H + k] + (types ? types[tt * H + k] : 0);
  }
  x = layerNorm(x, n, param(`${names.embNorm}.weight`), param(`${names.embNorm}.bias`), eps);

  for (let layer = 0; layer < config.numLayers; layer++) {
    const m = names.layer(layer);
    const dense = (input: Float64Array, name: string, out: number) => linear(input, n, param(`${name}.weight`), param(`${name}.bias`), out);
    const q = dense(x, m.q, H);
    const k = dense(x, m.k, H);
    const v = dense(x, m.v, H);
    const context = new Float64Array(n * H);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < nh; h++) {
        for (let i = 0; i < T; i++) {
          // Softmax over the keys that are real tokens: padding gets exactly zero weight.
          const scores: number[] = [];
          for (let j = 0; j < T; j++) {
            if (batch.attentionMask[b * T + j] === 0) {
              scores.push(-Infinity);
              continue;
            }
            let s = 0;
            for (let d = 0; d < hd; d++) s += q[(b * T + i) * H + h * hd + d] * k[(b * T + j) * H + h * hd + d];
            scores.push(s / Math.sqrt(hd));
          }
          const top = Math.max(...scores);
          const e = scores.map((s) => Math.exp(s - top));
          const z = e.reduce((a, c) => a + c, 0);
          for (let d = 0; d < hd; d++) {
            let s = 0;
            for (let j = 0; j < T; j++) s += (e[j] / z) * v[(b * T + j) * H + h * hd + d];
            context[(b * T + i) * H + h * hd + d] = s;
          }
        }
      }
    }
    const attended = dense(context, m.o, H);
    const h1 = layerNorm(attended.map((a, i) => a + x[i]), n, param(`${m.norm1}.weight`), param(`${m.norm1}.bias`), eps);
    const inner = dense(h1, m.ffnIn, I).map((a) => act(config.hiddenAct, a));
    const out = dense(inner, m.ffnOut, H);
    x = layerNorm(out.map((a, i) => a + h1[i]), n, param(`${m.norm2}.weight`), param(`${m.norm2}.bias`), eps);
  }
  return x;
}

/** Logits: (B·T, L) for "token", (B, L) for "sequence". */
export function referenceClassifier(config: EncoderConfig, weights: Map<string, Weight>, batch: Batch, head: "token" | "sequence"): Float64Array {
  const param: Params = (name) => {
    const w = weights.get(name);
    if (!w) throw new Error(`reference: no weight ${name}`);
    return Float64Array.from(w.data);
  };
  const { hiddenSize: H, numLabels: L } = config;
  const hidden = referenceEncoder(config, param, batch);
  const n = batch.batch * batch.length;
  if (head === "token") return linear(hidden, n, param("classifier.weight"), param("classifier.bias"), L);

  const first = new Float64Array(batch.batch * H);
  for (let b = 0; b < batch.batch; b++) first.set(hidden.subarray(b * batch.length * H, (b * batch.length + 1) * H), b * H);
  const B = batch.batch;
  switch (config.family) {
    case "bert": {
      const pooled = linear(first, B, param("bert.pooler.dense.weight"), param("bert.pooler.dense.bias"), H).map(Math.tanh);
      return linear(pooled, B, param("classifier.weight"), param("classifier.bias"), L);
    }
    case "roberta": {
      const h = linear(first, B, param("classifier.dense.weight"), param("classifier.dense.bias"), H).map(Math.tanh);
      return linear(h, B, param("classifier.out_proj.weight"), param("classifier.out_proj.bias"), L);
    }
    case "distilbert": {
      const h = linear(first, B, param("pre_classifier.weight"), param("pre_classifier.bias"), H).map((a) => Math.max(0, a));
      return linear(h, B, param("classifier.weight"), param("classifier.bias"), L);
    }
  }
}

// ---- running graphs ---------------------------------------------------------------------

/** Graph inputs for a batch: int64 (B, T) with symbolic dims. */
export function batchInputs(g: Graph, config: EncoderConfig): EncoderInputs {
  const dims = ["B", "T"];
  return {
    inputIds: g.input("input_ids", "int64", dims),
    attentionMask: g.input("attention_mask", "int64", dims),
    tokenTypeIds: config.family === "bert" ? g.input("token_type_ids", "int64", dims) : undefined,
    positionIds: g.input("position_ids", "int64", dims),
  };
}

export function batchFeeds(batch: Batch): Record<string, HostTensor> {
  const int64 = (values: number[]): HostTensor => ({ dtype: "int64", dims: [batch.batch, batch.length], data: BigInt64Array.from(values.map(BigInt)) });
  const feeds: Record<string, HostTensor> = {
    input_ids: int64(batch.inputIds),
    attention_mask: int64(batch.attentionMask),
    position_ids: int64(batch.positionIds),
  };
  if (batch.tokenTypeIds) feeds.token_type_ids = int64(batch.tokenTypeIds);
  return feeds;
}

/** Every parameter as a float32 initializer (LoRA ones too, from `extra`). */
export function initializerSource(g: Graph, weights: ReadonlyMap<string, Weight>, extra?: ReadonlyMap<string, Weight>): ParamSource {
  return (spec: ParamSpec) => {
    const w = weights.get(spec.name) ?? extra?.get(spec.name);
    if (!w) throw new Error(`no weight ${spec.name}`);
    return g.initializer(spec.name, tensor("float32", spec.shape, w.data));
  };
}

/** Builds the float32 classifier with all weights as initializers; returns the model bytes. */
export function classifierModel(
  config: EncoderConfig,
  weights: ReadonlyMap<string, Weight>,
  head: "token" | "sequence",
  options: EncoderOptions = {},
  loraWeights?: ReadonlyMap<string, Weight>,
): Uint8Array {
  const g = new Graph("classifier");
  const inputs = batchInputs(g, config);
  const build = head === "token" ? buildTokenClassifier : buildSequenceClassifier;
  const { logits } = build(g, config, initializerSource(g, weights, loraWeights), inputs, options);
  g.output(logits, "logits");
  return toModelProto(g);
}

export async function runLogits(model: Uint8Array, feeds: Record<string, HostTensor>): Promise<Float32Array> {
  const session = await createSession(model);
  try {
    return (await session.run(feeds)).logits.data as Float32Array;
  } finally {
    await session.release();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
