// Builds the demo source model that ships in public/demo/model/: a small BERT trained from
// random weights by the app's own training engine (onnxruntime-web wasm, in Node) on the
// public-domain BC5CDR corpus (../shared/data/bc5cdr: PubMed abstracts, Chemical and
// Disease). No pretrained encoder can be downloaded here, so the vocabulary is a WordPiece
// vocabulary built from the train texts, and the model learns everything from 500 abstracts.
//
// Recipe: tokenizer from train texts → windows of --max-length tokens over train notes →
// full training with AdamW and linear warm-up/decay for --epochs → after each epoch, strict
// span F1 on dev through the exported inference model and the app's predictor → the best
// epoch's weights, rounded to float16 as they ship, scored on dev, test and the demo's gold
// notes. Everything is seeded, so a rerun on the same inputs gives the same files.
//
//   npx tsx scripts/build-demo-model.ts [--epochs N] [--out public/demo/model]
//     [--vocab 8000] [--hidden 128] [--layers 2] [--heads 2] [--intermediate 512]
//     [--max-length 128] [--stride 32] [--batch 16] [--lr 1e-3] [--warmup 0.1] [--seed 1]
//     [--limit N] [--dev-limit N]      (--limit/--dev-limit: quick trial runs only)
//
// Progress goes to stderr; the last line on stdout is one JSON object (metrics.json's summary).

import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createConfig } from "../src/core/model/config.ts";
import { readModelFolder, writeModelFolder } from "../src/core/model/folder.ts";
import { buildInferenceModel } from "../src/core/model/inference-graph.ts";
import { randomEncoderWeights } from "../src/core/model/random-init.ts";
import { resolveWeights, type Weight } from "../src/core/model/weights.ts";
import { bioLabels } from "../src/core/text/bio.ts";
import { loadTokenizer } from "../src/core/text/tokenizer.ts";
import { buildWordPieceTokenizer } from "../src/core/text/wordpiece-vocab.ts";
import { epochBatches } from "../src/core/train/batches.ts";
import { encoderModel } from "../src/core/train/model.ts";
import { trainingExamples } from "../src/core/train/ner-examples.ts";
import { Trainer } from "../src/core/train/trainer.ts";
import { readJsonl } from "./demo/corpus.ts";
import { evaluateNotes, type SplitScores } from "./demo/evaluate.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DATA = resolve(ROOT, "../shared/data/bc5cdr");
const DEMO_GOLD = resolve(ROOT, "public/demo/notes-gold.jsonl");
const TYPES = ["Chemical", "Disease"];
/** Above this many bytes in all, onnx/model.onnx is left out (the app builds it from the safetensors). */
const MAX_FOLDER_BYTES = 6 * 1024 * 1024;

function parseArgs(argv: string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${arg}`);
    const eq = arg.indexOf("=");
    if (eq > 0) args.set(arg.slice(2, eq), arg.slice(eq + 1));
    else args.set(arg.slice(2), argv[++i] ?? "");
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const number = (name: string, fallback: number) => {
  const value = args.has(name) ? Number(args.get(name)) : fallback;
  if (!Number.isFinite(value)) throw new Error(`--${name} expects a number, got ${args.get(name)}`);
  return value;
};
const known = ["epochs", "out", "vocab", "hidden", "layers", "heads", "intermediate", "max-length", "stride", "batch", "lr", "warmup", "seed", "limit", "dev-limit"];
for (const name of args.keys()) if (!known.includes(name)) throw new Error(`unknown option --${name} (known: ${known.join(", ")})`);

const recipe = {
  corpus: "bc5cdr",
  types: TYPES,
  tokenizer: { kind: "WordPiece built from train texts", vocabSize: number("vocab", 8000), lowercase: true, stripAccents: true, minFrequency: 2 },
  model: {
    modelType: "bert",
    hiddenSize: number("hidden", 128),
    numLayers: number("layers", 2),
    numHeads: number("heads", 2),
    intermediateSize: number("intermediate", 512),
    maxPositions: number("max-length", 128),
    init: "randomEncoderWeights (transformers' _init_weights, std 0.02)",
  },
  training: {
    mode: "full",
    backend: "wasm (onnxruntime-web in Node, single thread)",
    windowTokens: number("max-length", 128),
    windowStride: number("stride", 32),
    buckets: [32, 64, 128, 256, 512].filter((b) => b < number("max-length", 128)).concat(number("max-length", 128)),
    batchSize: number("batch", 16),
    epochs: number("epochs", 8),
    lr: number("lr", 1e-3),
    warmupRatio: number("warmup", 0.1),
    schedule: "linear warm-up, then linear decay to 0 over all epochs",
    optimizer: "AdamW beta1 0.9, beta2 0.999, eps 1e-8, weight decay 0.01; gradient-norm clip 1",
    dropout: "config defaults (hidden 0.1, attention 0.1, classifier 0.1)",
    seed: number("seed", 1),
    selection: "epoch with the best dev strict micro F1 (ties: the earlier)",
  },
  limits: { trainNotes: args.has("limit") ? number("limit", 0) : null, devNotes: args.has("dev-limit") ? number("dev-limit", 0) : null },
  weightsDtype: "F16",
};
const outDir = resolve(ROOT, args.get("out") ?? "public/demo/model");

const log = (message: string) => process.stderr.write(`[build-demo-model] ${message}\n`);
const started = performance.now();
const elapsed = () => Math.round((performance.now() - started) / 1000);

// --- data and tokenizer ---------------------------------------------------------------------
const train = readJsonl(join(DATA, "train.jsonl"));
const dev = readJsonl(join(DATA, "dev.jsonl"));
const test = readJsonl(join(DATA, "test.jsonl"));
const demoGold = readJsonl(DEMO_GOLD);
const trainNotes = recipe.limits.trainNotes === null ? train.notes : train.notes.slice(0, recipe.limits.trainNotes);
const devNotes = recipe.limits.devNotes === null ? dev.notes : dev.notes.slice(0, recipe.limits.devNotes);

const { id2label } = bioLabels(TYPES);
const maxLength = recipe.training.windowTokens;
const built = buildWordPieceTokenizer(
  trainNotes.map((note) => note.text),
  { ...recipe.tokenizer, modelMaxLength: maxLength },
);
const tokenizer = loadTokenizer(built.tokenizerJson, built.tokenizerConfig, { verify: false });
const vocabSize = Object.keys((built.tokenizerJson.model as { vocab: object }).vocab).length;
log(`tokenizer: ${vocabSize} pieces from ${trainNotes.length} train notes`);

const { examples, lost } = trainingExamples(
  trainNotes.map((note) => ({ text: note.text, spans: note.spans })),
  tokenizer,
  { types: TYPES, maxLength, stride: recipe.training.windowStride },
);
const trainTokens = examples.reduce((sum, ex) => sum + ex.ids.length, 0);
log(`train: ${examples.length} windows, ${trainTokens} tokens, ${lost.length} spans no token could carry`);

// --- model and trainer ----------------------------------------------------------------------
const config = createConfig("bert", {
  vocabSize,
  hiddenSize: recipe.model.hiddenSize,
  numLayers: recipe.model.numLayers,
  numHeads: recipe.model.numHeads,
  intermediateSize: recipe.model.intermediateSize,
  maxPositions: recipe.model.maxPositions,
  labels: id2label,
});
const model = encoderModel(config);
const parameterCount = model.specs.reduce((sum, spec) => sum + spec.shape.reduce((p, d) => p * d, 1), 0);
const { batchSize, buckets, seed, epochs } = recipe.training;
const stepsPerEpoch = epochBatches(config, examples, { batchSize, buckets, seed, epoch: 1 }).length;
const totalSteps = epochs * stepsPerEpoch;
const trainer = await Trainer.create({
  model,
  weights: randomEncoderWeights(config, seed),
  mode: { kind: "full" },
  schedule: { lr: recipe.training.lr, warmupSteps: Math.ceil(recipe.training.warmupRatio * totalSteps), totalSteps },
  seed,
  batchSize,
});
log(`model: bert ${recipe.model.numLayers}x${recipe.model.hiddenSize}, ${parameterCount} parameters; ${epochs} epochs × ${stepsPerEpoch} steps`);

const withShapes = (weights: Map<string, Float32Array>): Map<string, Weight> =>
  new Map(model.specs.map((spec) => [spec.name, { shape: [...spec.shape], data: Float32Array.from(weights.get(spec.name)!) }]));

// --- training with dev selection ------------------------------------------------------------
interface EpochRecord {
  epoch: number;
  steps: number;
  trainLoss: number;
  trainSeconds: number;
  devStrictF1: number;
  devLenientF1: number;
  evalSeconds: number;
}
const history: EpochRecord[] = [];
let best: { epoch: number; f1: number; weights: Map<string, Weight> } | undefined;
const trainStarted = performance.now();
for (let epoch = 1; epoch <= epochs; epoch++) {
  const t0 = performance.now();
  let lossSum = 0;
  let steps = 0;
  for (const batch of epochBatches(config, examples, { batchSize, buckets, seed, epoch })) {
    const { loss } = await trainer.step(batch);
    lossSum += loss;
    steps++;
    if (steps % 20 === 0) log(`epoch ${epoch}: step ${steps}/${stepsPerEpoch}, mean loss ${(lossSum / steps).toFixed(4)} (${elapsed()} s)`);
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  const weights = withShapes(await trainer.exportWeights());
  const scores = await evaluateNotes(buildInferenceModel(config, weights), config, tokenizer, devNotes, TYPES);
  const record: EpochRecord = {
    epoch,
    steps,
    trainLoss: Math.round((lossSum / steps) * 10_000) / 10_000,
    trainSeconds: Math.round(trainSeconds * 10) / 10,
    devStrictF1: scores.strict.micro.f1,
    devLenientF1: scores.lenient.micro.f1,
    evalSeconds: scores.seconds,
  };
  history.push(record);
  log(`epoch ${epoch}: loss ${record.trainLoss}, dev strict F1 ${record.devStrictF1}, lenient ${record.devLenientF1} (train ${record.trainSeconds} s, eval ${record.evalSeconds} s)`);
  if (!best || record.devStrictF1 > best.f1) best = { epoch, f1: record.devStrictF1, weights };
}
const trainingSeconds = Math.round((performance.now() - trainStarted) / 100) / 10;
await trainer.release();

// --- the shipped folder: float16 weights, and what they score -------------------------------
const folder = writeModelFolder(config, id2label, best!.weights, built, { floatDtype: "F16" });
// Score exactly what ships: the F16 weights as the app reads them back.
const shipped = readModelFolder(folder);
const shippedWeights = resolveWeights(shipped.config, shipped.weights!).params;
const onnx = buildInferenceModel(shipped.config, shippedWeights);
const shippedTokenizer = loadTokenizer(shipped.tokenizerJson, shipped.tokenizerConfig, { verify: false });
const scores: Record<"dev" | "test" | "demoGold", SplitScores> = {
  dev: await evaluateNotes(onnx, shipped.config, shippedTokenizer, devNotes, TYPES),
  test: await evaluateNotes(onnx, shipped.config, shippedTokenizer, test.notes, TYPES),
  demoGold: await evaluateNotes(onnx, shipped.config, shippedTokenizer, demoGold.notes, TYPES),
};
log(`best epoch ${best!.epoch}: dev ${scores.dev.strict.micro.f1}, test ${scores.test.strict.micro.f1}, demo gold ${scores.demoGold.strict.micro.f1} (strict micro F1, F16 weights)`);

const folderBytes = [...folder.values()].reduce((sum, bytes) => sum + bytes.byteLength, 0);
const withOnnx = folderBytes + onnx.byteLength <= MAX_FOLDER_BYTES;
if (withOnnx) folder.set("onnx/model.onnx", onnx);
else log(`onnx/model.onnx left out: ${folderBytes + onnx.byteLength} bytes in all would pass ${MAX_FOLDER_BYTES}`);

const metrics = {
  model: "demo source model: BERT trained from random weights on BC5CDR (PubMed abstracts), Chemical and Disease",
  recipe,
  command: `npx tsx scripts/build-demo-model.ts ${process.argv.slice(2).join(" ")}`.trim(),
  data: {
    source: "../shared/data/bc5cdr (BioCreative V CDR corpus; US Government work, public domain)",
    train: train.description,
    dev: dev.description,
    test: test.description,
    demoGold: { ...demoGold.description, file: "public/demo/notes-gold.jsonl" },
    trainWindows: examples.length,
    trainWindowTokens: trainTokens,
    spansNoTokenCouldCarry: lost.length,
  },
  labels: id2label,
  vocabSize,
  parameters: parameterCount,
  stepsPerEpoch,
  epochs: history,
  bestEpoch: best!.epoch,
  seconds: {
    trainingSteps: Math.round(history.reduce((sum, r) => sum + r.trainSeconds, 0)),
    devEvaluations: Math.round(history.reduce((sum, r) => sum + r.evalSeconds, 0)),
    trainingWithDevEvaluations: trainingSeconds,
    total: elapsed(),
    machine: `${cpus().length} CPU cores (${cpus()[0]?.model ?? "unknown"}), shared; Node ${process.version}`,
  },
  scoresOf: "the shipped F16 weights, through buildInferenceModel and createPredictor (windows of the model's length)",
  dev: scores.dev,
  test: scores.test,
  demoGold: scores.demoGold,
  files: Object.fromEntries([...folder].map(([path, bytes]) => [path, bytes.byteLength]).sort()),
  onnx: withOnnx ? "onnx/model.onnx: fp32, from buildInferenceModel of the F16 weights" : "left out (size); build it with buildInferenceModel",
};
folder.set("metrics.json", new TextEncoder().encode(JSON.stringify(metrics, null, 2) + "\n"));

// Replace what the folder held before, so no stale file (an old onnx/) outlives a rebuild.
mkdirSync(outDir, { recursive: true });
for (const entry of readdirSync(outDir)) rmSync(join(outDir, entry), { recursive: true, force: true });
for (const [path, bytes] of folder) {
  mkdirSync(dirname(join(outDir, path)), { recursive: true });
  writeFileSync(join(outDir, path), bytes);
}
log(`wrote ${[...folder.keys()].join(", ")} to ${outDir} (${elapsed()} s)`);

const f1s = (s: SplitScores) => ({
  strict: s.strict.micro.f1,
  lenient: s.lenient.micro.f1,
  strictPerType: Object.fromEntries(TYPES.map((t) => [t, s.strict.perType[t].f1])),
});
console.log(
  JSON.stringify({
    out: outDir,
    bestEpoch: best!.epoch,
    parameters: parameterCount,
    vocabSize,
    trainingSeconds,
    dev: f1s(scores.dev),
    test: f1s(scores.test),
    demoGold: f1s(scores.demoGold),
    files: metrics.files,
  }),
);
