import { describe, expect, it } from "vitest";
import { mergeChunkSpans, splitIntoChunks } from "../../../src/core/annotate/chunk.ts";
import type { AnnotatedSpan } from "../../../src/core/annotate/types.ts";

const span = (start: number, end: number, type = "DISO", confidence = 1): AnnotatedSpan => ({ start, end, type, confidence, match: "exact", score: 1 });

describe("splitIntoChunks", () => {
  const text = Array.from({ length: 20 }, (_, i) => `Frase ${String(i).padStart(2, "0")} del caso.`).join(" ") + "\nÚltima línea.";

  it("keeps a short note whole", () => {
    expect(splitIntoChunks("Fiebre.", { budget: 100 })).toEqual([{ start: 0, end: 7, text: "Fiebre." }]);
  });

  it("cuts at sentence ends under the budget, overlapping, and covers the whole note", () => {
    const chunks = splitIntoChunks(text, { budget: 100, overlap: 40 });
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks[0].start).toBe(0);
    expect(chunks.at(-1)!.end).toBe(text.length);
    for (const [i, chunk] of chunks.entries()) {
      expect(chunk.text).toBe(text.slice(chunk.start, chunk.end));
      expect(chunk.text.length).toBeLessThanOrEqual(100);
      if (i < chunks.length - 1) expect(/[.\n]\s*$/.test(chunk.text)).toBe(true);
      if (i > 0) {
        expect(chunk.start).toBeLessThan(chunks[i - 1].end); // overlap
        expect(chunk.start).toBeGreaterThan(chunks[i - 1].start); // progress
        expect(/^Frase|^Última/.test(chunk.text)).toBe(true);
      }
    }
  });

  it("measures in tokens when given a counter, and hard-cuts text without boundaries", () => {
    const words = (piece: string) => piece.split(/\s+/).filter(Boolean).length;
    const chunks = splitIntoChunks(text, { budget: 12, measure: words });
    expect(chunks.every((chunk) => words(chunk.text) <= 12)).toBe(true);
    const solid = "a".repeat(250);
    const hard = splitIntoChunks(solid, { budget: 100 });
    expect(hard.map((chunk) => chunk.text.length)).toEqual([100, 100, 50]);
  });
});

describe("mergeChunkSpans", () => {
  it("maps to note offsets and keeps a span found by both chunks of an overlap once, at its best confidence", () => {
    const merged = mergeChunkSpans([
      { chunk: { start: 0, end: 50, text: "" }, spans: [span(5, 10), span(40, 48, "DISO", 0.5)] },
      { chunk: { start: 30, end: 90, text: "" }, spans: [span(10, 18, "DISO", 1), span(40, 45)] },
    ]);
    expect(merged.map(({ start, end, confidence }) => [start, end, confidence])).toEqual([
      [5, 10, 1],
      [40, 48, 1],
      [70, 75, 1],
    ]);
  });

  it("prefers the whole mention to the part a chunk's end cut off", () => {
    const merged = mergeChunkSpans([
      { chunk: { start: 0, end: 50, text: "" }, spans: [span(44, 50)] },
      { chunk: { start: 40, end: 100, text: "" }, spans: [span(4, 20)] },
    ]);
    expect(merged.map(({ start, end }) => [start, end])).toEqual([[44, 60]]);
  });
});
