import { describe, expect, it } from "vitest";
import type { Span } from "../../../src/core/corpus/types.ts";
import { agreementReport, agreementTokens, humanVsHuman, llmVsHuman, type ReviewRecord } from "../../../src/core/eval/review-agreement.ts";

const span = (start: number, end: number, type: string): Span => ({ start, end, type });
// aspirin 0-7, and 8-11, ibuprofen 12-21, cause 22-27, gastritis 28-37
const TEXT = "aspirin and ibuprofen cause gastritis";
const ANA = [span(0, 7, "Chemical"), span(12, 21, "Chemical"), span(28, 37, "Disease")];
const BEN = [span(0, 7, "Chemical"), span(28, 37, "Chemical")];

describe("agreementTokens", () => {
  it("splits words, and Han and kana one character each", () => {
    const text = "胸痛とCT検査, fever";
    expect(agreementTokens(text).map(({ start, end }) => text.slice(start, end))).toEqual(["胸", "痛", "と", "CT", "検", "査", ",", "fever"]);
  });
});

describe("llmVsHuman", () => {
  it("scores the LLM with the reviews as gold, strict and lenient, per type", () => {
    const result = llmVsHuman([
      { human: [span(0, 5, "A"), span(10, 15, "B"), span(20, 25, "A")], llm: [span(0, 5, "A"), span(11, 15, "B"), span(30, 35, "A")] },
    ]);
    // strict A: tp 1, fp 1, fn 1 → 0.5; B: tp 0, fp 1, fn 1 → 0; micro tp 1, fp 2, fn 2 → 1/3.
    expect(result.strict.perType.A.f1).toBeCloseTo(0.5, 12);
    expect(result.strict.perType.B.f1).toBe(0);
    expect(result.strict.micro.f1).toBeCloseTo(1 / 3, 12);
    // lenient B: 11-15 overlaps 10-15 → 1; micro tp 2, fp 1, fn 1 → 2/3.
    expect(result.lenient.perType.B.f1).toBe(1);
    expect(result.lenient.micro.f1).toBeCloseTo(2 / 3, 12);
    expect(result.types).toEqual(["A", "B"]);
  });
});

describe("humanVsHuman", () => {
  it("gives span F1 and token kappa between two reviewers", () => {
    const result = humanVsHuman("ana", "ben", [{ text: TEXT, a: ANA, b: BEN }]);
    // strict: tp 1 (aspirin), fp 1, fn 2 → P 1/2, R 1/3, F1 0.4.
    expect(result.strict.f1).toBeCloseTo(0.4, 12);
    // tokens: (C,C) (O,O) (C,O) (O,O) (D,C): po 0.6; a = {C 2, O 2, D 1}, b = {C 2, O 3}: pe = (4 + 6) / 25 = 0.4.
    expect(result.kappa.observed).toBeCloseTo(0.6, 12);
    expect(result.kappa.kappa).toBeCloseTo(1 / 3, 12);
  });
});

describe("agreementReport", () => {
  const day1 = Date.UTC(2025, 4, 1, 9);
  const day2 = Date.UTC(2025, 4, 2, 10);
  const reviews: ReviewRecord[] = [
    { noteId: 1, text: TEXT, reviewer: "ana", reviewedAt: day2, spans: ANA },
    { noteId: 1, text: TEXT, reviewer: "ben", reviewedAt: day2 + 3600_000, spans: BEN },
    { noteId: 2, text: "no findings", reviewer: "ana", reviewedAt: day2, spans: [] },
    { noteId: 3, text: "fever", reviewer: "ana", reviewedAt: day1, spans: [span(0, 5, "Disease")] },
  ];
  const llm = new Map<number, Span[]>([
    [1, [span(0, 7, "Chemical"), span(28, 37, "Disease")]],
    [3, [span(0, 5, "Disease")]],
  ]);

  it("scores the LLM on each note's latest review, pairs reviewers of the same note, and splits by day", () => {
    const report = agreementReport(reviews, (noteId) => llm.get(noteId));
    // LLM vs latest reviews: note 1 (ben) Chemical tp 1, fn 1; Disease fp 1; note 3 Disease tp 1. Note 2 has no LLM spans.
    expect(report.llm.notes).toBe(2);
    expect(report.llm.strict.micro.f1).toBeCloseTo(2 / 3, 12);
    expect(report.llm.strict.perType.Chemical).toMatchObject({ tp: 1, fp: 0, fn: 1 });
    expect(report.llm.strict.perType.Disease).toMatchObject({ tp: 1, fp: 1, fn: 0 });
    expect(report.humans).toHaveLength(1);
    expect(report.humans[0]).toMatchObject({ a: "ana", b: "ben", notes: 1 });
    expect(report.humans[0].strict.f1).toBeCloseTo(0.4, 12);
    expect(report.humans[0].kappa.kappa).toBeCloseTo(1 / 3, 12);
    expect(report.overTime).toEqual([
      { day: "2025-05-01", llmNotes: 1, llmStrictF1: 1, llmLenientF1: 1, humanNotes: 0, humanStrictF1: 0, humanKappa: 0 },
      {
        day: "2025-05-02",
        llmNotes: 1,
        llmStrictF1: 0.5,
        llmLenientF1: 0.5,
        humanNotes: 1,
        humanStrictF1: expect.closeTo(0.4, 12),
        humanKappa: expect.closeTo(1 / 3, 12),
      },
    ]);
  });
});
