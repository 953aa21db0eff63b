// The small encoder of the benchmark: a WordPiece vocabulary built from the corpora, a
// BERT trained from random weights on the source corpus (the epoch chosen on source dev),
// adaptation that continues training from the source weights, and span predictions over
// whole notes (windows merged by the app's predictor). Everything runs on the app's own
// engine (src/core/train, onnxruntime-web wasm).

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Span } from "../../../src/core/corpus/types.ts";
import { spanMetrics } from "../../../src/core/eval/span-metrics.ts";
import { type EncoderConfig, createConfig } from "../../../src/core/model/config.ts";
import { buildInferenceModel } from "../../../src/core/model/inference-graph.ts";
import { createPredictor } from "../../../src/core/model/predict.ts";
import { randomEncoderWeights } from "../../../src/core/model/random-init.ts";
import { readSafetensors, writeSafetensors } from "../../../src/core/model/safetensors.ts";
import type { Weight } from "../../../src/core/model/weights.ts";
import { bioLabels } from "../../../src/core/text/bio.ts";
import { type TextTokenizer, loadTokenizer } from "../../../src/core/text/tokenizer.ts";
import { buildWordPieceTokenizer } from "../../../src/core/text/wordpiece-vocab.ts";
import { type TokenizedExample, epochBatches } from "../../../src/core/train/batches.ts";
import { encoderModel } from "../../../src/core/train/model.ts";
import { type LabelledNote, trainingExamples } from "../../../src/core/train/ner-examples.ts";
import { Trainer } from "../../../src/core/train/trainer.ts";
import type { Note } from "./corpus.ts";

export type Weights = Map<string, Float32Array>;

export interface ModelContext {
  tokenizer: TextTokenizer;
  config: EncoderConfig;
  types: string[];
  maxLength: number;
  /** Tokens shared by consecutive training windows of a long note. */
  stride: number;
  vocabSize: number;
  log: (message: string) => void;
}

export interface ModelSizes {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  maxLength: number;
}

/** Tokenizer (WordPiece over `texts`, case and accents kept as Spanish needs) and model config. */
export function modelContext(texts: readonly string[], types: string[], sizes: ModelSizes, log: (m: string) => void): ModelContext {
  const built = buildWordPieceTokenizer(texts, { vocabSize: sizes.vocabSize, lowercase: true, stripAccents: false, modelMaxLength: sizes.maxLength });
  // verify: false: the ids check re-runs the tokenizer library on every encode (slow), and
  // wordpiece-vocab.test.ts already checks this tokenizer against the library.
  const tokenizer = loadTokenizer(built.tokenizerJson, built.tokenizerConfig, { verify: false });
  const vocabSize = Object.keys((built.tokenizerJson.model as { vocab: Record<string, number> }).vocab).length;
  const config = createConfig("bert", {
    vocabSize,
    hiddenSize: sizes.hidden,
    numLayers: sizes.layers,
    numHeads: sizes.heads,
    intermediateSize: 4 * sizes.hidden,
    maxPositions: sizes.maxLength,
    labels: bioLabels(types).id2label,
  });
  return { tokenizer, config, types, maxLength: sizes.maxLength, stride: Math.floor(sizes.maxLength / 4), vocabSize, log };
}

export function examplesOf(ctx: ModelContext, notes: Iterable<LabelledNote>, options: { minConfidence?: number; weightByConfidence?: boolean } = {}) {
  return trainingExamples(notes, ctx.tokenizer, { types: ctx.types, maxLength: ctx.maxLength, stride: ctx.stride, ...options });
}

function bucketsFor(maxLength: number): number[] {
  const buckets = [32, 64, 128, 256, 512].filter((b) => b < maxLength);
  return [...buckets, maxLength];
}

/** Spans of each text, from the model with these weights (windows of maxLength, merged). */
export async function predictSpans(ctx: ModelContext, weights: ReadonlyMap<string, Float32Array>, texts: readonly string[]): Promise<Span[][]> {
  const predictor = await createPredictor({ onnx: buildInferenceModel(ctx.config, weights), config: ctx.config, tokenizer: ctx.tokenizer });
  try {
    return await predictor.predict(texts, { batchSize: 32, maxLength: ctx.maxLength });
  } finally {
    await predictor.release();
  }
}

export async function strictF1(ctx: ModelContext, weights: ReadonlyMap<string, Float32Array>, notes: readonly Note[]): Promise<number> {
  const pred = await predictSpans(ctx, weights, notes.map((n) => n.text));
  return spanMetrics(notes.map((note, i) => ({ gold: note.spans, pred: pred[i] }))).strict.micro.f1;
}

export interface TrainSettings {
  epochs: number;
  /** At least this many steps, however few the examples (small N). */
  minSteps?: number;
  lr: number;
  batchSize: number;
  seed: number;
}

export interface TrainResult {
  weights: Weights;
  steps: number;
  seconds: number;
  meanLoss: number;
}

/**
 * Full fine-tuning from `weights` (random for the source model, the source model's for
 * adaptation): AdamW, 10% linear warm-up then linear decay, dropout as the config says.
 * `afterEpoch` sees each epoch's weights (to choose the epoch on a dev set).
 */
export async function train(
  ctx: ModelContext,
  weights: ReadonlyMap<string, Float32Array | Weight>,
  examples: readonly TokenizedExample[],
  settings: TrainSettings,
  afterEpoch?: (epoch: number, weights: Weights, loss: number) => Promise<void>,
): Promise<TrainResult> {
  const buckets = bucketsFor(ctx.maxLength);
  const opts = { batchSize: settings.batchSize, buckets, seed: settings.seed };
  const stepsPerEpoch = epochBatches(ctx.config, examples, { ...opts, epoch: 1 }).length;
  const totalSteps = Math.max(settings.minSteps ?? 0, settings.epochs * stepsPerEpoch);
  const trainer = await Trainer.create({
    model: encoderModel(ctx.config),
    weights,
    mode: { kind: "full" },
    schedule: { lr: settings.lr, warmupSteps: Math.ceil(0.1 * totalSteps), totalSteps },
    seed: settings.seed,
    batchSize: settings.batchSize,
  });
  const started = performance.now();
  let lossSum = 0;
  try {
    for (let epoch = 1; trainer.stepCount < totalSteps; epoch++) {
      let epochLoss = 0;
      let epochSteps = 0;
      for (const batch of epochBatches(ctx.config, examples, { ...opts, epoch })) {
        if (trainer.stepCount >= totalSteps) break;
        const { loss } = await trainer.step(batch);
        lossSum += loss;
        epochLoss += loss;
        epochSteps++;
      }
      if (afterEpoch) await afterEpoch(epoch, await copyOf(trainer), epochLoss / Math.max(1, epochSteps));
    }
    return { weights: await copyOf(trainer), steps: trainer.stepCount, seconds: (performance.now() - started) / 1000, meanLoss: lossSum / Math.max(1, trainer.stepCount) };
  } finally {
    await trainer.release();
  }
}

async function copyOf(trainer: Trainer): Promise<Weights> {
  return new Map([...(await trainer.exportWeights())].map(([name, data]) => [name, Float32Array.from(data)]));
}

export interface SourceModel {
  weights: Weights;
  bestEpoch: number;
  devF1: number;
  epochs: { epoch: number; loss: number; devF1: number }[];
  sentences: number;
  seconds: number;
  cached: boolean;
}

export interface SourceSettings {
  epochs: number;
  lr: number;
  batchSize: number;
  seed: number;
}

/**
 * The source model: trained from random weights on `train`, the epoch with the best strict
 * F1 on `dev` kept. Cached in `cacheDir` under a key of everything that shapes it, so a
 * second run of the benchmark reuses it.
 */
export async function sourceModel(
  ctx: ModelContext,
  trainNotes: readonly Note[],
  dev: readonly Note[],
  settings: SourceSettings,
  cache: { dir: string; key: string; retrain: boolean },
): Promise<SourceModel> {
  const file = join(cache.dir, `source-model-${hashKey(cache.key)}.safetensors`);
  if (!cache.retrain && existsSync(file)) {
    const read = readSafetensors(new Uint8Array(readFileSync(file)), file);
    const meta = read.metadata ?? {};
    if (meta.key === cache.key) {
      ctx.log(`source model: reusing ${file} (--retrain-source to train it again)`);
      const weights: Weights = new Map([...read.tensors].map(([name, t]) => [name, t.data as Float32Array]));
      return { ...(JSON.parse(meta.summary) as Omit<SourceModel, "weights" | "cached">), weights, cached: true };
    }
  }

  const { examples, lost } = examplesOf(ctx, trainNotes);
  ctx.log(`source model: ${trainNotes.length} sentences -> ${examples.length} examples (${lost.length} spans lost), ${settings.epochs} epochs`);
  const started = performance.now();
  const epochs: SourceModel["epochs"] = [];
  let best = { epoch: 0, devF1: -1, weights: undefined as Weights | undefined };
  const result = await train(ctx, randomEncoderWeights(ctx.config, settings.seed), examples, settings, async (epoch, weights, loss) => {
    const devF1 = await strictF1(ctx, weights, dev);
    epochs.push({ epoch, loss, devF1 });
    ctx.log(`source model: epoch ${epoch}, loss ${loss.toFixed(4)}, dev strict F1 ${devF1.toFixed(4)} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    if (devF1 > best.devF1) best = { epoch, devF1, weights };
  });
  const summary = { bestEpoch: best.epoch, devF1: best.devF1, epochs, sentences: trainNotes.length, seconds: (performance.now() - started) / 1000 };
  const weights = best.weights ?? result.weights;
  mkdirSync(cache.dir, { recursive: true });
  const shapes = new Map(encoderModel(ctx.config).specs.map((s) => [s.name, s.shape]));
  writeFileSync(
    file,
    writeSafetensors(
      [...weights].map(([name, data]) => [name, { shape: shapes.get(name)!, data }] as const),
      { metadata: { format: "pt", key: cache.key, summary: JSON.stringify(summary) } },
    ),
  );
  return { ...summary, weights, cached: false };
}

function hashKey(key: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}
