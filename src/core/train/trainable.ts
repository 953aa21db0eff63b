// Which parameters a training mode updates. Trainable ones become graph inputs (with AdamW
// moments); the others are frozen and baked into the step graph as initializers.

import type { ParamSpec } from "../model/names.ts";
import { decaysWeight } from "../model/names.ts";

export type TrainMode =
  /** Every parameter. */
  | { kind: "full" }
  /** The LoRA factors and the classification head; the base encoder is frozen. */
  | { kind: "lora" }
  /** Everything but the embeddings (when `embeddings`) and encoder layers 0 … layers-1. */
  | { kind: "freeze"; embeddings: boolean; layers: number };

function isLora(spec: ParamSpec): boolean {
  return "adapter" in spec;
}

export function isTrainable(spec: ParamSpec, mode: TrainMode): boolean {
  switch (mode.kind) {
    case "full":
      return !isLora(spec);
    case "lora":
      return isLora(spec) || spec.part === "head";
    case "freeze":
      if (isLora(spec)) return false;
      if (spec.role.startsWith("embeddings.")) return !mode.embeddings;
      return spec.layer === undefined || spec.layer >= mode.layers;
  }
}

/** The specs the mode trains, in the model's order. */
export function trainableSpecs(specs: readonly ParamSpec[], mode: TrainMode): ParamSpec[] {
  return specs.filter((s) => isTrainable(s, mode));
}

/**
 * Whether AdamW decays this parameter: not biases nor LayerNorm (decaysWeight). LoRA's B
 * starts at zero, which decaysWeight would read as a bias; transformers' Trainer decays
 * both LoRA factors (they are `weight`s of Linear modules), so we do too.
 */
export function appliesWeightDecay(spec: ParamSpec): boolean {
  return isLora(spec) || decaysWeight(spec);
}
