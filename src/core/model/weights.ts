// Match a checkpoint's tensors to the parameters a model needs, the way transformers'
// `from_pretrained` does: the base-model prefix may be absent (saved from BertModel) or the
// checkpoint may hold extra heads (BertForMaskedLM's `cls.predictions.*`), old TF-era
// LayerNorm names (`gamma`, `beta`) are renamed, and a head the checkpoint lacks is reported
// as newly initialised instead of missing.

import { ModelFormatError } from "../errors.ts";
import type { EncoderConfig } from "./config.ts";
import { basePrefix, listParams, modernName, type HeadChoice, type ParamSpec } from "./names.ts";
import type { SeededRandom } from "./random.ts";
import { toFloat32, type TensorToWrite } from "./safetensors.ts";

/** A float32 parameter: row-major data, PyTorch layout (Linear weights are (out, in)). */
export interface Weight {
  shape: number[];
  data: Float32Array;
}

export interface ResolveOptions {
  /** Which head the model has; default "token". */
  head?: HeadChoice;
  /** Ignore the checkpoint's head (new labels): its tensors go to `unused`, the head is newly initialised. */
  reinitialiseHead?: boolean;
}

export interface ResolvedWeights {
  /**
   * Every parameter found, by canonical name; newly initialised ones are absent. Aligned F32
   * data are views on the checkpoint's bytes: copy before updating in place if the file's
   * bytes must stay as they were.
   */
  params: Map<string, Weight>;
  /** All parameters the model has (found or not), in state_dict order. */
  specs: ParamSpec[];
  /** Head parameters the checkpoint does not have: the caller initialises them (see completeWeights). */
  newlyInitialised: string[];
  /** Checkpoint tensors the model does not use (other heads, position_ids buffers, …). */
  unused: string[];
  /** Checkpoint name → canonical name, for tensors found under another name. */
  renamed: Map<string, string>;
}

export function resolveWeights(
  config: EncoderConfig,
  /** A checkpoint's tensors (readSafetensors' Tensor, or any float tensor such as a Weight). */
  tensors: ReadonlyMap<string, TensorToWrite>,
  fileName = "model.safetensors",
  options: ResolveOptions = {},
): ResolvedWeights {
  const specs = listParams(config, options.head ?? "token");
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const prefix = `${basePrefix(config.family)}.`;

  // Canonical name → checkpoint name. An exact name beats an alias of the same parameter.
  const source = new Map<string, string>();
  const unused: string[] = [];
  const aliases: [string, string][] = [];
  for (const name of tensors.keys()) {
    const modern = modernName(name);
    if (modern === name && byName.has(name)) source.set(name, name);
    else if (byName.has(modern)) aliases.push([name, modern]);
    else if (byName.has(prefix + modern)) aliases.push([name, prefix + modern]);
    else unused.push(name);
  }
  const renamed = new Map<string, string>();
  for (const [name, canonical] of aliases) {
    if (source.has(canonical)) unused.push(name);
    else {
      source.set(canonical, name);
      renamed.set(name, canonical);
    }
  }

  if (options.reinitialiseHead) {
    for (const spec of specs) {
      const from = source.get(spec.name);
      if (spec.part === "head" && from !== undefined) {
        source.delete(spec.name);
        renamed.delete(from);
        unused.push(from);
      }
    }
  }

  // A head module (weight + bias) is loaded whole or initialised whole; half of one is a broken file.
  const newlyInitialised: string[] = [];
  const missing: string[] = [];
  const modules = new Map<string, ParamSpec[]>();
  for (const spec of specs) {
    if (spec.part !== "head") continue;
    const module = spec.name.replace(/\.(weight|bias)$/, "");
    modules.set(module, [...(modules.get(module) ?? []), spec]);
  }
  for (const members of modules.values()) {
    const found = members.filter((spec) => source.has(spec.name));
    if (found.length === 0) newlyInitialised.push(...members.map((spec) => spec.name));
    else missing.push(...members.filter((spec) => !source.has(spec.name)).map((spec) => spec.name));
  }
  for (const spec of specs) {
    if (spec.part === "encoder" && !source.has(spec.name)) missing.push(spec.name);
  }
  if (missing.length > 0) {
    const shown = missing.slice(0, 12).join(", ");
    const more = missing.length > 12 ? ` and ${missing.length - 12} more` : "";
    const encoderCount = specs.filter((spec) => spec.part === "encoder").length;
    const encoderMissing = missing.filter((name) => byName.get(name)!.part === "encoder").length;
    const hint =
      encoderMissing === encoderCount
        ? ` — none of the ${config.modelType} parameters were found; is this the weights file of a ${config.modelType} model?`
        : "";
    throw new ModelFormatError(fileName, `${missing.length} tensor(s) missing: ${shown}${more}${hint}`);
  }

  const mismatches: string[] = [];
  const params = new Map<string, Weight>();
  for (const spec of specs) {
    const from = source.get(spec.name);
    if (from === undefined) continue;
    const tensor = tensors.get(from)!;
    if (!sameShape(tensor.shape, spec.shape)) {
      mismatches.push(`'${from}' has shape [${tensor.shape.join(", ")}], expected [${spec.shape.join(", ")}]`);
      continue;
    }
    params.set(spec.name, { shape: [...spec.shape], data: toFloat32(tensor, from, fileName) });
  }
  if (mismatches.length > 0) {
    throw new ModelFormatError(fileName, `shape mismatch with config.json: ${mismatches.join("; ")}`);
  }
  return { params, specs, newlyInitialised, unused, renamed };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A Linear layer as transformers initialises it: weight ~ normal(0, std), bias 0. */
export function initLinear(outFeatures: number, inFeatures: number, random: SeededRandom, std = 0.02): { weight: Weight; bias: Weight } {
  return {
    weight: { shape: [outFeatures, inFeatures], data: random.fillNormal(new Float32Array(outFeatures * inFeatures), 0, std) },
    bias: { shape: [outFeatures], data: new Float32Array(outFeatures) },
  };
}

/** A fresh token-classification head: weight (numLabels, hidden) ~ normal(0, 0.02), bias 0. */
export function initClassifier(numLabels: number, hidden: number, random: SeededRandom, std = 0.02): { weight: Weight; bias: Weight } {
  return initLinear(numLabels, hidden, random, std);
}

/** Fills in the newly initialised parameters (in spec order, so the same seed gives the same head). */
export function completeWeights(resolved: ResolvedWeights, random: SeededRandom, std = 0.02): Map<string, Weight> {
  const params = new Map(resolved.params);
  for (const spec of resolved.specs) {
    if (params.has(spec.name)) continue;
    params.set(spec.name, initialWeight(spec, random, std));
  }
  return params;
}

/** One parameter as transformers' `_init_weights` makes it (LayerNorm 1 and 0, the rest normal). */
export function initialWeight(spec: ParamSpec, random: SeededRandom, std = 0.02): Weight {
  const data = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
  if (spec.init === "normal") random.fillNormal(data, 0, std);
  else if (spec.init === "ones") data.fill(1);
  return { shape: [...spec.shape], data };
}
