// What the step graph needs from a model: its parameters and a forward pass that reads
// each parameter through a ParamSource (so the step graph decides what is a trainable
// graph input and what a frozen initializer) and returns logits. encoderModel() is the
// token classifier (src/core/model/encoder.ts); task-models.ts has the document, attribute
// and relation classifiers, whose Objective brings their own batch inputs and loss; tests
// may hand-build smaller ones.

import type { EncoderConfig } from "../model/config.ts";
import { type DropoutOptions, type EncoderInputs, type ParamSource, buildTokenClassifier, listModelParams } from "../model/encoder.ts";
import type { LoraConfig } from "../model/lora.ts";
import type { ParamSpec } from "../model/names.ts";
import type { Graph, Shape, Value } from "../onnx/index.ts";

export type { DropoutOptions, ParamSource };

/** The encoder's inputs, and an objective's own batch inputs by name (absent for token classification). */
export type ModelInputs = EncoderInputs & { task?: Readonly<Record<string, Value>> };

/** One batch input of an objective. */
export interface TaskInput {
  name: string;
  dtype: "int64" | "float32";
  /** Its shape for a batch of `rows` × `length` tokens; a string dim ("E") varies from batch to batch. */
  shape: (rows: number, length: number) => Shape;
  /** Read only by the loss, so left out of prediction graphs. */
  label?: boolean;
}

/**
 * What a model trains on other than per-token cross-entropy (labels and label_weights):
 * its batch inputs, which the forward pass may read too (span pooling weights), and its loss
 * on the forward pass's logits.
 */
export interface Objective {
  inputs: readonly TaskInput[];
  loss(logits: Value, inputs: Readonly<Record<string, Value>>): Value;
}

export interface StepModel {
  config: EncoderConfig;
  /** Every parameter the forward pass reads: encoder, head, and LoRA factors when lora is set. */
  specs: readonly ParamSpec[];
  lora?: LoraConfig;
  /** Absent: token classification, trained on labels and label_weights (B, T). */
  objective?: Objective;
  /** Logits, token logits (B, T, L) without an objective; dropout absent at inference. */
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
