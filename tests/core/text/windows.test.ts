import { describe, expect, it } from "vitest";
import type { EncodedText } from "../../../src/core/text/tokenizer.ts";
import { makeWindows, mergeWindowPredictions } from "../../../src/core/text/windows.ts";

const CLS = 101;
const SEP = 102;

/** An encoding of `n` text tokens between [CLS] and [SEP]; token ids are 1000 + index. */
function encoding(n: number): EncodedText {
  const ids = [CLS, ...Array.from({ length: n }, (_, i) => 1000 + i), SEP];
  return {
    ids,
    offsets: ids.map((_, i) => [i, i + 1]),
    special: ids.map((_, i) => i === 0 || i === ids.length - 1),
    wordIds: ids.map((_, i) => (i === 0 || i === ids.length - 1 ? null : i - 1)),
    isContinuation: ids.map(() => false),
  };
}

describe("makeWindows", () => {
  it("cuts a 1,000-token note into windows of 128 overlapping by 32", () => {
    const encoded = encoding(1000);
    const windows = makeWindows(encoded, { maxLength: 128, stride: 32 });
    for (const w of windows) {
      expect(w.ids.length).toBeLessThanOrEqual(128);
      expect(w.ids[0]).toBe(CLS);
      expect(w.ids.at(-1)).toBe(SEP);
      expect(w.ids.slice(1, -1)).toEqual(encoded.ids.slice(w.start, w.end));
      expect(w.tokenIndex.slice(1, -1)).toEqual(Array.from({ length: w.end - w.start }, (_, k) => w.start + k));
    }
    expect(windows[0].start).toBe(1);
    expect(windows.at(-1)!.end).toBe(1001);
    for (let k = 1; k < windows.length; k++) {
      expect(windows[k - 1].end - windows[k].start).toBeGreaterThanOrEqual(32);
    }
    // Regular windows step by 126 - 32 = 94 tokens; all windows are full.
    expect(windows.slice(0, -1).map((w) => w.start)).toEqual(windows.slice(0, -1).map((_, k) => 1 + 94 * k));
    expect(windows.every((w) => w.ids.length === 128)).toBe(true);
  });

  it("makes one window for a short or empty note", () => {
    const short = makeWindows(encoding(10), { maxLength: 128, stride: 32 });
    expect(short).toHaveLength(1);
    expect(short[0].ids).toEqual(encoding(10).ids);
    const empty = makeWindows(encoding(0), { maxLength: 128, stride: 32 });
    expect(empty).toHaveLength(1);
    expect(empty[0].ids).toEqual([CLS, SEP]);
  });

  it("rejects a stride that leaves no progress", () => {
    expect(() => makeWindows(encoding(10), { maxLength: 8, stride: 6 })).toThrow(/stride/);
    expect(() => makeWindows(encoding(10), { maxLength: 2, stride: 0 })).toThrow(/no room/);
  });
});

describe("mergeWindowPredictions", () => {
  it("gives every token exactly one prediction, from its most central window", () => {
    const encoded = encoding(1000);
    const windows = makeWindows(encoded, { maxLength: 128, stride: 32 });
    // Each prediction says which window and position it came from; rows padded to 128.
    const scores = windows.map((w, wi) =>
      Array.from({ length: 128 }, (_, p) => ({ window: wi, token: p < w.tokenIndex.length ? w.tokenIndex[p] : null })),
    );
    const merged = mergeWindowPredictions(windows, scores);
    expect(merged).toHaveLength(encoded.ids.length);
    merged.forEach((prediction, i) => {
      expect(prediction).toBeDefined();
      expect(prediction.token).toBe(i);
      if (encoded.special[i]) {
        expect(prediction.window).toBe(i === 0 ? 0 : windows.length - 1);
        return;
      }
      const centrality = (w: (typeof windows)[number]) =>
        i >= w.start && i < w.end ? Math.min(i - w.start, w.end - 1 - i) : -1;
      const best = Math.max(...windows.map(centrality));
      expect(centrality(windows[prediction.window])).toBe(best);
      // Ties go to the earlier window.
      expect(windows.findIndex((w) => centrality(w) === best)).toBe(prediction.window);
    });
  });

  it("checks that each window has a prediction per token", () => {
    const windows = makeWindows(encoding(10), { maxLength: 8, stride: 2 });
    expect(() => mergeWindowPredictions(windows, windows.map(() => [1, 2]))).toThrow(/predictions/);
    expect(() => mergeWindowPredictions(windows, [])).toThrow(/rows/);
  });
});
