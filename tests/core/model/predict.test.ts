// The predictor: offsets, sub-token handling, windows over long notes and batching, first
// with a fake session whose logits are a known function of the input ids (so the expected
// spans are known exactly), then with a real random-weight BERT on onnxruntime-web, where
// the labels must not depend on how windows are batched and padded.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createConfig } from "../../../src/core/model/config.ts";
import { buildInferenceModel } from "../../../src/core/model/inference-graph.ts";
import { createPredictor } from "../../../src/core/model/predict.ts";
import { randomEncoderWeights } from "../../../src/core/model/random-init.ts";
import { CancelledError } from "../../../src/core/errors.ts";
import type { HostTensor, Session } from "../../../src/core/onnx/run.ts";
import { loadTokenizer } from "../../../src/core/text/tokenizer.ts";

const LABELS = ["O", "B-X", "I-X"];
const tokenizerJson = JSON.parse(readFileSync("tests/fixtures/tokenizers/wordpiece-uncased.tokenizer.json", "utf8"));
const tokenizer = loadTokenizer(tokenizerJson);
const config = createConfig("bert", { vocabSize: 197, hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 64, labels: LABELS });

/** Logits by input id: "chest" → B-X, "pain" → I-X, "##ing" → B-X, others O; padding gets garbage. */
function fakeSession(calls: { dims: number[]; real: number }[] = []): Session {
  const favour = new Map<number, number>([
    [tokenizer.tokenToId("chest")!, 1],
    [tokenizer.tokenToId("pain")!, 2],
    [tokenizer.tokenToId("##ing")!, 1],
  ]);
  return {
    inputNames: ["input_ids", "attention_mask", "token_type_ids"],
    outputNames: ["logits"],
    async run(feeds: Record<string, HostTensor>) {
      const [B, T] = feeds.input_ids.dims as number[];
      const ids = feeds.input_ids.data as BigInt64Array;
      const mask = feeds.attention_mask.data as BigInt64Array;
      calls.push({ dims: [B, T], real: mask.reduce((s, m) => s + Number(m), 0) });
      const logits = new Float32Array(B * T * 3);
      for (let i = 0; i < B * T; i++) {
        if (mask[i] === 0n) {
          logits.set([0, 9, 0], i * 3); // read a padded position and a span appears
          continue;
        }
        logits[i * 3 + (favour.get(Number(ids[i])) ?? 0)] = 2;
      }
      return { logits: { dtype: "float32", dims: [B, T, 3], data: logits } };
    },
    async release() {},
  };
}

async function fakePredictor(calls?: { dims: number[]; real: number }[]) {
  return createPredictor({ onnx: new Uint8Array(), config, tokenizer, createSession: async () => fakeSession(calls) });
}

function chestPainSpans(text: string) {
  return [...text.matchAll(/chest pain/gi)].map((m) => ({ start: m.index!, end: m.index! + 10, type: "X" }));
}

describe("createPredictor", () => {
  it("gives spans with exact character offsets and a confidence", async () => {
    const predictor = await fakePredictor();
    const text = "  Chest pain radiating to the left arm.\nThe patient denies chest   PAIN today.";
    const [spans] = await predictor.predict([text]);
    expect(spans.map(({ start, end, type }) => ({ start, end, type }))).toEqual([
      { start: 2, end: 12, type: "X" },
      { start: text.indexOf("chest   PAIN"), end: text.indexOf(" today"), type: "X" },
    ]);
    const p = Math.exp(2) / (Math.exp(2) + 2);
    for (const span of spans) expect(span.confidence).toBeCloseTo(p, 5);
  });

  it("reads the first sub-token of each word; 'all' reads every sub-token", async () => {
    const predictor = await fakePredictor();
    const text = "walking today";
    expect(await predictor.predict([text])).toEqual([[]]);
    const [spans] = await predictor.predict([text], { subword: "all" });
    expect(spans.map((s) => text.slice(s.start, s.end))).toEqual(["ing"]);
  });

  it("runs long notes in overlapping windows and keeps every span", async () => {
    const calls: { dims: number[]; real: number }[] = [];
    const predictor = await fakePredictor(calls);
    const long = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? "the patient denies chest pain" : "seen in clinic today")).join(". ");
    const texts = [long, "chest pain", "", "left arm"];
    const results = await predictor.predict(texts, { maxLength: 16, stride: 4, batchSize: 3, bucket: 4 });
    texts.forEach((text, i) => expect(results[i].map(({ start, end, type }) => ({ start, end, type }))).toEqual(chestPainSpans(text)));
    expect(tokenizer.encode(long).ids.length).toBeGreaterThan(100);
    for (const call of calls) {
      expect(call.dims[0]).toBeLessThanOrEqual(3);
      expect(call.dims[1] % 4 === 0 || call.dims[1] === 16).toBe(true);
      expect(call.dims[1]).toBeLessThanOrEqual(16);
    }
  });

  it("pads each batch only to its longest window (sorted by length)", async () => {
    const calls: { dims: number[]; real: number }[] = [];
    const predictor = await fakePredictor(calls);
    const texts = ["chest pain", "the patient denies chest pain radiating to the left arm", "left arm", "seen in clinic today"];
    const progress: number[] = [];
    await predictor.predict(texts, { batchSize: 2, bucket: 1, onProgress: (p) => progress.push(p.textsDone) });
    const padded = calls.reduce((s, c) => s + c.dims[0] * c.dims[1], 0);
    const real = calls.reduce((s, c) => s + c.real, 0);
    expect(real).toBe(texts.reduce((s, t) => s + tokenizer.encode(t).ids.length, 0));
    // Sorted by length, batches of 2 pair the two longest and the two shortest.
    const lengths = texts.map((t) => tokenizer.encode(t).ids.length).sort((a, b) => b - a);
    expect(padded).toBe(2 * lengths[0] + 2 * lengths[2]);
    expect(progress.at(-1)).toBe(4);
  });

  it("calls onResult once per text and stops when cancelled", async () => {
    const predictor = await fakePredictor();
    const seen: number[] = [];
    await predictor.predict(["chest pain", "left arm", "today"], { batchSize: 1, onResult: (i) => void seen.push(i) });
    expect(seen.sort()).toEqual([0, 1, 2]);
    const controller = new AbortController();
    const run = predictor.predict(["chest pain", "left arm"], {
      batchSize: 1,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
  });

  it("names labels without B-/I- as I-<label> (IO tagging)", async () => {
    const predictor = await createPredictor({
      onnx: new Uint8Array(),
      config,
      tokenizer,
      labels: ["O", "X", "Y"],
      createSession: async () => fakeSession(),
    });
    expect(predictor.labels).toEqual(["O", "I-X", "I-Y"]);
  });
});

describe("createPredictor on onnxruntime-web", () => {
  it("gives the same labels whatever the batch size and padding", async () => {
    const weights = randomEncoderWeights(config, 7);
    const onnx = buildInferenceModel(config, weights);
    const predictor = await createPredictor({ onnx, config, tokenizer });
    const texts = [
      "Chest pain radiating to the left arm. Patient denies dyspnea.",
      "the patient is seventy two years old",
      "seen in clinic today, vitals stable, pain improving and walking.",
      "left arm",
    ];
    const one = await Promise.all(texts.map((t) => predictor.predictTokens([t], { batchSize: 1 })));
    const batched = await predictor.predictTokens(texts, { batchSize: 4, bucket: 32 });
    texts.forEach((_, i) => {
      expect(Array.from(batched[i].labelIds)).toEqual(Array.from(one[i][0].labelIds));
      const diff = batched[i].probabilities.reduce((m, v, k) => Math.max(m, Math.abs(v - one[i][0].probabilities[k])), 0);
      expect(diff).toBeLessThan(1e-5);
    });
    const spans = await predictor.predict(texts, { batchSize: 3 });
    for (const [i, note] of spans.entries()) {
      for (const span of note) {
        expect(span.start).toBeLessThan(span.end);
        expect(span.end).toBeLessThanOrEqual(texts[i].length);
        expect(span.confidence).toBeGreaterThan(0);
        expect(span.confidence).toBeLessThanOrEqual(1);
      }
    }
    await predictor.release();
  });
});
