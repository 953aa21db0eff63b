// What the step graph needs from a model: its parameters and a forward pass that reads
// each parameter through a ParamSource (so the step graph decides what is a trainable
// graph input and what a frozen initializer) and returns token logits. encoderModel()
// is the real one (src/core/model/encoder.ts); tests may hand-build smaller ones.

import type { EncoderConfig } from "../model/config.ts";
import { type DropoutOptions, type EncoderInputs, type ParamSource, buildTokenClassifier, listModelParams } from "../model/encoder.ts";
import type { LoraConfig } from "../model/lora.ts";
import type { ParamSpec } from "../model/names.ts";
import type { Graph, Value } from "../onnx/index.ts";

export type { DropoutOptions, ParamSource };
export type ModelInputs = EncoderInputs;

export interface StepModel {
  config: EncoderConfig;
  /** Every parameter the forward pass reads: encoder, head, and LoRA factors when lora is set. */
  specs: readonly ParamSpec[];
  lora?: LoraConfig;
  /** Token logits (B, T, L); dropout absent at inference. */
  forward(g: Graph, params: ParamSource, inputs: ModelInputs, dropout?: DropoutOptions): Value;
}

/** A *ForTokenClassification encoder, with LoRA factors on its targets when `lora` is given. */
export function encoderModel(config: EncoderConfig, lora?: LoraConfig): StepModel {
  return {
    config,
    specs: listModelParams(config, "token", lora),
    ...(lora ? { lora } : {}),
    forward: (g, params, inputs, dropout) =>
      buildTokenClassifier(g, config, params, inputs, { ...(dropout ? { dropout } : {}), ...(lora ? { lora } : {}) }).logits,
  };
}
