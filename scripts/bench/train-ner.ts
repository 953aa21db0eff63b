// NER fine-tuning benchmark: trains a small BERT-style encoder from random weights (no
// pretrained model can be downloaded here) on CT-EBM-SP sentences (../shared/data/ctebmsp)
// with the app's training engine on onnxruntime-web wasm in Node, and prints dev span F1
// (strict, micro) before training and after each epoch, one JSON line each.
//
// Tokenization: word level. The corpus texts are tokens joined by single spaces, so words
// are whitespace-separated, lowercased, and the vocabulary is every train word seen at
// least twice, plus [PAD] [UNK] [CLS] [SEP]. Word labels come from spansToBio, predicted
// spans from bioToSpans, scores from spanMetrics, as the app does.
//
//   npm run bench -- train-ner [--epochs=3] [--limit=N] [--dev-limit=N] [--hidden=128] [--layers=2] [--lr=1e-3] [--batch=32]

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Span } from "../../src/core/corpus/types.ts";
import type { TokenOffset } from "../../src/core/text/bio.ts";

const DATA = fileURLToPath(new URL("../../../shared/data/ctebmsp/", import.meta.url));
const TYPES = ["ANAT", "CHEM", "DEVI", "DISO", "LIVB", "PHYS", "PROC"];
const SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"];
const [PAD, UNK, CLS, SEP] = [0, 1, 2, 3];
const MAX_TOKENS = 128;

interface Sentence {
  text: string;
  entities: Span[];
}

interface Encoded {
  ids: number[];
  labels: number[];
  weights: number[];
  /** Offsets per token, [CLS] and [SEP] as empty ranges. */
  tokens: TokenOffset[];
  gold: Span[];
}

function option(args: string[], name: string, fallback: number): number {
  const raw = args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return raw === undefined ? fallback : Number(raw);
}

function readSplit(split: string, limit: number): Sentence[] {
  const lines = readFileSync(`${DATA}${split}.jsonl`, "utf8").split("\n").filter(Boolean);
  return lines.slice(0, limit).map((line) => {
    const { text, entities } = JSON.parse(line) as { text: string; entities: { start: number; end: number; type: string }[] };
    return { text, entities: entities.map(({ start, end, type }) => ({ start, end, type })) };
  });
}

function words(text: string): TokenOffset[] {
  return [...text.matchAll(/\S+/g)].map((m) => ({ start: m.index!, end: m.index! + m[0].length }));
}

export async function run(args: string[]): Promise<void> {
  const { createConfig } = await import("../../src/core/model/config.ts");
  const { randomEncoderWeights } = await import("../../src/core/model/random-init.ts");
  const { bioLabels, bioToSpans, spansToBio } = await import("../../src/core/text/bio.ts");
  const { spanMetrics } = await import("../../src/core/eval/span-metrics.ts");
  const { encoderModel } = await import("../../src/core/train/model.ts");
  const { Trainer } = await import("../../src/core/train/trainer.ts");
  const { epochBatches, evalBatches } = await import("../../src/core/train/batches.ts");

  const epochs = option(args, "epochs", 3);
  const batchSize = option(args, "batch", 32);
  const hidden = option(args, "hidden", 128);
  const layers = option(args, "layers", 2);
  const lr = option(args, "lr", 1e-3);
  const train = readSplit("train", option(args, "limit", Infinity));
  const dev = readSplit("dev", option(args, "dev-limit", Infinity));

  const counts = new Map<string, number>();
  for (const s of train) for (const w of words(s.text)) {
    const key = s.text.slice(w.start, w.end).toLowerCase();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const vocab = new Map<string, number>(SPECIALS.map((t, i) => [t, i]));
  for (const [word, n] of [...counts].sort((a, b) => b[1] - a[1])) if (n >= 2) vocab.set(word, vocab.size);

  const { id2label } = bioLabels(TYPES);
  let truncated = 0;
  const encode = (s: Sentence): Encoded => {
    let ws = words(s.text);
    if (ws.length > MAX_TOKENS - 2) {
      truncated++;
      ws = ws.slice(0, MAX_TOKENS - 2);
    }
    const tokens = [{ start: 0, end: 0 }, ...ws, { start: s.text.length, end: s.text.length }];
    const ids = [CLS, ...ws.map((w) => vocab.get(s.text.slice(w.start, w.end).toLowerCase()) ?? UNK), SEP];
    const { labelIds, weights } = spansToBio(tokens, s.entities, { labels: TYPES, subword: "all" });
    return { ids, labels: labelIds, weights, tokens, gold: s.entities };
  };
  const trainSet = train.map(encode);
  const devSet = dev.map(encode);

  const config = createConfig("bert", {
    vocabSize: vocab.size,
    hiddenSize: hidden,
    numLayers: layers,
    numHeads: Math.max(1, hidden / 64),
    intermediateSize: 4 * hidden,
    maxPositions: MAX_TOKENS,
    labels: id2label,
  });
  const buckets = [32, 64, 128];
  // Per-bucket partial batches make an epoch a few steps longer than examples / batchSize.
  const stepsPerEpoch = epochBatches(config, trainSet, { batchSize, buckets, seed: 1, epoch: 1 }).length;
  const totalSteps = epochs * stepsPerEpoch;
  const trainer = await Trainer.create({
    model: encoderModel(config),
    weights: randomEncoderWeights(config, 1),
    mode: { kind: "full" },
    schedule: { lr, warmupSteps: Math.ceil(0.1 * totalSteps), totalSteps },
    seed: 1,
    batchSize,
  });
  const L = id2label.length;

  const evaluate = async () => {
    const notes: { gold: Span[]; pred: Span[] }[] = [];
    for (const { batch, indices } of evalBatches(config, devSet, { batchSize, buckets })) {
      const logits = await trainer.predict(batch);
      indices.forEach((k, r) => {
        const ex = devSet[k];
        const labels = ex.ids.map((_, t) => {
          if (t === 0 || t === ex.ids.length - 1) return -100;
          const at = (r * batch.length + t) * L;
          let best = 0;
          for (let c = 1; c < L; c++) if (logits[at + c] > logits[at + best]) best = c;
          return best;
        });
        notes.push({ gold: ex.gold, pred: bioToSpans(ex.tokens, labels, { id2label }) });
      });
    }
    return spanMetrics(notes).strict.micro;
  };

  const common = {
    bench: "train-ner",
    corpus: "ctebmsp",
    tokenization: "word (whitespace, lowercased; train words seen >= 2 times)",
    vocab: vocab.size,
    model: `bert ${layers}x${hidden} from random init`,
    train_sentences: trainSet.length,
    dev_sentences: devSet.length,
    truncated_sentences: truncated,
    backend: "wasm",
  };
  const line = (fields: Record<string, unknown>) => console.log(JSON.stringify({ ...common, ...fields }));
  const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;

  let t0 = performance.now();
  const before = await evaluate();
  line({ epoch: 0, dev_precision: round(before.precision), dev_recall: round(before.recall), dev_f1: round(before.f1), eval_s: round((performance.now() - t0) / 1000, 1) });
  for (let epoch = 1; epoch <= epochs; epoch++) {
    t0 = performance.now();
    let lossSum = 0;
    let steps = 0;
    for (const batch of epochBatches(config, trainSet, { batchSize, buckets, seed: 1, epoch })) {
      const { loss } = await trainer.step(batch);
      lossSum += loss;
      steps++;
      if (steps % 50 === 0) console.error(`epoch ${epoch}: step ${steps}/${stepsPerEpoch}, mean loss ${(lossSum / steps).toFixed(4)}`);
    }
    const trainS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const scores = await evaluate();
    line({
      epoch,
      steps: trainer.stepCount,
      train_loss: round(lossSum / steps),
      train_s: round(trainS, 1),
      ms_per_step: round((1000 * trainS) / steps, 1),
      dev_precision: round(scores.precision),
      dev_recall: round(scores.recall),
      dev_f1: round(scores.f1),
      eval_s: round((performance.now() - t1) / 1000, 1),
    });
  }
  await trainer.release();
}
