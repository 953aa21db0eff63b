// Learning curves: the same model trained on n notes with several seeds, scored on gold.
// A point is one run; the curve shows mean ± std across seeds at each n.

import type { SpanMetrics } from "./span-metrics.ts";

/** Flat, named numbers of one run (e.g. strictF1, lenientF1), so any metric can be plotted. */
export type CurveMetrics = Record<string, number>;

export interface LearningCurvePoint {
  /** Number of training notes. */
  nNotes: number;
  seed: number;
  metrics: CurveMetrics;
}

export interface LearningCurveSummary {
  nNotes: number;
  /** Seeds of the runs at this n, ascending. */
  seeds: number[];
  mean: CurveMetrics;
  /** Sample standard deviation (n − 1 in the denominator); 0 with a single run. */
  std: CurveMetrics;
  /** Runs that gave each metric (a run may lack one). */
  count: Record<string, number>;
}

/** The numbers a learning curve usually plots, from a full span-metrics result. */
export function curveMetrics(metrics: Pick<SpanMetrics, "strict" | "lenient">): CurveMetrics {
  return {
    strictPrecision: metrics.strict.micro.precision,
    strictRecall: metrics.strict.micro.recall,
    strictF1: metrics.strict.micro.f1,
    strictMacroF1: metrics.strict.macro.f1,
    lenientPrecision: metrics.lenient.micro.precision,
    lenientRecall: metrics.lenient.micro.recall,
    lenientF1: metrics.lenient.micro.f1,
    lenientMacroF1: metrics.lenient.macro.f1,
  };
}

/** Mean and standard deviation per n, ascending in n. Non-finite values are left out. */
export function aggregateLearningCurve(points: readonly LearningCurvePoint[]): LearningCurveSummary[] {
  const byN = new Map<number, LearningCurvePoint[]>();
  for (const point of points) {
    const group = byN.get(point.nNotes);
    if (group) group.push(point);
    else byN.set(point.nNotes, [point]);
  }
  return [...byN.keys()]
    .sort((a, b) => a - b)
    .map((nNotes) => {
      const runs = byN.get(nNotes)!;
      const values = new Map<string, number[]>();
      for (const run of runs) {
        for (const [name, value] of Object.entries(run.metrics)) {
          if (!Number.isFinite(value)) continue;
          const list = values.get(name);
          if (list) list.push(value);
          else values.set(name, [value]);
        }
      }
      const mean: CurveMetrics = {};
      const std: CurveMetrics = {};
      const count: Record<string, number> = {};
      for (const [name, list] of values) {
        const m = list.reduce((sum, v) => sum + v, 0) / list.length;
        const variance = list.length > 1 ? list.reduce((sum, v) => sum + (v - m) ** 2, 0) / (list.length - 1) : 0;
        mean[name] = m;
        std[name] = Math.sqrt(variance);
        count[name] = list.length;
      }
      return { nNotes, seeds: runs.map((run) => run.seed).sort((a, b) => a - b), mean, std, count };
    });
}
