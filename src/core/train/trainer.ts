// The training loop's state holder: parameters and AdamW moments (host arrays on wasm,
// GPU buffers on WebGPU), one step session per length bucket, checkpoints.
//
// A step feeds the batch, the schedule's lr and the state into the bucket's session and
// takes the `.next` outputs as the new state. On WebGPU those outputs stay in GPU buffers
// (preferredOutputLocation "gpu-buffer") and go straight back in; only loss and grad_norm
// come to the host. On wasm every tensor is a host array (onnxruntime-web copies inputs
// into and outputs out of the wasm heap on each run; it has no IO binding there).
//
// Reproducibility. Dropout masks come from RandomUniformLike, whose seed is an attribute
// baked into a bucket's graph: seed = dropoutSeed(runSeed, length, segmentStart). A session
// draws a fixed sequence of masks from its creation on, so a step is determined by
// (segmentStart, how many steps of that bucket ran since). checkpoint() ends a segment:
// it releases the sessions, and the next step builds new ones with segmentStart = the
// checkpointed step. A trainer resumed from that checkpoint starts the same segment, so
// its steps are bit-identical to the uninterrupted run's on the same backend. (Without
// dropout, sessions are kept across checkpoints: nothing random to replay.)

import { ShapeError } from "../errors.ts";
import type { Weight } from "../model/weights.ts";
import { mergeLora } from "../model/lora.ts";
import { readSafetensors, writeSafetensors, type TensorToWrite } from "../model/safetensors.ts";
import type { Batch } from "./batches.ts";
import type { TaskBatch } from "./task-batches.ts";
import type { StepModel } from "./model.ts";
import { type Backend, type Feed, type HostTensor, type SessionFactory, type TrainSession, DeviceTensor, createTrainSession } from "./ort-session.ts";
import { type LinearSchedule, learningRate } from "./schedule.ts";
import { type AdamWOptions, type StepGraph, DEFAULT_ADAMW, NEXT, buildPredictGraph, buildStepGraph, dropoutSeed, stateNames } from "./step-graph.ts";
import { type TrainMode, trainableSpecs } from "./trainable.ts";
import type { ParamSpec } from "../model/names.ts";

export interface TrainingSettings {
  mode: TrainMode;
  schedule: LinearSchedule;
  adamw: AdamWOptions;
  /** Global gradient-norm clip (transformers' max_grad_norm); Infinity for none. */
  maxGradNorm: number;
  /** Dropout probabilities (all 0 for none); the config's by default. */
  dropout: { hiddenProb: number; attentionProb: number; classifierProb: number };
  /** Seeds dropout (and whatever the caller derives from it, e.g. batch order). */
  seed: number;
  batchSize: number;
}

export interface TrainerOptions extends Partial<Omit<TrainingSettings, "mode" | "schedule" | "seed" | "batchSize">> {
  model: StepModel;
  /** Every parameter the model reads, by name (LoRA factors included in LoRA mode). */
  weights: ReadonlyMap<string, Float32Array | Weight>;
  mode: TrainMode;
  schedule: LinearSchedule;
  seed: number;
  batchSize: number;
  backend?: Backend;
  /** Where sessions come from; onnxruntime-web's by default (tests stand in for a GPU here). */
  createSession?: SessionFactory;
}

export interface StepResult {
  /** The 1-based step just taken. */
  step: number;
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  lr: number;
}

const CHECKPOINT_FORMAT = "clinical-adapt/train-checkpoint";

interface BucketSession {
  session: TrainSession;
  /** The graph's names and stats; its bytes are dropped once the session holds the model. */
  graph: Omit<StepGraph, "bytes">;
  modelBytes: number;
}

function dataOf(w: Float32Array | Weight): Float32Array {
  return w instanceof Float32Array ? w : w.data;
}

function scalar(value: number): HostTensor {
  return { dtype: "float32", dims: [], data: Float32Array.of(value) };
}

export class Trainer {
  /** Steps taken so far (the next step is stepCount + 1). */
  stepCount = 0;
  readonly backend: Backend;
  readonly trainable: readonly ParamSpec[];
  private readonly frozen: Map<string, Float32Array>;
  private state = new Map<string, Feed>();
  private sessions = new Map<number, Promise<BucketSession>>();
  private predictors = new Map<number, Promise<{ session: TrainSession; inputs: string[] }>>();
  private segmentStart = 0;

  private constructor(
    readonly model: StepModel,
    readonly settings: TrainingSettings,
    weights: ReadonlyMap<string, Float32Array | Weight>,
    backend: Backend,
    private readonly createSession: SessionFactory = createTrainSession,
  ) {
    this.backend = backend;
    this.trainable = trainableSpecs(model.specs, settings.mode);
    if (settings.mode.kind === "lora" && !model.lora) throw new Error("Trainer: LoRA mode needs a model built with a LoRA config");
    const trainableNames = new Set(this.trainable.map((s) => s.name));
    this.frozen = new Map();
    for (const spec of model.specs) {
      const w = weights.get(spec.name);
      if (!w) throw new Error(`Trainer: no weights for ${spec.name}`);
      if (dataOf(w).length !== spec.shape.reduce((a, b) => a * b, 1)) {
        throw new Error(`Trainer: ${spec.name} has ${dataOf(w).length} values; expected shape [${spec.shape.join(", ")}]`);
      }
      if (!trainableNames.has(spec.name)) this.frozen.set(spec.name, dataOf(w));
    }
  }

  static async create(opts: TrainerOptions): Promise<Trainer> {
    const trainer = new Trainer(opts.model, settingsOf(opts), opts.weights, opts.backend ?? "wasm", opts.createSession);
    for (const spec of trainer.trainable) {
      const names = stateNames(spec.name);
      const zeros = (): HostTensor => ({ dtype: "float32", dims: spec.shape, data: new Float32Array(dataOf(opts.weights.get(spec.name)!).length) });
      // A copy, so the caller's arrays never alias the training state.
      trainer.state.set(names.param, { dtype: "float32", dims: spec.shape, data: Float32Array.from(dataOf(opts.weights.get(spec.name)!)) });
      trainer.state.set(names.m, zeros());
      trainer.state.set(names.v, zeros());
    }
    return trainer;
  }

  /**
   * Resumes from checkpoint() bytes. The settings and the trainable state come from the
   * checkpoint; `weights` must hold the frozen parameters (the base model), as at creation.
   */
  static async fromCheckpoint(
    bytes: Uint8Array,
    opts: { model: StepModel; weights: ReadonlyMap<string, Float32Array | Weight>; backend?: Backend; createSession?: SessionFactory },
  ): Promise<Trainer> {
    const file = readSafetensors(bytes, "checkpoint.safetensors");
    const meta = file.metadata ?? {};
    if (meta.format !== CHECKPOINT_FORMAT) throw new Error(`Trainer.fromCheckpoint: not a training checkpoint (format ${meta.format ?? "missing"})`);
    const settings = JSON.parse(meta.settings) as TrainingSettings;
    if (settings.maxGradNorm === null) settings.maxGradNorm = Infinity; // JSON has no Infinity
    const weights = new Map(opts.weights);
    for (const [name, t] of file.tensors) {
      if (name.startsWith("p.")) weights.set(name.slice(2), t.data as Float32Array);
    }
    const trainer = new Trainer(opts.model, settings, weights, opts.backend ?? "wasm", opts.createSession);
    for (const spec of trainer.trainable) {
      for (const key of Object.values(stateNames(spec.name))) {
        const t = file.tensors.get(key);
        if (!t) throw new Error(`Trainer.fromCheckpoint: the checkpoint lacks ${key}`);
        trainer.state.set(key, { dtype: "float32", dims: spec.shape, data: Float32Array.from(t.data as Float32Array) });
      }
    }
    trainer.stepCount = Number(meta.step);
    trainer.segmentStart = trainer.stepCount;
    return trainer;
  }

  private get dropoutActive(): boolean {
    const d = this.settings.dropout;
    return d.hiddenProb > 0 || d.attentionProb > 0 || d.classifierProb > 0;
  }

  private sessionFor(length: number): Promise<BucketSession> {
    let entry = this.sessions.get(length);
    if (!entry) {
      entry = (async () => {
        const graph = buildStepGraph({
          model: this.model,
          batch: this.settings.batchSize,
          length,
          trainable: this.trainable,
          frozen: this.frozen,
          adamw: this.settings.adamw,
          ...(this.dropoutActive
            ? { dropout: { ...this.settings.dropout, seed: dropoutSeed(this.settings.seed, length, this.segmentStart) } }
            : {}),
        });
        const keepOnDevice = graph.outputs.filter((n) => n.endsWith(NEXT));
        const { bytes, ...names } = graph;
        const session = await this.createSession(bytes, { backend: this.backend, keepOnDevice, outputs: graph.outputs });
        return { session, graph: names, modelBytes: bytes.byteLength };
      })();
      this.sessions.set(length, entry);
    }
    return entry;
  }

  /**
   * Builds the step session of a bucket ahead of time (otherwise built on first use); says
   * how big its graph is and how many MatMul flops a step does.
   */
  async prepare(length: number): Promise<{ modelBytes: number; matmulFlops: number }> {
    const { graph, modelBytes } = await this.sessionFor(length);
    return { modelBytes, matmulFlops: graph.matmulFlops };
  }

  /** One optimizer step on a batch (rows = batchSize): a token batch, or a TaskBatch for a model with an objective. */
  async step(batch: Batch | TaskBatch): Promise<StepResult> {
    if (batch.rows !== this.settings.batchSize) throw new Error(`Trainer.step: expected ${this.settings.batchSize} rows, got ${batch.rows}`);
    const { session, graph } = await this.sessionFor(batch.length);
    const step = this.stepCount + 1;
    const lr = learningRate(this.settings.schedule, step);
    const feeds: Record<string, Feed> = {
      ...batchFeeds(batch, graph.batchInputs),
      step: scalar(step),
      lr: scalar(lr),
      max_grad_norm: scalar(Number.isFinite(this.settings.maxGradNorm) ? this.settings.maxGradNorm : 3.0e38),
    };
    for (const name of graph.stateInputs) feeds[name] = this.state.get(name)!;
    const out = await session.run(feeds);
    for (const name of graph.stateInputs) {
      const old = this.state.get(name);
      if (old instanceof DeviceTensor) old.dispose();
      this.state.set(name, out[name + NEXT]);
    }
    this.stepCount = step;
    const loss = (await out.loss.toHost()).data[0] as number;
    const gradNorm = (await out.grad_norm.toHost()).data[0] as number;
    return { step, loss, gradNorm, lr };
  }

  /**
   * Logits for a batch, with the current parameters and no dropout: token logits (rows,
   * length, labels), or the objective's (e.g. (rows, spans, values) for attributes).
   */
  async predict(batch: Batch | TaskBatch): Promise<Float32Array> {
    let entry = this.predictors.get(batch.length);
    if (!entry) {
      entry = (async () => {
        const graph = buildPredictGraph({ model: this.model, batch: this.settings.batchSize, length: batch.length, trainable: this.trainable, frozen: this.frozen });
        const session = await this.createSession(graph.bytes, { backend: this.backend });
        return { session, inputs: graph.batchInputs };
      })();
      this.predictors.set(batch.length, entry);
    }
    const { session, inputs } = await entry;
    const feeds: Record<string, Feed> = batchFeeds(batch, inputs);
    for (const spec of this.trainable) feeds[stateNames(spec.name).param] = this.state.get(stateNames(spec.name).param)!;
    const out = await session.run(feeds);
    return (await out.logits.toHost()).data as Float32Array;
  }

  /** Where each state tensor lives: "cpu" on wasm, "gpu-buffer" on WebGPU after the first step. */
  stateLocations(): Map<string, string> {
    return new Map([...this.state].map(([name, feed]) => [name, feed instanceof DeviceTensor ? feed.location : "cpu"]));
  }

  /** The trainable state (parameters and moments) on the host, by state name (p./m./v.). */
  async stateOnHost(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [name, feed] of this.state) {
      const host = feed instanceof DeviceTensor ? await feed.toHost() : feed;
      out.set(name, host.data as Float32Array);
    }
    return out;
  }

  /**
   * The trainable state, step and settings as safetensors (`p.<name>`, `m.<name>`,
   * `v.<name>`; settings and step in __metadata__), plus `extra` metadata of the caller
   * (e.g. the batch sampler's position). Ends the dropout segment (see the file comment).
   */
  async checkpoint(extra: Record<string, string> = {}): Promise<Uint8Array> {
    const state = await this.stateOnHost();
    const tensors: [string, TensorToWrite][] = [];
    const shapes = new Map(this.trainable.map((s) => [s.name, s.shape]));
    for (const [name, data] of state) tensors.push([name, { shape: shapes.get(name.slice(2))!, data }]);
    const bytes = writeSafetensors(tensors, {
      metadata: {
        ...extra,
        format: CHECKPOINT_FORMAT,
        version: "1",
        step: String(this.stepCount),
        settings: JSON.stringify(this.settings),
      },
    });
    if (this.dropoutActive) await this.releaseSessions(this.stepCount);
    return bytes;
  }

  /** Every parameter of the model by its Hugging Face name; LoRA factors merged into their weights. */
  async exportWeights(): Promise<Map<string, Float32Array>> {
    const state = await this.stateOnHost();
    const all = new Map<string, Float32Array>(this.frozen);
    for (const spec of this.trainable) all.set(spec.name, state.get(stateNames(spec.name).param)!);
    if (!this.model.lora) return all;
    const loraNames = new Set(this.model.specs.filter((s) => "adapter" in s).map((s) => s.name));
    const loraWeights = new Map([...all].filter(([n]) => loraNames.has(n)));
    const base = new Map([...all].filter(([n]) => !loraNames.has(n)));
    return mergeLora(base, this.model.config, this.model.lora, loraWeights);
  }

  private async releaseSessions(segmentStart: number): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    this.segmentStart = segmentStart;
    for (const entry of sessions) await (await entry).session.release();
  }

  async release(): Promise<void> {
    await this.releaseSessions(this.stepCount);
    for (const entry of this.predictors.values()) await (await entry).session.release();
    this.predictors.clear();
    for (const feed of this.state.values()) if (feed instanceof DeviceTensor) feed.dispose();
    this.state.clear();
  }
}

function settingsOf(opts: TrainerOptions): TrainingSettings {
  const config = opts.model.config;
  return {
    mode: opts.mode,
    schedule: { ...opts.schedule },
    adamw: { ...(opts.adamw ?? DEFAULT_ADAMW) },
    maxGradNorm: opts.maxGradNorm ?? 1,
    dropout: opts.dropout ?? { hiddenProb: config.hiddenDropout, attentionProb: config.attentionDropout, classifierProb: config.classifierDropout },
    seed: opts.seed,
    batchSize: opts.batchSize,
  };
}

const BATCH_FIELDS = {
  input_ids: "inputIds",
  attention_mask: "attentionMask",
  position_ids: "positionIds",
  labels: "labels",
  label_weights: "labelWeights",
} as const;

/** The graph's batch inputs: the token batch's fields, or a TaskBatch's encoder fields and task tensors. */
function batchFeeds(batch: Batch | TaskBatch, names: readonly string[]): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {};
  const task = "task" in batch ? batch.task : {};
  for (const name of names) {
    if (Object.hasOwn(task, name)) {
      feeds[name] = task[name];
      continue;
    }
    const field = Object.hasOwn(BATCH_FIELDS, name) ? BATCH_FIELDS[name as keyof typeof BATCH_FIELDS] : undefined;
    const data = field === undefined ? undefined : (batch as Partial<Batch>)[field];
    if (data === undefined) throw new ShapeError(`Trainer: the batch has no input ${name}, which the step graph takes`);
    const dims = name === "position_ids" ? [1, batch.length] : [batch.rows, batch.length];
    feeds[name] = { dtype: data instanceof Float32Array ? "float32" : "int64", dims, data };
  }
  return feeds;
}
