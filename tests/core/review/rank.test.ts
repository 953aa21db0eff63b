import { describe, expect, it } from "vitest";
import type { Span } from "../../../src/core/corpus/types.ts";
import { disagreementOf, rankNotes, uncertaintyOf } from "../../../src/core/review/rank.ts";

const span = (start: number, end: number, type: string, confidence?: number): Span =>
  confidence === undefined ? { start, end, type } : { start, end, type, confidence };

describe("disagreementOf", () => {
  it("is 1 − the mean of strict and lenient F1 between the LLM and the model", () => {
    // strict: 0-5 A matches, 10-15 B vs 11-15 B does not: tp 1, fp 1, fn 1 → F1 0.5.
    // lenient: both match → F1 1. Disagreement 1 − 0.75.
    expect(disagreementOf([span(0, 5, "A"), span(10, 15, "B")], [span(0, 5, "A"), span(11, 15, "B")])).toEqual({ strictF1: 0.5, lenientF1: 1, value: 0.25 });
  });

  it("is 0 when neither found anything, and 1 when they share nothing", () => {
    expect(disagreementOf([], []).value).toBe(0);
    expect(disagreementOf([span(0, 5, "A")], []).value).toBe(1);
  });
});

describe("uncertaintyOf", () => {
  it("averages 1 − |2c − 1| over the LLM's spans and counts those near 0.5", () => {
    // c = 0.5 → 1, c = 1 → 0, c = 0.6 → 0.8, no confidence (one greedy answer) → 0.
    const result = uncertaintyOf([span(0, 1, "A", 0.5), span(2, 3, "A", 1), span(4, 5, "A", 0.6), span(6, 7, "A")]);
    expect(result.value).toBeCloseTo(1.8 / 4, 12);
    expect(result.uncertainSpans).toBe(2);
    expect(result.spans).toBe(4);
  });
});

describe("rankNotes", () => {
  it("puts the notes where a review helps most first, with a reason for each; ties keep note order", () => {
    const ranked = rankNotes([
      { noteId: 1, llm: [span(0, 5, "A"), span(10, 15, "B")], model: [span(0, 5, "A"), span(11, 15, "B")] }, // 0.25
      { noteId: 2, llm: [span(0, 5, "A", 0.5), span(10, 15, "B", 1)] }, // uncertainty (1 + 0) / 2
      { noteId: 3, llm: [], model: [] }, // 0
      { noteId: 4 }, // 0
      { noteId: 5, llm: [span(0, 5, "A", 0.6)], model: [] }, // 1 + 0.8
    ]);
    expect(ranked.map((note) => note.noteId)).toEqual([5, 2, 1, 3, 4]);
    expect(ranked.map((note) => note.score)).toEqual([1.8, 0.5, 0.25, 0, 0].map((value) => expect.closeTo(value, 12)));
    expect(ranked[0].reason).toBe("LLM and model disagree: span F1 0.00 strict, 0.00 lenient (LLM 1 spans, model 0); 1 of 1 LLM spans uncertain across samples (confidence near 0.5)");
    expect(ranked[1].reason).toBe("only the LLM annotated it; 1 of 2 LLM spans uncertain across samples (confidence near 0.5)");
    expect(ranked[2].reason).toBe("LLM and model disagree: span F1 0.50 strict, 1.00 lenient (LLM 2 spans, model 2); LLM spans all certain");
    expect(ranked[3].reason).toBe("LLM and model agree (0 spans)");
    expect(ranked[4].reason).toBe("no machine annotations yet");
  });
});
