// LoRA (Hu et al., 2021) on the encoder's Linear layers: y = x Wᵀ + b + (alpha/rank) · (x Aᵀ) Bᵀ
// with A (rank, in) and B (out, rank), the layout PEFT uses, so a trained adapter maps 1:1
// onto PEFT's files. A starts as PEFT's kaiming-uniform, B at zero, so a fresh adapter
// leaves the model unchanged.
//
// Our names are `<linear>.lora_A` / `<linear>.lora_B`, where <linear> is the Hugging Face
// module name (`bert.encoder.layer.0.attention.self.query`). PEFT's adapter_model.safetensors
// spells the same tensor `base_model.model.<linear>.lora_A.weight` (see toPeftName).

import { ShapeError } from "../errors.ts";
import { add, linear, mul, type Value } from "../onnx/index.ts";
import type { EncoderConfig } from "./config.ts";
import { listParams, type ParamRole, type ParamSpec } from "./names.ts";
import { seededRandom } from "./random.ts";
import type { Weight } from "./weights.ts";

/** The Linear layers LoRA can adapt, by what they do (names differ per family). */
export type LoraTarget = "query" | "key" | "value" | "attention_output" | "intermediate" | "output";

export const LORA_TARGETS: readonly LoraTarget[] = ["query", "key", "value", "attention_output", "intermediate", "output"];

export interface LoraConfig {
  rank: number;
  alpha: number;
  targets: LoraTarget[];
}

/** A LoRA parameter. `role` is the role of the weight it adapts; `adapter` says which factor it is. */
export interface LoraParamSpec extends ParamSpec {
  adapter: "lora_A" | "lora_B";
  target: LoraTarget;
  /** The state_dict name of the adapted weight, e.g. `bert.encoder.layer.0.attention.self.query.weight`. */
  base: string;
}

/** An encoder Linear layer by parameter role, without `.weight`/`.bias`. */
export type LinearRole = "attention.query" | "attention.key" | "attention.value" | "attention.output" | "ffn.in" | "ffn.out";

/** The Linear layer of each target. */
export const LORA_TARGET_ROLE: Record<LoraTarget, LinearRole> = {
  query: "attention.query",
  key: "attention.key",
  value: "attention.value",
  attention_output: "attention.output",
  intermediate: "ffn.in",
  output: "ffn.out",
};

/** alpha / rank, the factor on B A. */
export function loraScale(lora: LoraConfig): number {
  return lora.alpha / lora.rank;
}

function checkLora(lora: LoraConfig): void {
  if (!Number.isInteger(lora.rank) || lora.rank < 1) throw new ShapeError(`LoRA: expected an integer rank ≥ 1, got ${lora.rank}`);
  if (!(lora.alpha > 0)) throw new ShapeError(`LoRA: expected alpha > 0, got ${lora.alpha}`);
  for (const t of lora.targets) {
    if (!LORA_TARGETS.includes(t)) throw new ShapeError(`LoRA: expected targets among ${LORA_TARGETS.join(", ")}, got ${t}`);
  }
}

/**
 * Every LoRA parameter, layer by layer, target by target, A before B:
 * A (rank, in) with init "normal" (initLoraWeights draws PEFT's kaiming-uniform), B (out, rank) zeros.
 */
export function listLoraParams(config: EncoderConfig, lora: LoraConfig): LoraParamSpec[] {
  checkLora(lora);
  const byRole = new Map(listParams(config, "none").map((s) => [`${s.role}#${s.layer ?? ""}`, s]));
  const specs: LoraParamSpec[] = [];
  for (let layer = 0; layer < config.numLayers; layer++) {
    for (const target of LORA_TARGETS) {
      if (!lora.targets.includes(target)) continue;
      const role = `${LORA_TARGET_ROLE[target]}.weight` as ParamRole;
      const base = byRole.get(`${role}#${layer}`)!;
      const [out, inp] = base.shape;
      const module = base.name.replace(/\.weight$/, "");
      const common = { role, layer, part: "encoder" as const, target, base: base.name };
      specs.push({ ...common, name: `${module}.lora_A`, shape: [lora.rank, inp], init: "normal", adapter: "lora_A" });
      specs.push({ ...common, name: `${module}.lora_B`, shape: [out, lora.rank], init: "zeros", adapter: "lora_B" });
    }
  }
  return specs;
}

/**
 * A fresh adapter as PEFT makes one: A ~ kaiming_uniform(a=√5), i.e. U(-1/√in, 1/√in); B = 0.
 */
export function initLoraWeights(config: EncoderConfig, lora: LoraConfig, seed: number): Map<string, Weight> {
  const random = seededRandom(seed);
  const weights = new Map<string, Weight>();
  for (const spec of listLoraParams(config, lora)) {
    const data = new Float32Array(spec.shape[0] * spec.shape[1]);
    if (spec.adapter === "lora_A") {
      const bound = 1 / Math.sqrt(spec.shape[1]);
      for (let i = 0; i < data.length; i++) data[i] = (2 * random.uniform() - 1) * bound;
    }
    weights.set(spec.name, { shape: [...spec.shape], data });
  }
  return weights;
}

/** The LoRA term for one Linear: (alpha/rank) · (x Aᵀ) Bᵀ. x (..., in), A (rank, in), B (out, rank). */
export function loraDelta(x: Value, a: Value, b: Value, lora: LoraConfig): Value {
  const down = linear(x, a, undefined, "out_in"); // (..., rank)
  const up = linear(down, b, undefined, "out_in"); // (..., out)
  return mul(up, loraScale(lora));
}

/** y + the LoRA term, when this Linear is adapted. */
export function withLora(y: Value, x: Value, a: Value, b: Value, lora: LoraConfig): Value {
  return add(y, loraDelta(x, a, b, lora));
}

type WeightLike = Float32Array | Weight;

function dataOf(w: WeightLike): Float32Array {
  return w instanceof Float32Array ? w : w.data;
}

/**
 * The weights with each adapted Linear merged: W' = W + (alpha/rank) · B A, W (out, in) as
 * PyTorch stores it. Entries are copied, never changed in place; others are shared.
 */
export function mergeLora<W extends WeightLike>(
  weights: ReadonlyMap<string, W>,
  config: EncoderConfig,
  lora: LoraConfig,
  loraWeights: ReadonlyMap<string, WeightLike>,
): Map<string, W> {
  const merged = new Map(weights);
  const scale = loraScale(lora);
  const specs = listLoraParams(config, lora);
  for (let i = 0; i < specs.length; i += 2) {
    const [specA, specB] = [specs[i], specs[i + 1]];
    const base = weights.get(specA.base as never);
    const a = loraWeights.get(specA.name);
    const b = loraWeights.get(specB.name);
    if (!base || !a || !b) {
      const lacking = [!base && specA.base, !a && specA.name, !b && specB.name].filter(Boolean).join(", ");
      throw new ShapeError(`mergeLora: expected weights for ${lacking}, got none`);
    }
    const [out, inp] = [specB.shape[0], specA.shape[1]];
    const r = lora.rank;
    const [dA, dB] = [dataOf(a), dataOf(b)];
    if (dataOf(base).length !== out * inp || dA.length !== r * inp || dB.length !== out * r) {
      throw new ShapeError(`mergeLora: expected ${specA.base} (${out}, ${inp}), A (${r}, ${inp}), B (${out}, ${r}), got other sizes`);
    }
    const w = Float32Array.from(dataOf(base)); // (out, in)
    for (let o = 0; o < out; o++) {
      for (let k = 0; k < r; k++) {
        const bok = scale * dB[o * r + k];
        if (bok === 0) continue;
        for (let j = 0; j < inp; j++) w[o * inp + j] += bok * dA[k * inp + j];
      }
    }
    merged.set(specA.base, (base instanceof Float32Array ? w : { shape: [out, inp], data: w }) as W);
  }
  return merged;
}

/** Our LoRA name → PEFT's adapter_model.safetensors key. */
export function toPeftName(name: string): string {
  return `base_model.model.${name}.weight`;
}

/** PEFT's key (saved, or in-memory with an adapter name such as `.default`) → our LoRA name. */
export function fromPeftName(key: string): string {
  return key.replace(/^base_model\.model\./, "").replace(/\.(lora_[AB])(\.[^.]+)?\.weight$/, ".$1");
}

/**
 * PEFT's `target_modules` for adapter_config.json: the full module names. PEFT matches an
 * entry by equality or by suffix, so suffixes such as `output.dense` would also catch
 * `attention.output.dense`; full names never do.
 */
export function peftTargetModules(config: EncoderConfig, lora: LoraConfig): string[] {
  return listLoraParams(config, lora)
    .filter((spec) => spec.adapter === "lora_A")
    .map((spec) => spec.base.replace(/\.weight$/, ""));
}
