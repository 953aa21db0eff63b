import { describe, expect, it } from "vitest";
import type { Span } from "../../../src/core/corpus/types.ts";
import { spanMetrics, strictCounts } from "../../../src/core/eval/span-metrics.ts";
import { bioToSpans, type TokenOffset } from "../../../src/core/text/bio.ts";
import { seededRandom } from "../../../src/core/eval/bootstrap.ts";
import { seqevalScores } from "./seqeval-reference.ts";

/** One word per tag, words "w0 w1 ..." separated by single spaces. */
function wordTokens(count: number): TokenOffset[] {
  const tokens: TokenOffset[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const length = String(i).length + 1;
    tokens.push({ start: at, end: at + length });
    at += length + 1;
  }
  return tokens;
}

interface TaggedNote {
  gold: string[];
  pred: string[];
}

function expectSeqevalAgreement(notes: TaggedNote[]): void {
  const reference = seqevalScores(
    notes.map((n) => n.gold),
    notes.map((n) => n.pred),
  );
  const metrics = spanMetrics(
    notes.map((note) => {
      const tokens = wordTokens(note.gold.length);
      return { gold: bioToSpans(tokens, note.gold), pred: bioToSpans(tokens, note.pred) };
    }),
  );
  expect(metrics.types).toEqual(Object.keys(reference.perType));
  for (const key of ["precision", "recall", "f1"] as const) {
    expect(metrics.strict.micro[key]).toBeCloseTo(reference.micro[key], 12);
    expect(metrics.strict.macro[key]).toBeCloseTo(reference.macro[key], 12);
  }
  for (const [type, ref] of Object.entries(reference.perType)) {
    const ours = metrics.strict.perType[type];
    expect(ours.tp).toBe(ref.tp);
    expect(ours.tp + ours.fp).toBe(ref.pred);
    expect(ours.tp + ours.fn).toBe(ref.true);
    expect(ours.f1).toBeCloseTo(ref.f1, 12);
  }
  const { fp, fn } = metrics.errors;
  expect(Object.values(fp).reduce((a, b) => a + b, 0)).toBe(metrics.strict.micro.fp);
  expect(Object.values(fn).reduce((a, b) => a + b, 0)).toBe(metrics.strict.micro.fn);
}

describe("strict span metrics equal seqeval entity scores", () => {
  const cases: [string, TaggedNote[]][] = [
    ["seqeval's docstring example", [
      { gold: ["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], pred: ["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"] },
      { gold: ["B-PER", "I-PER", "O"], pred: ["B-PER", "I-PER", "O"] },
    ]],
    ["adjacent spans of one type (B-X B-X)", [
      { gold: ["B-X", "B-X", "I-X", "O"], pred: ["B-X", "I-X", "I-X", "O"] },
      { gold: ["B-X", "B-X"], pred: ["B-X", "B-X"] },
    ]],
    ["spans of different types touching", [
      { gold: ["B-X", "B-Y", "I-Y", "O"], pred: ["B-X", "I-Y", "I-Y", "O"] },
      { gold: ["B-X", "I-X", "B-Y"], pred: ["B-X", "I-Y", "B-Y"] },
    ]],
    ["I- without B- (repaired as a start)", [
      { gold: ["O", "I-X", "I-X", "O"], pred: ["O", "B-X", "I-X", "O"] },
      { gold: ["I-X", "O", "I-Y"], pred: ["I-Y", "O", "I-Y"] },
    ]],
    ["boundary and type errors", [
      { gold: ["B-X", "I-X", "I-X", "O", "B-Y", "I-Y"], pred: ["B-X", "I-X", "B-X", "O", "B-X", "I-X"] },
    ]],
    ["empty notes", [
      { gold: [], pred: [] },
      { gold: ["O", "O"], pred: ["O", "O"] },
      { gold: ["B-X"], pred: ["B-X"] },
    ]],
    ["a note with only predictions and one with only gold", [
      { gold: ["O", "O", "O"], pred: ["B-X", "O", "B-Y"] },
      { gold: ["B-Z", "I-Z", "O"], pred: ["O", "O", "O"] },
    ]],
    ["nothing at all", [{ gold: ["O"], pred: ["O"] }]],
    ["only predictions anywhere", [{ gold: ["O", "O"], pred: ["B-X", "I-X"] }]],
    ["only gold anywhere", [{ gold: ["B-X", "I-X"], pred: ["O", "O"] }]],
  ];
  it.each(cases)("%s", (_, notes) => expectSeqevalAgreement(notes));

  it("agrees on random tag sequences", () => {
    const random = seededRandom(7);
    const tags = ["O", "O", "O", "B-A", "I-A", "B-B", "I-B", "B-C", "I-C"];
    const draw = (length: number) => Array.from({ length }, () => tags[Math.floor(random() * tags.length)]);
    for (let trial = 0; trial < 50; trial++) {
      const notes = Array.from({ length: 1 + Math.floor(random() * 6) }, () => {
        const length = Math.floor(random() * 15);
        return { gold: draw(length), pred: draw(length) };
      });
      expectSeqevalAgreement(notes);
    }
  });
});

const span = (start: number, end: number, type: string): Span => ({ start, end, type });

describe("span metrics on hand-built spans", () => {
  it("scores a hand-computed table", () => {
    // gold: X[0,5) X[10,20) Y[30,40) Y[50,60)
    // pred: X[0,5) exact, X[12,18) boundary, X[30,40) type, Z[70,80) spurious; Y[50,60) missed
    const metrics = spanMetrics([
      {
        gold: [span(0, 5, "X"), span(10, 20, "X"), span(30, 40, "Y"), span(50, 60, "Y")],
        pred: [span(0, 5, "X"), span(12, 18, "X"), span(30, 40, "X"), span(70, 80, "Z")],
      },
    ]);
    expect(metrics.types).toEqual(["X", "Y", "Z"]);
    expect(metrics.strict.micro).toMatchObject({ tp: 1, fp: 3, fn: 3, precision: 0.25, recall: 0.25, f1: 0.25 });
    expect(metrics.strict.perType.X).toMatchObject({ tp: 1, fp: 2, fn: 1 });
    expect(metrics.strict.perType.Y).toMatchObject({ tp: 0, fp: 0, fn: 2, precision: 0, recall: 0, f1: 0 });
    expect(metrics.strict.perType.Z).toMatchObject({ tp: 0, fp: 1, fn: 0, precision: 0, recall: 0, f1: 0 });
    // X: P 1/3, R 1/2, F1 0.4; Y and Z: 0.
    expect(metrics.strict.macro.f1).toBeCloseTo(0.4 / 3, 12);
    expect(metrics.strict.macro.precision).toBeCloseTo(1 / 9, 12);
    expect(metrics.strict.macro.recall).toBeCloseTo(1 / 6, 12);

    // Lenient: X[12,18) now matches X[10,20); X[30,40) still does not match Y.
    expect(metrics.lenient.micro).toMatchObject({ tp: 2, fp: 2, fn: 2, f1: 0.5 });
    expect(metrics.lenient.perType.X).toMatchObject({ tp: 2, fp: 1, fn: 0 });

    expect(metrics.errors.fp).toEqual({ type: 1, boundary: 1, "boundary+type": 0, spurious: 1 });
    expect(metrics.errors.fn).toEqual({ type: 1, boundary: 1, "boundary+type": 0, missed: 1 });
    const typeError = metrics.errors.list.find((e) => e.side === "pred" && e.kind === "type");
    expect(typeError).toMatchObject({ note: 0, span: span(30, 40, "X"), other: span(30, 40, "Y") });
  });

  it("classifies a boundary+type error on both sides", () => {
    const metrics = spanMetrics([{ gold: [span(0, 10, "X")], pred: [span(5, 15, "Y")] }]);
    expect(metrics.errors.fp["boundary+type"]).toBe(1);
    expect(metrics.errors.fn["boundary+type"]).toBe(1);
    expect(metrics.lenient.micro.tp).toBe(0);
  });

  it("matches each gold at most once when predictions nest or overlap", () => {
    // Two predictions inside one gold span: one lenient match, one FP (a boundary error).
    const metrics = spanMetrics([{ gold: [span(0, 20, "X")], pred: [span(0, 8, "X"), span(5, 20, "X")] }]);
    expect(metrics.lenient.micro).toMatchObject({ tp: 1, fp: 1, fn: 0 });
    expect(metrics.strict.micro).toMatchObject({ tp: 0, fp: 2, fn: 1 });
    expect(metrics.errors.fp.boundary).toBe(2);
    expect(metrics.errors.fn.boundary).toBe(1);
    // The larger overlap wins: gold [0,20) pairs with pred [5,20), overlap 15 > 8.
    const again = spanMetrics([{ gold: [span(0, 20, "X"), span(18, 30, "X")], pred: [span(5, 20, "X")] }]);
    expect(again.lenient.micro).toMatchObject({ tp: 1, fp: 0, fn: 1 });
  });

  it("pairs greedily by largest overlap, and says so", () => {
    // g0 overlaps p0 by 5 and p1 by 1; g1 overlaps p0 by 4 only. Greedy takes (g0, p0)
    // first; then (g1, p0) and (g0, p1) are blocked: 1 pair where a maximum matching finds
    // 2, (g0, p1) and (g1, p0). This is the documented price of a simple, stable rule.
    const gold = [span(0, 10, "X"), span(14, 20, "X")];
    const pred = [span(5, 18, "X"), span(0, 1, "X")];
    const metrics = spanMetrics([{ gold, pred }]);
    expect(metrics.lenient.micro).toMatchObject({ tp: 1, fp: 1, fn: 1 });
    // The same spans given in another order give the same result.
    const shuffled = spanMetrics([{ gold: [...gold].reverse(), pred: [...pred].reverse() }]);
    expect(shuffled.lenient.micro).toEqual(metrics.lenient.micro);
  });

  it("counts exact duplicate spans once, like seqeval's sets", () => {
    const metrics = spanMetrics([{ gold: [span(0, 5, "X"), span(0, 5, "X")], pred: [span(0, 5, "X"), span(0, 5, "X")] }]);
    expect(metrics.strict.micro).toMatchObject({ tp: 1, fp: 0, fn: 0, f1: 1 });
    expect(metrics.lenient.micro).toMatchObject({ tp: 1, fp: 0, fn: 0 });
    expect(strictCounts([span(0, 5, "X")], [span(0, 5, "X"), span(0, 5, "X")])).toEqual({ tp: 1, fp: 0, fn: 0 });
  });

  it("gives zeros, not NaN, with no spans at all", () => {
    const metrics = spanMetrics([{ gold: [], pred: [] }]);
    expect(metrics.types).toEqual([]);
    expect(metrics.strict.micro).toEqual({ tp: 0, fp: 0, fn: 0, precision: 0, recall: 0, f1: 0 });
    expect(metrics.strict.macro).toEqual({ precision: 0, recall: 0, f1: 0 });
    expect(spanMetrics([]).lenient.micro.f1).toBe(0);
  });

  it("does not match spans across notes", () => {
    const metrics = spanMetrics([
      { gold: [span(0, 5, "X")], pred: [] },
      { gold: [], pred: [span(0, 5, "X")] },
    ]);
    expect(metrics.strict.micro).toMatchObject({ tp: 0, fp: 1, fn: 1 });
    expect(metrics.lenient.micro).toMatchObject({ tp: 0, fp: 1, fn: 1 });
    expect(metrics.errors.fp.spurious).toBe(1);
    expect(metrics.errors.fn.missed).toBe(1);
  });
});
