import { describe, expect, it } from "vitest";
import type { Span } from "../../../src/core/corpus/types.ts";
import { pairedBootstrap, seededRandom, type PairedNote } from "../../../src/core/eval/bootstrap.ts";
import { spanMetrics } from "../../../src/core/eval/span-metrics.ts";

const span = (start: number, end: number, type = "X"): Span => ({ start, end, type });

/** Notes with 4 gold spans each; each system finds each span with its own probability. */
function simulate(notes: number, baselineHit: number, candidateHit: number, seed: number): PairedNote[] {
  const random = seededRandom(seed);
  return Array.from({ length: notes }, () => {
    const gold = [span(0, 5), span(10, 15), span(20, 25), span(30, 35, "Y")];
    const system = (hit: number) => [
      ...gold.filter(() => random() < hit),
      ...(random() < 0.3 ? [span(40, 45)] : []), // an occasional false positive
    ];
    return { gold, baseline: system(baselineHit), candidate: system(candidateHit) };
  });
}

describe("pairedBootstrap", () => {
  it("reports the observed delta of strict micro F1", () => {
    const notes = simulate(40, 0.5, 0.8, 3);
    const result = pairedBootstrap(notes, { samples: 200 });
    const f1 = (pick: "baseline" | "candidate") => spanMetrics(notes.map((n) => ({ gold: n.gold, pred: n[pick] }))).strict.micro.f1;
    expect(result.baselineF1).toBeCloseTo(f1("baseline"), 12);
    expect(result.candidateF1).toBeCloseTo(f1("candidate"), 12);
    expect(result.delta).toBeCloseTo(f1("candidate") - f1("baseline"), 12);
    expect(result.delta).toBeGreaterThan(0);
    expect(result.low).toBeLessThanOrEqual(result.delta);
    expect(result.high).toBeGreaterThanOrEqual(result.delta);
    expect(result.low).toBeGreaterThan(0);
    expect(result.pValue).toBeLessThan(0.05);
  });

  it("is reproducible with a seed and varies with it", () => {
    const notes = simulate(30, 0.6, 0.65, 5);
    expect(pairedBootstrap(notes, { seed: 42 })).toEqual(pairedBootstrap(notes, { seed: 42 }));
    const a = pairedBootstrap(notes, { seed: 1 });
    const b = pairedBootstrap(notes, { seed: 2 });
    expect([a.low, a.high, a.pValue]).not.toEqual([b.low, b.high, b.pValue]);
  });

  it("gives an interval around zero and a large p-value for a small, noisy gap", () => {
    const result = pairedBootstrap(simulate(30, 0.6, 0.62, 9));
    expect(result.low).toBeLessThan(0);
    expect(result.high).toBeGreaterThan(0);
    expect(result.pValue).toBeGreaterThan(0.05);
  });

  it("gives delta 0 and p-value 1 for two identical systems", () => {
    const notes = simulate(20, 0.7, 0.7, 1).map((n) => ({ ...n, candidate: n.baseline }));
    expect(pairedBootstrap(notes, { samples: 100 })).toMatchObject({ delta: 0, low: 0, high: 0, pValue: 1 });
  });

  it("equals recomputing span metrics on each resample", () => {
    // The fast path sums per-note counts; the slow path rescoring the drawn notes must agree.
    const notes = simulate(15, 0.5, 0.7, 11);
    const samples = 30;
    const fast = pairedBootstrap(notes, { samples, seed: 3, confidence: 0.9 });
    const random = seededRandom(3);
    const deltas: number[] = [];
    for (let s = 0; s < samples; s++) {
      const drawn = notes.map(() => notes[Math.floor(random() * notes.length)]);
      const f1 = (pick: "baseline" | "candidate") => spanMetrics(drawn.map((n) => ({ gold: n.gold, pred: n[pick] }))).strict.micro.f1;
      deltas.push(f1("candidate") - f1("baseline"));
    }
    deltas.sort((a, b) => a - b);
    // 90% of 30 resamples: ranks floor(0.05 * 30) = 1 and ceil(0.95 * 30) - 1 = 28.
    expect(fast.low).toBeCloseTo(deltas[1], 12);
    expect(fast.high).toBeCloseTo(deltas[28], 12);
    expect(fast.pValue).toBe(deltas.filter((d) => d <= 0).length / samples);
  });

  it("runs B = 1000 over 2000 notes quickly", () => {
    const notes = simulate(2000, 0.6, 0.7, 13);
    const started = performance.now();
    const result = pairedBootstrap(notes);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(result.samples).toBe(1000);
  });

  it("refuses input it cannot use", () => {
    expect(() => pairedBootstrap([])).toThrow(/at least one gold note/);
    const notes = simulate(2, 0.5, 0.5, 1);
    expect(() => pairedBootstrap(notes, { samples: 0 })).toThrow(/positive integer/);
    expect(() => pairedBootstrap(notes, { confidence: 1 })).toThrow(/between 0 and 1/);
  });
});
