import { describe, expect, it } from "vitest";
import { bucketFor, epochBatches, evalBatches, padBatch } from "../../../src/core/train/batches.ts";
import { randomExamples, smallConfig } from "./fixtures.ts";

describe("batches", () => {
  const config = smallConfig();

  it("picks the smallest bucket that holds an example", () => {
    expect(bucketFor(1)).toBe(64);
    expect(bucketFor(64)).toBe(64);
    expect(bucketFor(65)).toBe(128);
    expect(bucketFor(512)).toBe(512);
    expect(() => bucketFor(513)).toThrow(/windows/);
  });

  it("pads rows and fills missing rows with inert filler", () => {
    const [a, b] = randomExamples(config, [5, 3], 1);
    const batch = padBatch(config, [a, b], 3, 8);
    expect(batch.rows).toBe(3);
    expect(batch.examples).toBe(2);
    expect(Array.from(batch.attentionMask, Number)).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(batch.labels.slice(16), Number)).toEqual(Array(8).fill(-100));
    expect(Array.from(batch.labelWeights.slice(16))).toEqual(Array(8).fill(0));
    expect(Array.from(batch.positionIds, Number)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(batch.inputIds.slice(0, 5), Number)).toEqual(Array.from(a.ids));
    expect(batch.labelledTokens).toBe(3 + 1);
  });

  it("shuffles per epoch, reproducibly, and keeps each batch within one bucket", () => {
    const lengths = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 70 + i : 5 + i));
    const examples = randomExamples(config, lengths, 2);
    const e0 = epochBatches(config, examples, { batchSize: 4, seed: 7, epoch: 0 });
    const again = epochBatches(config, examples, { batchSize: 4, seed: 7, epoch: 0 });
    const e1 = epochBatches(config, examples, { batchSize: 4, seed: 7, epoch: 1 });
    const ids = (bs: typeof e0) => bs.map((b) => Array.from(b.inputIds.slice(0, 3), Number).join(","));
    expect(ids(again)).toEqual(ids(e0));
    expect(ids(e1)).not.toEqual(ids(e0));
    expect(e0.reduce((n, b) => n + b.examples, 0)).toBe(40);
    expect(new Set(e0.map((b) => b.length))).toEqual(new Set([64, 128]));
    for (const b of e0) expect(b.rows).toBe(4);
  });

  it("keeps evaluation order", () => {
    const examples = randomExamples(config, [4, 6, 5], 3);
    const batches = evalBatches(config, examples, { batchSize: 2 });
    expect(batches.map((b) => b.indices)).toEqual([[0, 1], [2]]);
  });
});
