// One training step as one ONNX graph:
//
//   batch + trainable params + AdamW moments + step + lr + max_grad_norm
//     ──▶ loss, grad_norm, updated params, updated moments
//
// forward (the model), softmax cross-entropy (ignore -100, per-token weights), reverse-mode
// gradients, global-norm clipping and AdamW with decoupled weight decay, all in the graph.
// Frozen parameters are initializers. Every state input `X` has the output `X.next`, so the
// trainer feeds a step's outputs back as the next step's inputs unchanged (on WebGPU they
// never leave the GPU).
//
// Dropout: the model's RandomUniformLike nodes take the seed as an attribute, so a session
// replays the same mask sequence each time it is created, and each run draws the next masks.
// The trainer bakes seed = dropoutSeed(runSeed, length, segmentStart) into each bucket's
// graph and starts a new segment (new sessions) at every checkpoint, so a run resumed from
// a checkpoint draws exactly the masks the uninterrupted run drew (see trainer.ts).

import type { ParamSpec } from "../model/names.ts";
import {
  type Value,
  Graph,
  add,
  div,
  exp,
  gradients,
  min,
  mul,
  reduceSum,
  softmaxCrossEntropy,
  sqrt,
  sub,
  tensor,
  toModelProto,
} from "../onnx/index.ts";
import type { DropoutOptions, ModelInputs, StepModel } from "./model.ts";
import { appliesWeightDecay } from "./trainable.ts";

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
}

/** transformers' Trainer defaults (adamw_torch), with weight decay 0.01 as NER recipes use. */
export const DEFAULT_ADAMW: AdamWOptions = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 };

export interface StepGraphOptions {
  model: StepModel;
  /** Rows and tokens of the batch: static, one graph per length bucket. */
  batch: number;
  length: number;
  /** Parameters updated by the step (graph inputs); every other spec of the model is frozen. */
  trainable: readonly ParamSpec[];
  /** Data of the frozen parameters, by name (baked in as initializers). */
  frozen: ReadonlyMap<string, Float32Array>;
  adamw?: AdamWOptions;
  dropout?: DropoutOptions;
  /** Also output each raw (unclipped) gradient as `grad.<name>` (tests, diagnostics). */
  emitGradients?: boolean;
}

/** (B, T) int64, except position_ids (1, T) int64 and label_weights (B, T) float32. */
export const BATCH_INPUTS = ["input_ids", "attention_mask", "position_ids", "labels", "label_weights"] as const;
export type BatchInputName = (typeof BATCH_INPUTS)[number];
/** What every model reads; a model with an Objective adds its own inputs instead of labels and label_weights. */
export const ENCODER_INPUTS = ["input_ids", "attention_mask", "position_ids"] as const;

/** Names of one trainable parameter's state inputs; outputs add `.next`. */
export function stateNames(name: string): { param: string; m: string; v: string } {
  return { param: `p.${name}`, m: `m.${name}`, v: `v.${name}` };
}

export const NEXT = ".next";

export interface StepGraph {
  bytes: Uint8Array;
  /** Batch inputs this graph takes: BATCH_INPUTS, or ENCODER_INPUTS and the objective's. */
  batchInputs: string[];
  /** State inputs (p., m., v. for each trainable parameter); the outputs are these + NEXT. */
  stateInputs: string[];
  /** Scalar inputs: step (1-based), lr, max_grad_norm; all float32 of shape []. */
  scalarInputs: ["step", "lr", "max_grad_norm"];
  /** "loss" and "grad_norm" (float32 scalars), then the state outputs. */
  outputs: string[];
  /** Floating-point operations of the graph's MatMuls (2·m·n·k each): forward and backward. */
  matmulFlops: number;
}

/** 2·m·n·k (times the batch dims) summed over the graph's MatMul nodes; shapes must be static. */
export function matmulFlops(g: Graph): number {
  let flops = 0;
  for (const node of g.nodes) {
    if (node.op.opType !== "MatMul") continue;
    const [a] = node.inputs;
    const [y] = node.outputs;
    const k = a.shape[a.rank - 1];
    const size = y.shape.reduce<number>((n, d) => n * (typeof d === "number" ? d : NaN), 1);
    flops += 2 * size * (k as number);
  }
  return flops;
}

interface Prologue {
  g: Graph;
  inputs: ModelInputs;
  params: Map<string, Value>;
  source: (spec: ParamSpec) => Value;
}

// Batch inputs, trainable parameters as inputs `p.<name>`, frozen ones as initializers.
// `withLabels`: the objective's label inputs too (training), or only what the forward reads.
function prologue(
  name: string,
  opts: Pick<StepGraphOptions, "model" | "batch" | "length" | "trainable" | "frozen">,
  withLabels: boolean,
): Prologue {
  const { model, batch: B, length: T } = opts;
  const g = new Graph(name);
  const ids = (n: string) => g.input(n, "int64", [B, T]);
  // Position ids are one row (1, T) shared by the batch, and token types are left out (the
  // model uses type 0): batches are right-padded single sequences, for which this equals
  // transformers' per-row ids on every real token (pads are neither attended nor labelled).
  // It also sidesteps an onnxruntime-web 1.31 WebGPU bug: two int64 (B, T) index inputs
  // each feeding a Gather whose gradient is a ScatterND (word and position embeddings)
  // make the second ScatterND, and the forward Gathers, read the first one's indices.
  const inputs: ModelInputs = {
    inputIds: ids("input_ids"),
    attentionMask: ids("attention_mask"),
    positionIds: g.input("position_ids", "int64", [1, T]),
  };
  if (model.objective) {
    const task: Record<string, Value> = {};
    for (const input of model.objective.inputs) {
      if (withLabels || !input.label) task[input.name] = g.input(input.name, input.dtype, input.shape(B, T));
    }
    inputs.task = task;
  }
  const trainableNames = new Set(opts.trainable.map((s) => s.name));
  for (const spec of model.specs) {
    if (!trainableNames.has(spec.name) && !opts.frozen.has(spec.name)) {
      throw new Error(`${name}: ${spec.name} is neither trainable nor given as frozen data`);
    }
  }
  const params = new Map<string, Value>();
  for (const spec of opts.trainable) params.set(spec.name, g.input(stateNames(spec.name).param, "float32", spec.shape));
  const frozen = new Map<string, Value>();
  const source = (spec: ParamSpec): Value => {
    const trainable = params.get(spec.name);
    if (trainable) return trainable;
    let value = frozen.get(spec.name);
    if (!value) {
      const data = opts.frozen.get(spec.name);
      if (!data) throw new Error(`${name}: no data for the frozen parameter ${spec.name}`);
      value = g.initializer(spec.name, tensor("float32", spec.shape, data));
      frozen.set(spec.name, value);
    }
    return value;
  };
  return { g, inputs, params, source };
}

export function buildStepGraph(opts: StepGraphOptions): StepGraph {
  const { model, batch: B, length: T } = opts;
  const adamw = opts.adamw ?? DEFAULT_ADAMW;
  const { g, inputs, params, source } = prologue("train_step", opts, true);
  const objective = model.objective;
  const labels = objective ? undefined : g.input("labels", "int64", [B, T]);
  const labelWeights = objective ? undefined : g.input("label_weights", "float32", [B, T]);
  const step = g.input("step", "float32", []);
  const lr = g.input("lr", "float32", []);
  const maxGradNorm = g.input("max_grad_norm", "float32", []);

  const logits = model.forward(g, source, inputs, opts.dropout); // (B, T, L) for tokens
  const loss = objective ? objective.loss(logits, inputs.task!) : softmaxCrossEntropy(logits, labels!, labelWeights); // ()
  g.output(loss, "loss");
  const wrt = opts.trainable.map((s) => params.get(s.name)!);
  const grads = gradients(g, loss, wrt);
  if (opts.emitGradients) grads.forEach((dW, i) => g.output(dW, `grad.${opts.trainable[i].name}`));

  // Global-norm clipping as torch.nn.utils.clip_grad_norm_: coef = min(1, max / (norm + 1e-6)).
  const squares = grads.map((dW) => reduceSum(mul(dW, dW)));
  const gradNorm = sqrt(squares.reduce((acc, s) => add(acc, s))); // ()
  g.output(gradNorm, "grad_norm");
  const clip = min(div(maxGradNorm, add(gradNorm, 1e-6)), 1); // ()

  // AdamW as torch.optim.AdamW: p ← p (1 − lr·wd); p ← p − (lr / bc1) · m / (√v / √bc2 + ε).
  const { beta1, beta2, epsilon, weightDecay } = adamw;
  const bc1 = sub(1, exp(mul(step, Math.log(beta1)))); // 1 − β1^step
  const bc2 = sub(1, exp(mul(step, Math.log(beta2)))); // 1 − β2^step
  const stepSize = div(lr, bc1);
  const sqrtBc2 = sqrt(bc2);
  const decay = sub(1, mul(lr, weightDecay));

  const stateInputs: string[] = [];
  opts.trainable.forEach((spec, i) => {
    const names = stateNames(spec.name);
    const p = wrt[i];
    const m = g.input(names.m, "float32", spec.shape);
    const v = g.input(names.v, "float32", spec.shape);
    const dW = mul(grads[i], clip);
    const m1 = add(mul(m, beta1), mul(dW, 1 - beta1));
    const v1 = add(mul(v, beta2), mul(mul(dW, dW), 1 - beta2));
    const denom = add(div(sqrt(v1), sqrtBc2), epsilon);
    const decayed = weightDecay > 0 && appliesWeightDecay(spec) ? mul(p, decay) : p;
    const p1 = sub(decayed, mul(stepSize, div(m1, denom)));
    g.output(p1, names.param + NEXT);
    g.output(m1, names.m + NEXT);
    g.output(v1, names.v + NEXT);
    stateInputs.push(names.param, names.m, names.v);
  });

  return {
    bytes: toModelProto(g),
    batchInputs: objective ? [...ENCODER_INPUTS, ...objective.inputs.map((i) => i.name)] : [...BATCH_INPUTS],
    stateInputs,
    scalarInputs: ["step", "lr", "max_grad_norm"],
    outputs: ["loss", "grad_norm", ...stateInputs.map((n) => n + NEXT)],
    matmulFlops: matmulFlops(g),
  };
}

/** Forward only (no dropout): the same inputs as the step graph minus labels → `logits` ((B, T, L) for tokens). */
export function buildPredictGraph(opts: Pick<StepGraphOptions, "model" | "batch" | "length" | "trainable" | "frozen">): {
  bytes: Uint8Array;
  batchInputs: string[];
  paramInputs: string[];
} {
  const { g, inputs, source } = prologue("predict", opts, false);
  g.output(opts.model.forward(g, source, inputs), "logits");
  const taskInputs = (opts.model.objective?.inputs ?? []).filter((i) => !i.label).map((i) => i.name);
  return {
    bytes: toModelProto(g),
    batchInputs: [...ENCODER_INPUTS, ...taskInputs],
    paramInputs: opts.trainable.map((s) => stateNames(s.name).param),
  };
}

/** A deterministic 31-bit seed from the run seed, the bucket length and the segment start. */
export function dropoutSeed(runSeed: number, length: number, segmentStart: number): number {
  let h = 0x811c9dc5;
  for (const x of [runSeed, length, segmentStart]) {
    h = Math.imul(h ^ (x >>> 0), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
  }
  return (h >>> 0) % 2147483647;
}
