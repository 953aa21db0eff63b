// Results of the adaptation benchmark: per-setting aggregates over seeds, paired bootstrap
// intervals, the JSON lines, the markdown report and the learning-curve plots.

import type { Span } from "../../../src/core/corpus/types.ts";
import { pairedBootstrap, type PairedBootstrapResult } from "../../../src/core/eval/bootstrap.ts";
import { type SpanMetrics, spanMetrics } from "../../../src/core/eval/span-metrics.ts";
import { round } from "./annotators.ts";
import type { Note } from "./corpus.ts";
import { type CurveSeries, learningCurveSvg } from "./svg.ts";

/** One adapted model (or the source model), scored on the target test split. */
export interface RunResult {
  annotator: string;
  n: number;
  seed: number;
  strictF1: number;
  lenientF1: number;
  strictPrecision: number;
  strictRecall: number;
  perTypeStrict: Record<string, number>;
  perTypeLenient: Record<string, number>;
  /** Strict F1 of the training labels against gold on the N notes (1 for gold). */
  labelF1: number;
  labelSpans: number;
  /** Label spans no token could carry, and spans left out for low confidence. */
  lostSpans: number;
  belowThreshold: number;
  steps: number;
  trainSeconds: number;
  predictions: Span[][];
}

export interface Setting {
  annotator: string;
  n: number;
  /** "all" when N was given as all. */
  nOption: number | "all";
  runs: RunResult[];
  strictF1: number;
  strictF1Std: number;
  lenientF1: number;
  lenientF1Std: number;
  labelF1: number;
  vsSource: PairedBootstrapResult;
  /** For annotators with methods (`x+weighted`): against the same annotator without them. */
  vsPlain?: PairedBootstrapResult & { plain: string };
}

export function scoreRun(test: readonly Note[], predictions: Span[][]): Pick<RunResult, "strictF1" | "lenientF1" | "strictPrecision" | "strictRecall" | "perTypeStrict" | "perTypeLenient"> {
  const metrics: SpanMetrics = spanMetrics(test.map((note, i) => ({ gold: note.spans, pred: predictions[i] })));
  const perType = (scores: SpanMetrics["strict"]) => Object.fromEntries(Object.entries(scores.perType).map(([type, s]) => [type, s.f1]));
  return {
    strictF1: metrics.strict.micro.f1,
    lenientF1: metrics.lenient.micro.f1,
    strictPrecision: metrics.strict.micro.precision,
    strictRecall: metrics.strict.micro.recall,
    perTypeStrict: perType(metrics.strict),
    perTypeLenient: perType(metrics.lenient),
  };
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
const std = (values: number[]) => {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((sum, v) => sum + (v - m) ** 2, 0) / (values.length - 1));
};

/**
 * Paired bootstrap over test notes of candidate runs (one per seed) against baseline runs
 * (one per seed, or a single one for every seed). A resampled note carries all seeds'
 * spans, each seed's shifted into its own character range, so pairedBootstrap sums the
 * counts of every seed: the interval is for the pooled (seed-averaged) micro F1 and
 * resamples notes only, which is where the uncertainty of an 11-note test set lies.
 */
export function pooledBootstrap(test: readonly Note[], baseline: Span[][][], candidate: Span[][][], samples: number, seed = 1): PairedBootstrapResult {
  const stride = Math.max(1, ...test.map((n) => n.text.length)) + 1;
  const shift = (spans: readonly Span[], k: number) => spans.map((s) => ({ start: s.start + k * stride, end: s.end + k * stride, type: s.type }));
  const notes = test.map((note, i) => ({
    gold: candidate.flatMap((_, k) => shift(note.spans, k)),
    baseline: candidate.flatMap((_, k) => shift((baseline[k] ?? baseline[0])[i], k)),
    candidate: candidate.flatMap((run, k) => shift(run[i], k)),
  }));
  return pairedBootstrap(notes, { samples, seed });
}

export function aggregate(test: readonly Note[], annotator: string, nOption: number | "all", runs: RunResult[], source: RunResult, plain: Setting | undefined, samples: number): Setting {
  const setting: Setting = {
    annotator,
    n: runs[0].n,
    nOption,
    runs,
    strictF1: mean(runs.map((r) => r.strictF1)),
    strictF1Std: std(runs.map((r) => r.strictF1)),
    lenientF1: mean(runs.map((r) => r.lenientF1)),
    lenientF1Std: std(runs.map((r) => r.lenientF1)),
    labelF1: mean(runs.map((r) => r.labelF1)),
    vsSource: pooledBootstrap(test, [source.predictions], runs.map((r) => r.predictions), samples),
  };
  if (plain) {
    const bySeed = new Map(plain.runs.map((r) => [r.seed, r.predictions]));
    const baseline = runs.map((r) => bySeed.get(r.seed) ?? plain.runs[0].predictions);
    setting.vsPlain = { ...pooledBootstrap(test, baseline, runs.map((r) => r.predictions), samples), plain: plain.annotator };
  }
  return setting;
}

export function sourceSetting(test: readonly Note[], source: RunResult): Setting {
  const self = pooledBootstrap(test, [source.predictions], [source.predictions], 1);
  return { annotator: "source-only", n: 0, nOption: 0, runs: [source], strictF1: source.strictF1, strictF1Std: 0, lenientF1: source.lenientF1, lenientF1Std: 0, labelF1: NaN, vsSource: self };
}

export function jsonLine(setting: Setting, names: { source: string; target: string }): Record<string, unknown> {
  const types = Object.keys(setting.runs[0].perTypeStrict).sort();
  const perType = (pick: (r: RunResult) => Record<string, number>) =>
    Object.fromEntries(types.map((t) => [t, round(mean(setting.runs.map((r) => pick(r)[t] ?? 0)))]));
  return {
    bench: "adapt",
    source: names.source,
    target: names.target,
    annotator: setting.annotator,
    n: setting.n,
    ...(setting.nOption === "all" ? { n_option: "all" } : {}),
    seeds: setting.runs.length,
    strict_f1: round(setting.strictF1),
    strict_f1_std: round(setting.strictF1Std),
    lenient_f1: round(setting.lenientF1),
    lenient_f1_std: round(setting.lenientF1Std),
    strict_precision: round(mean(setting.runs.map((r) => r.strictPrecision))),
    strict_recall: round(mean(setting.runs.map((r) => r.strictRecall))),
    delta_vs_source: round(setting.vsSource.delta),
    delta_vs_source_low: round(setting.vsSource.low),
    delta_vs_source_high: round(setting.vsSource.high),
    delta_vs_source_p: round(setting.vsSource.pValue, 3),
    ...(setting.vsPlain
      ? {
          vs: setting.vsPlain.plain,
          delta_vs_plain: round(setting.vsPlain.delta),
          delta_vs_plain_low: round(setting.vsPlain.low),
          delta_vs_plain_high: round(setting.vsPlain.high),
        }
      : {}),
    ...(Number.isFinite(setting.labelF1) ? { label_f1: round(setting.labelF1) } : {}),
    per_type_strict_f1: perType((r) => r.perTypeStrict),
    per_type_lenient_f1: perType((r) => r.perTypeLenient),
    steps: Math.round(mean(setting.runs.map((r) => r.steps))),
    train_s: round(mean(setting.runs.map((r) => r.trainSeconds)), 1),
  };
}

const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : "–");
const signed = (v: number) => (v >= 0 ? "+" : "−") + Math.abs(v).toFixed(3);
const interval = (b: PairedBootstrapResult) => `${signed(b.delta)} [${signed(b.low)}, ${signed(b.high)}]`;

export interface ReportInput {
  title: string;
  configuration: string[];
  annotatorInfo: Record<string, Record<string, unknown>>;
  source: Setting;
  settings: Setting[];
  methods: readonly string[];
}

export function markdownReport(input: ReportInput): string {
  const lines: string[] = [`# ${input.title}`, "", ...input.configuration.map((c) => `- ${c}`), ""];

  lines.push("## Annotators", "", "| annotator | details |", "|---|---|");
  for (const [name, info] of Object.entries(input.annotatorInfo)) lines.push(`| ${name} | ${Object.entries(info).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join("; ") || "–"} |`);
  lines.push("");

  lines.push(
    "## Target test F1 (mean over seeds)",
    "",
    "Δ: pooled strict micro F1 minus source-only, with the 95% paired-bootstrap interval over test notes (B resamples; all seeds pooled).",
    "",
    "| annotator | N | label F1 | strict F1 | ± std | lenient F1 | ± std | Δ strict vs source-only [95% CI] |",
    "|---|---:|---:|---:|---:|---:|---:|---|",
  );
  const s = input.source;
  lines.push(`| source-only | 0 | – | ${f(s.strictF1)} | – | ${f(s.lenientF1)} | – | – |`);
  for (const setting of input.settings) {
    lines.push(
      `| ${setting.annotator} | ${setting.n} | ${f(setting.labelF1)} | ${f(setting.strictF1)} | ${f(setting.strictF1Std)} | ${f(setting.lenientF1)} | ${f(setting.lenientF1Std)} | ${interval(setting.vsSource)} |`,
    );
  }
  lines.push("");

  const variants = input.settings.filter((x) => x.vsPlain);
  if (variants.length > 0) {
    lines.push(
      "## Noisy labels: which way of training helps",
      "",
      "Strict F1 of each method; in brackets Δ against the same annotator's plain labels with its 95% paired-bootstrap interval. " +
        "**helps**: the interval lies above 0; *hurts*: below 0; otherwise the difference is within noise.",
      "",
      `| annotator | N | plain | ${input.methods.map((m) => `+${m}`).join(" | ")} | best |`,
      `|---|---:|---:|${input.methods.map(() => "---|").join("")}---|`,
    );
    const plains = [...new Set(variants.map((v) => v.vsPlain!.plain))];
    for (const plain of plains) {
      for (const n of [...new Set(variants.filter((v) => v.vsPlain!.plain === plain).map((v) => v.n))]) {
        const base = input.settings.find((x) => x.annotator === plain && x.n === n);
        const cells = input.methods.map((m) => {
          const v = variants.find((x) => x.annotator === `${plain}+${m}` && x.n === n);
          if (!v) return "–";
          const verdict = v.vsPlain!.low > 0 ? " **helps**" : v.vsPlain!.high < 0 ? " *hurts*" : "";
          return `${f(v.strictF1)} (${interval(v.vsPlain!)})${verdict}`;
        });
        const candidates = [base, ...input.methods.map((m) => variants.find((x) => x.annotator === `${plain}+${m}` && x.n === n))].filter(
          (x): x is Setting => x !== undefined,
        );
        const best = candidates.sort((a, b) => b.strictF1 - a.strictF1)[0];
        const bestName = best.annotator === plain ? "plain" : `+${best.annotator.slice(plain.length + 1)}`;
        lines.push(`| ${plain} | ${n} | ${base ? f(base.strictF1) : "–"} | ${cells.join(" | ")} | ${bestName} |`);
      }
    }
    lines.push("");
  }

  const largest = Math.max(...input.settings.map((x) => x.n));
  const atLargest = input.settings.filter((x) => x.n === largest);
  const types = Object.keys(s.runs[0].perTypeStrict).sort();
  if (atLargest.length > 0 && types.length > 0) {
    lines.push(`## Strict F1 per type (N = ${largest})`, "", `| annotator | ${types.join(" | ")} |`, `|---|${types.map(() => "---:|").join("")}`);
    const row = (setting: Setting) => types.map((t) => f(mean(setting.runs.map((r) => r.perTypeStrict[t] ?? 0))));
    lines.push(`| source-only | ${row(s).join(" | ")} |`);
    for (const setting of atLargest) lines.push(`| ${setting.annotator} | ${row(setting).join(" | ")} |`);
    lines.push("");
  }
  return lines.join("\n");
}

/** Learning curves: one line per annotator; `filter` picks the annotators of one figure. */
export function curvePlot(title: string, source: Setting, settings: Setting[], filter: (annotator: string) => boolean, metric: "strict" | "lenient" = "strict"): string {
  const names = [...new Set(settings.map((s) => s.annotator))].filter(filter);
  const series: CurveSeries[] = names.map((name) => ({
    name,
    dashed: name.includes("+"),
    points: settings
      .filter((s) => s.annotator === name)
      .map((s) => ({ x: s.n, y: metric === "strict" ? s.strictF1 : s.lenientF1, err: metric === "strict" ? s.strictF1Std : s.lenientF1Std })),
  }));
  return learningCurveSvg({
    title,
    xLabel: "annotated target notes (N)",
    yLabel: `${metric} F1 (micro) on target test`,
    series,
    baseline: { name: "source-only", y: metric === "strict" ? source.strictF1 : source.lenientF1 },
  });
}
