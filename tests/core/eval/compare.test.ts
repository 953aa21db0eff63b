// Source vs adapted on gold notes: hand-built predictions give known scores, errors carry
// their note ids, the bootstrap interval brackets the difference; the stored path predicts
// with both models and leaves out gold notes without reference spans.

import { describe, expect, it } from "vitest";
import type { Span } from "../../../src/core/corpus/types.ts";
import { compareSpans, compareStoredModels, goldNotes } from "../../../src/core/eval/compare.ts";
import { importNotes } from "../../../src/core/store/notes.ts";
import { hashed } from "../store/helpers.ts";
import { setupProject } from "../train/run-fixtures.ts";

const s = (start: number, end: number, type: string): Span => ({ start, end, type });

describe("compareSpans", () => {
  it("scores both models on the same notes and lists each one's errors", () => {
    const notes = [
      { noteId: 11, text: "aspirin for fever", gold: [s(0, 7, "Chemical"), s(12, 17, "Disease")] },
      { noteId: 12, text: "heparin and sepsis", gold: [s(0, 7, "Chemical"), s(12, 18, "Disease")] },
    ];
    const source = [[s(0, 7, "Chemical")], [s(0, 6, "Chemical")]];
    const adapted = [[s(0, 7, "Chemical"), s(12, 17, "Disease")], [s(0, 7, "Chemical"), s(12, 18, "Chemical")]];
    const c = compareSpans(notes, { modelId: "a", name: "src" }, { modelId: "b", name: "ada" }, source, adapted);
    expect(c.source.strict.micro).toMatchObject({ tp: 1, fp: 1, fn: 3 });
    expect(c.adapted.strict.micro).toMatchObject({ tp: 3, fp: 1, fn: 1 });
    expect(c.source.lenient.micro.tp).toBe(2);
    expect(c.types).toEqual(["Chemical", "Disease"]);
    expect(c.adapted.strict.perType.Disease.tp).toBe(1);
    expect(c.difference.delta).toBeCloseTo(0.75 - 1 / 3, 10);
    expect(c.difference.low).toBeLessThanOrEqual(c.difference.delta);
    expect(c.difference.high).toBeGreaterThanOrEqual(c.difference.delta);
    expect(c.errors.source.find((e) => e.kind === "boundary")).toMatchObject({ noteId: 12, side: "pred", span: s(0, 6, "Chemical") });
    expect(c.errors.adapted.filter((e) => e.kind === "type").map((e) => e.noteId)).toEqual([12, 12]);
    expect(c.predictions[1]).toEqual({ noteId: 12, source: source[1], adapted: adapted[1] });
  });

  it("refuses an empty gold set", () => {
    expect(() => compareSpans([], { modelId: "a", name: "a" }, { modelId: "b", name: "b" }, [], [])).toThrow(/gold notes/);
  });
});

describe("compareStoredModels", () => {
  it("predicts the gold notes with both stored models, skipping gold notes without spans", async () => {
    const f = await setupProject({ pool: 4, gold: 3 });
    await importNotes(f.db, f.projectId, "i3", [hashed("bare", "A gold note nobody annotated.")], { split: "gold" });
    const { notes, skipped } = await goldNotes(f.db, f.projectId);
    expect(notes.length).toBe(3);
    expect(skipped).toBe(1);
    const progress: string[] = [];
    const c = await compareStoredModels(f.db, f.projectId, f.baseModelId, f.baseModelId, { onProgress: (p) => progress.push(`${p.model}:${p.done}`) });
    expect(c.goldNotes).toBe(3);
    expect(c.skipped).toBe(1);
    expect(c.difference.delta).toBe(0);
    expect(c.predictions.map((p) => p.source)).toEqual(c.predictions.map((p) => p.adapted));
    expect(progress).toEqual(["source:1", "source:2", "source:3", "adapted:1", "adapted:2", "adapted:3"]);
  });
});
