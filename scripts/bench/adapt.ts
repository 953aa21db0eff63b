// The paper's experiment as a benchmark (Shimizu et al., Findings of ACL 2025): a model
// trained on a source domain is adapted to a target domain with N target notes labelled
// by different annotators (manual gold, simulated LLMs of three quality levels, the
// source model itself, source term lists, a real LLM endpoint), and every adapted model
// is scored on the target test split against the source-only model.
//
//   npm run bench -- adapt [--quick] [options]     (options: scripts/bench/adapt/options.ts)
//
// Default: ctebmsp (clinical-trial texts) -> es_clinicalcases100 (clinical case notes).
// No pretrained encoder can be downloaded here, so the source model is a small BERT
// trained from random weights on the source train split, its epoch chosen on source dev.
// Its WordPiece vocabulary is built from the source train texts AND the target train texts
// (--vocab source+target): a hospital has its own unlabelled notes, and a pretrained
// encoder's vocabulary would cover clinical-case words anyway; a from-scratch vocabulary
// of trial texts alone would cut target words into pieces no pretrained model would.
// Test texts never enter the vocabulary. `--vocab source` builds it from the source alone.
//
// Output: one JSON line per setting (annotator × N, aggregated over seeds) on stdout;
// progress on stderr; in --out: table.md, learning-curve.svg (strict F1 vs N, one line per
// annotator), learning-curve-lenient.svg, noisy-labels-<annotator>.svg (methods for noisy
// labels at each noise level), results.json, and the cached source model.
//
// Sizes, chosen to fit an hour on a shared 2-core machine (onnxruntime-web wasm, one
// thread): BERT 2 × 64 (2 heads, 0.62 M parameters, vocabulary 8,000), all 13,460 source
// sentences for 6 epochs (batch 32, lr 2e-3; dev F1 still rose at epoch 6, but each epoch
// costs 35–100 s); adaptation max(4 epochs, 30 steps), batch 16, lr 1e-3, windows of 128
// tokens; 15 annotators × N 10/25/50/all × 3 seeds = 180 runs of 4–25 s.
// --quick: 1 × 64, vocabulary 4,000, 4,000 source sentences, 4 epochs, N 10/25/all, 1 seed,
// gold, llm-sim-0.65 (plain and the three methods), self-training, term-list.
//
// Measured (default, 30.0 min in all, source model 3.8 min; strict micro F1 on the 11
// target test notes, mean of 3 seeds): source-only 0.410 (source dev 0.629);
// N = 78: gold 0.501, llm-sim-0.80 0.497, llm-sim-0.65 0.467, llm-sim-0.50 0.408,
// term-list 0.426, self-training 0.398. Noisy labels: mixing in 5 gold notes helps at
// F1 0.50 (+0.02…+0.09) and 0.65 (+0.00…+0.02); confidence weighting and dropping spans
// under 0.8 hurt at 0.50 and 0.65 (dropped spans become O, i.e. taught as non-entities;
// weighting lowers only the entity tokens' weight, so O gains); at 0.80 nothing differs.

import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { spanMetrics } from "../../src/core/eval/span-metrics.ts";
import { seededRandom } from "../../src/core/model/random.ts";
import {
  type AnnotatorSpec,
  type LabelSource,
  endpointAnnotator,
  parseAnnotator,
  predictionAnnotator,
  round,
  simulatedLlm,
  termListAnnotator,
} from "./adapt/annotators.ts";
import { mapTypes, readCorpus, typesOf } from "./adapt/corpus.ts";
import { examplesOf, modelContext, predictSpans, sourceModel, train } from "./adapt/model.ts";
import { type AdaptOptions, parseOptions } from "./adapt/options.ts";
import { type RunResult, type Setting, aggregate, curvePlot, jsonLine, markdownReport, scoreRun, sourceSetting } from "./adapt/report.ts";

export interface BenchIO {
  /** One JSON line per setting. */
  out(line: string): void;
  /** Progress. */
  log(message: string): void;
}

const consoleIO: BenchIO = { out: (line) => console.log(line), log: (message) => console.error(message) };

export interface AdaptOutcome {
  options: AdaptOptions;
  source: Setting;
  settings: Setting[];
  lines: Record<string, unknown>[];
  files: string[];
}

const METHODS = ["weighted", "filtered", "gold-mix"] as const;

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = seededRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random.uniform() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const minutes = (seconds: number) => (seconds < 90 ? `${seconds.toFixed(0)} s` : `${(seconds / 60).toFixed(1)} min`);

export async function run(args: string[]): Promise<void> {
  await runAdapt(args);
}

export async function runAdapt(args: string[], io: BenchIO = consoleIO): Promise<AdaptOutcome> {
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const options = parseOptions(args);
  const log = (message: string) => io.log(`[adapt ${minutes(elapsed())}] ${message}`);
  const out = resolve(options.out);
  mkdirSync(out, { recursive: true });

  // --- Data ---
  const sourceCorpus = readCorpus(options.source);
  const types = typesOf(sourceCorpus.train);
  const mapped = mapTypes(readCorpus(options.target), options.typeMap, types);
  const target = mapped.corpus;
  if (Object.keys(mapped.dropped).length > 0) log(`target spans of types the source lacks, dropped: ${JSON.stringify(mapped.dropped)} (--type-map maps them)`);
  const sourceTrain = shuffled(sourceCorpus.train, 11).slice(0, Math.min(sourceCorpus.train.length, options.sourceLimit));
  const sourceDev = shuffled(sourceCorpus.dev, 12).slice(0, Math.min(sourceCorpus.dev.length, options.sourceDevLimit));
  const names = { source: sourceCorpus.name, target: target.name };
  log(`${names.source} -> ${names.target}: types ${types.join(", ")}; source ${sourceTrain.length} train / ${sourceDev.length} dev; target ${target.train.length} train / ${target.test.length} test notes`);

  // --- Source model ---
  const vocabTexts = [...sourceTrain.map((n) => n.text), ...(options.vocab === "source+target" ? target.train.map((n) => n.text) : [])];
  const ctx = modelContext(vocabTexts, types, options, log);
  const sourceKey = JSON.stringify({
    v: 1,
    source: sourceCorpus.dir,
    sentences: sourceTrain.length,
    dev: sourceDev.length,
    vocab: options.vocab,
    vocabTarget: options.vocab === "source+target" ? target.dir : null,
    vocabSize: ctx.vocabSize,
    hidden: options.hidden,
    layers: options.layers,
    heads: options.heads,
    maxLength: options.maxLength,
    epochs: options.sourceEpochs,
    lr: options.sourceLr,
    batch: options.sourceBatch,
    types,
  });
  const source = await sourceModel(
    ctx,
    sourceTrain,
    sourceDev,
    { epochs: options.sourceEpochs, lr: options.sourceLr, batchSize: options.sourceBatch, seed: 1 },
    { dir: out, key: sourceKey, retrain: options.retrainSource },
  );
  const paramCount = [...source.weights.values()].reduce((sum, w) => sum + w.length, 0);
  const testTexts = target.test.map((n) => n.text);
  const sourcePredictions = await predictSpans(ctx, source.weights, testTexts);
  const sourceRun: RunResult = {
    annotator: "source-only",
    n: 0,
    seed: 1,
    ...scoreRun(target.test, sourcePredictions),
    labelF1: NaN,
    labelSpans: 0,
    lostSpans: 0,
    belowThreshold: 0,
    steps: 0,
    trainSeconds: source.seconds,
    predictions: sourcePredictions,
  };
  const sourceOnly = sourceSetting(target.test, sourceRun);
  log(`source model: epoch ${source.bestEpoch} kept (source dev strict F1 ${source.devF1.toFixed(4)}); target test strict F1 ${sourceRun.strictF1.toFixed(4)}, lenient ${sourceRun.lenientF1.toFixed(4)}`);
  const lines: Record<string, unknown>[] = [];
  const emit = (line: Record<string, unknown>) => {
    lines.push(line);
    io.out(JSON.stringify(line));
  };
  emit({ ...jsonLine(sourceOnly, names), source_dev_f1: round(source.devF1), source_epoch: source.bestEpoch, source_sentences: source.sentences });

  // --- Annotators ---
  const specs = options.annotators.map(parseAnnotator).sort((a, b) => a.name.split("+").length - b.name.split("+").length);
  if (options.samples <= 1 && specs.some((s) => s.base.startsWith("llm-sim-") && (s.weighted || s.filtered))) {
    log("note: with --samples 1 every simulated span has confidence 1, so +weighted and +filtered change nothing");
  }
  const labelSources = new Map<string, Promise<LabelSource>>();
  const annotatorInfo: Record<string, Record<string, unknown>> = {};
  const labelSource = (base: string): Promise<LabelSource> => {
    let entry = labelSources.get(base);
    if (!entry) {
      entry = (async (): Promise<LabelSource> => {
        const t0 = performance.now();
        let result: LabelSource;
        if (base === "gold") result = { labels: async (idx) => idx.map((i) => target.train[i].spans), info: {} };
        else if (base.startsWith("llm-sim-")) {
          result = simulatedLlm(target.train, types, Number(base.slice("llm-sim-".length)), {
            samples: options.samples,
            consistency: options.consistency,
            profile: options.profile,
            seed: 1,
          });
        } else if (base === "self-training") result = predictionAnnotator(await predictSpans(ctx, source.weights, target.train.map((n) => n.text)));
        else if (base === "term-list") result = await termListAnnotator(target.train, sourceTrain, types);
        else result = endpointAnnotator(target.train, types, { url: options.endpoint!, model: options.model!, apiKey: options.apiKey, samples: options.endpointSamples, log });
        if (base !== "llm-endpoint") {
          const all = await result.labels(target.train.map((_, i) => i));
          const m = spanMetrics(target.train.map((note, i) => ({ gold: note.spans, pred: all[i] })));
          Object.assign(result.info, { train_notes_strict_f1: round(m.strict.micro.f1), train_notes_lenient_f1: round(m.lenient.micro.f1) });
        }
        annotatorInfo[base] = result.info;
        log(`annotator ${base}: ready in ${((performance.now() - t0) / 1000).toFixed(1)} s ${JSON.stringify(result.info)}`);
        return result;
      })();
      labelSources.set(base, entry);
    }
    return entry;
  };

  // --- Adaptation runs ---
  const counts = [...new Set(options.n.map((n) => (n === "all" ? target.train.length : Math.min(n, target.train.length))))].sort((a, b) => a - b);
  const nOption = (n: number) => (n === target.train.length && options.n.includes("all") ? ("all" as const) : n);
  const seeds = Array.from({ length: options.seeds }, (_, i) => i + 1);
  const orders = new Map(seeds.map((seed) => [seed, shuffled(target.train.map((_, i) => i), 1000 + seed)]));
  const totalRuns = specs.length * counts.length * seeds.length;
  // Steps per run grow with N: weigh the ETA by them.
  const weightOf = (n: number) => n + 10;
  const totalWeight = specs.length * seeds.length * counts.reduce((sum, n) => sum + weightOf(n), 0);
  let doneWeight = 0;
  let doneRuns = 0;
  const adaptStarted = performance.now();
  const settings: Setting[] = [];
  const files: string[] = [];

  const runOne = async (spec: AnnotatorSpec, n: number, seed: number): Promise<RunResult> => {
    const subset = orders.get(seed)!.slice(0, n);
    const labels = [...(await (await labelSource(spec.base)).labels(subset))];
    if (spec.goldMix) {
      const g = Math.min(options.goldMix, Math.floor(n / 2));
      for (let k = 0; k < g; k++) labels[k] = target.train[subset[k]].spans;
    }
    const gold = subset.map((i) => target.train[i].spans);
    const labelF1 = spanMetrics(gold.map((g, k) => ({ gold: g, pred: labels[k] }))).strict.micro.f1;
    const notes = subset.map((i, k) => ({ text: target.train[i].text, spans: labels[k] }));
    const examples = examplesOf(ctx, notes, {
      ...(spec.weighted ? { weightByConfidence: true } : {}),
      ...(spec.filtered ? { minConfidence: options.minConfidence } : {}),
    });
    const trained = await train(ctx, source.weights, examples.examples, {
      epochs: options.adaptEpochs,
      minSteps: options.adaptMinSteps,
      lr: options.adaptLr,
      batchSize: options.adaptBatch,
      seed,
    });
    const predictions = await predictSpans(ctx, trained.weights, testTexts);
    return {
      annotator: spec.name,
      n,
      seed,
      ...scoreRun(target.test, predictions),
      labelF1,
      labelSpans: labels.reduce((sum, l) => sum + l.length, 0),
      lostSpans: examples.lost.length,
      belowThreshold: examples.belowThreshold,
      steps: trained.steps,
      trainSeconds: trained.seconds,
      predictions,
    };
  };

  const writeOutputs = () => {
    files.length = 0;
    const write = (name: string, content: string) => {
      const path = join(out, name);
      writeFileSync(path, content);
      files.push(path);
    };
    const configuration = [
      `source ${names.source}: ${source.sentences} train sentences${sourceTrain.length < sourceCorpus.train.length ? ` (a seeded subset of ${sourceCorpus.train.length}, --source-limit)` : " (all)"}, epoch chosen on ${sourceDev.length} source dev sentences: epoch ${source.bestEpoch} of ${options.sourceEpochs}, source dev strict F1 ${source.devF1.toFixed(3)}${source.cached ? " (cached model)" : ""}`,
      `target ${names.target}: ${target.train.length} train notes (N drawn per seed, nested), ${target.test.length} test notes`,
      `vocabulary: WordPiece over ${options.vocab === "source+target" ? "source and target train texts (unlabelled target text is available to the hospital)" : "source train texts only"}, ${ctx.vocabSize} tokens, lowercased, accents kept`,
      `model: BERT from random weights, ${options.layers} layers × ${options.hidden} hidden, ${options.heads} heads, ${paramCount.toLocaleString("en")} parameters, windows of ${options.maxLength} tokens`,
      `source training: batch ${options.sourceBatch}, lr ${options.sourceLr}, AdamW, 10% warm-up, linear decay (${minutes(source.seconds)})`,
      `adaptation: full fine-tuning from the source weights, max(${options.adaptEpochs} epochs, ${options.adaptMinSteps} steps), batch ${options.adaptBatch}, lr ${options.adaptLr}; ${options.seeds} seed(s) (seed = note subset, batch order, dropout)`,
      `simulated LLMs: ${options.samples} self-consistency sample(s), consistency ${options.consistency}, majority vote; +filtered keeps confidence ≥ ${options.minConfidence}; +gold-mix: ${options.goldMix} of the N notes gold (at most N/2)`,
      `bootstrap: ${options.bootstrap} resamples of the ${target.test.length} test notes, seeds pooled`,
      `wall time so far: ${minutes(elapsed())}`,
    ];
    write("table.md", markdownReport({ title: `Adaptation benchmark: ${names.source} → ${names.target}`, configuration, annotatorInfo, source: sourceOnly, settings, methods: METHODS }));
    const isBase = (a: string) => !a.includes("+");
    write("learning-curve.svg", curvePlot(`${names.source} → ${names.target}: strict F1 by annotator`, sourceOnly, settings, isBase));
    write("learning-curve-lenient.svg", curvePlot(`${names.source} → ${names.target}: lenient F1 by annotator`, sourceOnly, settings, isBase, "lenient"));
    for (const plain of new Set(settings.filter((x) => x.vsPlain).map((x) => x.vsPlain!.plain))) {
      write(`noisy-labels-${plain}.svg`, curvePlot(`${plain}: ways of training on noisy labels`, sourceOnly, settings, (a) => a === plain || a.startsWith(`${plain}+`)));
    }
    const strip = (s: Setting) => ({ ...s, runs: s.runs.map(({ predictions: _, ...r }) => r) });
    write("results.json", JSON.stringify({ options: { ...options, apiKey: undefined }, names, source: { ...strip(sourceOnly), devF1: source.devF1, bestEpoch: source.bestEpoch, epochs: source.epochs }, annotators: annotatorInfo, settings: settings.map(strip), lines }, null, 1));
  };

  log(`${totalRuns} adaptation runs: ${specs.length} annotators × N ${counts.join("/")} × ${seeds.length} seed(s)`);
  for (const spec of specs) {
    for (const n of counts) {
      const runs: RunResult[] = [];
      for (const seed of seeds) {
        const result = await runOne(spec, n, seed);
        runs.push(result);
        doneRuns++;
        doneWeight += weightOf(n);
        const spent = (performance.now() - adaptStarted) / 1000;
        const eta = (spent / doneWeight) * (totalWeight - doneWeight);
        log(
          `[${doneRuns}/${totalRuns}] ${spec.name} N=${n} seed ${seed}: strict F1 ${result.strictF1.toFixed(4)} (label F1 ${result.labelF1.toFixed(3)}, ${result.steps} steps in ${result.trainSeconds.toFixed(1)} s); about ${minutes(eta)} left`,
        );
      }
      const plainSpec = spec.name.includes("+") ? settings.find((x) => x.annotator === spec.base && x.n === n) : undefined;
      const setting = aggregate(target.test, spec.name, nOption(n), runs, sourceRun, plainSpec, options.bootstrap);
      settings.push(setting);
      emit(jsonLine(setting, names));
      writeOutputs();
    }
  }
  writeOutputs();
  log(`done in ${minutes(elapsed())}; ${files.map((f) => f.replace(`${process.cwd()}/`, "")).join(", ")}`);
  return { options, source: sourceOnly, settings, lines, files };
}
