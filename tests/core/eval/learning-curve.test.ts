import { describe, expect, it } from "vitest";
import { aggregateLearningCurve, curveMetrics } from "../../../src/core/eval/learning-curve.ts";
import { spanMetrics } from "../../../src/core/eval/span-metrics.ts";

describe("aggregateLearningCurve", () => {
  it("gives mean and sample standard deviation per n, ascending", () => {
    const summary = aggregateLearningCurve([
      { nNotes: 50, seed: 2, metrics: { strictF1: 0.6 } },
      { nNotes: 10, seed: 1, metrics: { strictF1: 0.3, lenientF1: 0.5 } },
      { nNotes: 50, seed: 1, metrics: { strictF1: 0.7 } },
      { nNotes: 10, seed: 2, metrics: { strictF1: 0.5, lenientF1: Number.NaN } },
      { nNotes: 50, seed: 3, metrics: { strictF1: 0.8 } },
    ]);
    expect(summary.map((s) => s.nNotes)).toEqual([10, 50]);
    expect(summary[0].seeds).toEqual([1, 2]);
    expect(summary[0].mean.strictF1).toBeCloseTo(0.4, 12);
    expect(summary[0].std.strictF1).toBeCloseTo(Math.sqrt(0.02), 12);
    // A NaN is left out, so one run remains: std 0.
    expect(summary[0]).toMatchObject({ mean: { lenientF1: 0.5 }, std: { lenientF1: 0 }, count: { lenientF1: 1, strictF1: 2 } });
    expect(summary[1].mean.strictF1).toBeCloseTo(0.7, 12);
    expect(summary[1].std.strictF1).toBeCloseTo(0.1, 12);
  });

  it("is empty for no points", () => {
    expect(aggregateLearningCurve([])).toEqual([]);
  });

  it("flattens span metrics into plottable numbers", () => {
    const metrics = spanMetrics([{ gold: [{ start: 0, end: 4, type: "X" }], pred: [{ start: 0, end: 3, type: "X" }] }]);
    expect(curveMetrics(metrics)).toMatchObject({ strictF1: 0, lenientF1: 1, strictMacroF1: 0, lenientMacroF1: 1 });
  });
});
