// int8 quantization of an ONNX model (src/core/onnx/quantize.ts): the weights it rounds and
// the ones it leaves alone, on small hand-built graphs; then the shipped demo model, whose
// int8 graph must stay close to the float32 one in onnxruntime-web (wasm) and be much smaller.

import onnxProto from "onnx-proto";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelFormatError } from "../../../src/core/errors.ts";
import type { EncoderConfig } from "../../../src/core/model/config.ts";
import { readModelFolder } from "../../../src/core/model/folder.ts";
import { buildInferenceModel } from "../../../src/core/model/inference-graph.ts";
import { type Predictor, createPredictor } from "../../../src/core/model/predict.ts";
import { resolveWeights } from "../../../src/core/model/weights.ts";
import * as o from "../../../src/core/onnx/index.ts";
import { quantizeInt8, quantizeInt8Rows } from "../../../src/core/onnx/quantize.ts";
import { createSession } from "../../../src/core/onnx/run.ts";
import { type TextTokenizer, loadTokenizer } from "../../../src/core/text/tokenizer.ts";
import { thrownBy } from "../../helpers.ts";

const { onnx } = onnxProto;

/** Deterministic values in [-1, 1) (an LCG), so every run sees the same weights. */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

const Gemm: o.Primitive = { opType: "Gemm", backward: null };

/**
 * A graph with every kind of weight: an embedding Gather, a MatMul with a (in, out) weight,
 * a linear layer with a (out, in) weight behind a Transpose, a Gemm with transB, and a
 * weight that is also added to a value (so it must stay float32).
 */
function buildSmall(): Uint8Array {
  const g = new o.Graph("small");
  const ids = g.input("ids", "int64", ["B"]);
  const table = g.initializer("table", o.tensor("float32", [30, 16], values(480, 1)));
  const wIn = g.initializer("w_in_out", o.tensor("float32", [16, 20], values(320, 2)));
  const wOut = g.initializer("w_out_in", o.tensor("float32", [20, 20], values(400, 3)));
  const wGemm = g.initializer("w_gemm", o.tensor("float32", [16, 20], values(320, 4)));
  const bias = g.initializer("b_gemm", o.tensor("float32", [16], values(16, 5)));
  const shared = g.initializer("w_shared", o.tensor("float32", [16, 16], values(256, 6)));
  const x = o.gather(table, ids); // (B, 16)
  const h = o.linear(o.matmul(x, wIn), wOut, undefined, "out_in"); // (B, 20)
  const y = g.apply(Gemm, [h, wGemm, bias], [{ dtype: "float32", shape: ["B", 16] }], { transB: { int: 1 } })[0]; // (B, 16)
  const z = o.add(o.matmul(y, shared), o.reduceSum(shared, [0], true)); // (B, 16)
  g.output(z, "z");
  return o.toModelProto(g);
}

async function runSmall(model: Uint8Array, ids: number[]): Promise<Float32Array> {
  const session = await createSession(model);
  const out = await session.run({ ids: { dtype: "int64", dims: [ids.length], data: BigInt64Array.from(ids.map(BigInt)) } });
  await session.release();
  return out.z.data as Float32Array;
}

describe("int8 rounding of a weight", () => {
  it("keeps each column (or row) within half a step of its float values, with its largest at ±127", () => {
    const w = Float32Array.from([0.5, -2, 0, 0.25, 1, 0, -0.1, 0.3, 0]); // (3, 3), column 2 all zero
    for (const axis of [0, 1] as const) {
      const { values: q, scales } = quantizeInt8Rows(w, [3, 3], axis);
      for (let i = 0; i < 9; i++) {
        const k = axis === 0 ? Math.floor(i / 3) : i % 3;
        expect(Math.abs(q[i] * scales[k] - w[i])).toBeLessThanOrEqual(scales[k] / 2 + 1e-7);
      }
      if (axis === 1) {
        expect([...scales]).toEqual([Math.fround(0.5 / 127), Math.fround(2 / 127), 1]);
        expect([...q]).toEqual([127, -127, 0, 64, 64, 0, -25, 19, 0]);
      }
    }
  });
});

describe("int8 quantization of a graph", () => {
  it("rounds MatMul, Gemm and Gather weights and leaves a weight that is also read as a value in float32", async () => {
    const fp32 = buildSmall();
    const { bytes, weights } = quantizeInt8(fp32, "small.onnx", { minElements: 0 });
    expect(weights.map((w) => [w.name, w.op])).toEqual([
      ["table", "Gather"],
      ["w_in_out", "MatMul"],
      ["w_out_in", "MatMul"],
      ["w_gemm", "Gemm"],
    ]);
    const graph = onnx.ModelProto.decode(bytes).graph!;
    const inits = new Map(graph.initializer!.map((t) => [t.name!, t]));
    expect(inits.get("w_shared")!.dataType).toBe(onnx.TensorProto.DataType.FLOAT);
    for (const name of ["table", "w_in_out", "w_out_in", "w_gemm", "b_gemm"]) expect(inits.has(`${name}_quantized`)).toBe(name !== "b_gemm");
    // Weights are stored (K, N) for MatMulInteger: the (out, in) ones are transposed, and their Transpose is gone.
    expect(inits.get("w_out_in_quantized")!.dims!.map(Number)).toEqual([20, 20]);
    expect(inits.get("w_gemm_quantized")!.dims!.map(Number)).toEqual([20, 16]);
    const ops = graph.node!.map((n) => n.opType);
    expect(ops.filter((op) => op === "Transpose")).toEqual([]);
    expect(ops.filter((op) => op === "MatMulInteger")).toHaveLength(3);
    expect(ops.filter((op) => op === "MatMul")).toHaveLength(1); // the shared weight's

    const ids = [0, 3, 29, 7, 7];
    const [want, got] = [await runSmall(fp32, ids), await runSmall(bytes, ids)];
    const scale = Math.max(...want.map(Math.abs));
    // Four roundings in a row (table, activations, weights: ~1/254 of each range): a few % of the output's range.
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]), `z[${i}]`).toBeLessThan(0.05 * scale);
    expect(got).not.toEqual(want);
  });

  it("leaves weights under minElements alone, and says when nothing is left to quantize", () => {
    const { weights } = quantizeInt8(buildSmall(), "small.onnx", { minElements: 350 });
    expect(weights.map((w) => w.name)).toEqual(["table", "w_out_in"]);
    const withoutTables = quantizeInt8(buildSmall(), "small.onnx", { minElements: 350, embeddings: false });
    expect(withoutTables.weights.map((w) => w.name)).toEqual(["w_out_in"]);
    const error = thrownBy(ModelFormatError, () => quantizeInt8(buildSmall(), "small.onnx", { minElements: 1000 }));
    expect(error.message).toMatch(/^small\.onnx: has no float32 MatMul, Gemm or Gather weight of 1000 or more elements/);
  });

  it("does not quantize twice: the int8 graph's row scales are (rows, 1) tables, too thin to gain", () => {
    const once = quantizeInt8(buildSmall(), "small.onnx", { minElements: 0 }).bytes;
    const error = thrownBy(ModelFormatError, () => quantizeInt8(once, "small-int8.onnx", { minElements: 0 }));
    expect(error.file).toBe("small-int8.onnx");
  });

  it("names the file when it is no ONNX model or its opset is too old", () => {
    const error = thrownBy(ModelFormatError, () => quantizeInt8(new TextEncoder().encode("not a model at all"), "onnx/model.onnx"));
    expect(error.file).toBe("onnx/model.onnx");
    expect(error.message).toMatch(/is not an ONNX model/);
    const old = onnx.ModelProto.decode(buildSmall());
    old.opsetImport = [{ domain: "", version: 12 }];
    const tooOld = thrownBy(ModelFormatError, () => quantizeInt8(onnx.ModelProto.encode(old).finish(), "old.onnx"));
    expect(tooOld.message).toBe("old.onnx: uses ONNX opset 12; int8 quantization needs opset 13 or later.");
  });
});

// The demo model that ships with the app (public/demo/model), and the demo's notes.
const DIR = "public/demo/model";
const notes = ["notes-gold.jsonl", "notes-pool.jsonl"].flatMap((file) =>
  readFileSync(join("public/demo", file), "utf8")
    .trim()
    .split("\n")
    .map((line) => (JSON.parse(line) as { text: string }).text),
);

describe("the demo model in int8", () => {
  let config: EncoderConfig;
  let tokenizer: TextTokenizer;
  let fp32: Uint8Array;
  let int8: ReturnType<typeof quantizeInt8>;
  const predictors: Predictor[] = [];

  beforeAll(() => {
    const folder = readModelFolder(new Map(readdirSync(DIR).map((name) => [name, new Uint8Array(readFileSync(join(DIR, name)))])));
    config = folder.config;
    tokenizer = loadTokenizer(folder.tokenizerJson, folder.tokenizerConfig, { verify: false });
    fp32 = buildInferenceModel(config, resolveWeights(config, folder.weights!).params);
    int8 = quantizeInt8(fp32);
  });
  afterAll(async () => {
    for (const p of predictors) await p.release();
  });

  it("stores the MatMul weights in under 35% of their float32 bytes, and the whole graph in under 30%", () => {
    const matmul = int8.weights.filter((w) => w.op === "MatMul");
    // 6 linear layers in each of the 2 layers; the 5 × 128 classifier is under minElements and stays float32.
    expect(matmul).toHaveLength(12);
    expect(int8.weights.some((w) => w.name === "classifier.weight")).toBe(false);
    expect(int8.weights.filter((w) => w.op === "Gather").map((w) => w.name)).toEqual([
      "bert.embeddings.word_embeddings.weight",
      "bert.embeddings.position_embeddings.weight",
    ]);
    const sum = (key: "bytesBefore" | "bytesAfter") => matmul.reduce((s, w) => s + w[key], 0);
    expect(sum("bytesAfter") / sum("bytesBefore")).toBeLessThan(0.35);
    expect(int8.bytes.length / fp32.length).toBeLessThan(0.3);
  });

  it("gives logits within 0.1 of float32 on the demo notes, one note per run", async () => {
    const sessions = [await createSession(fp32), await createSession(int8.bytes)];
    let largest = 0;
    let worst = 0;
    for (const text of notes) {
      const { ids } = tokenizer.encode(text);
      const dims = [1, ids.length];
      const feeds = {
        input_ids: { dtype: "int64" as const, dims, data: BigInt64Array.from(ids.map(BigInt)) },
        attention_mask: { dtype: "int64" as const, dims, data: new BigInt64Array(ids.length).fill(1n) },
        token_type_ids: { dtype: "int64" as const, dims, data: new BigInt64Array(ids.length) },
      };
      const [want, got] = await Promise.all(sessions.map(async (s) => (await s.run(feeds)).logits.data as Float32Array));
      want.forEach((w, i) => {
        largest = Math.max(largest, Math.abs(w));
        worst = Math.max(worst, Math.abs(got[i] - w));
      });
    }
    for (const s of sessions) await s.release();
    // Weights and activations are each rounded to 1/254 of their range, through 2 layers:
    // 0.06 measured here, against logits of up to ~6.
    expect(largest).toBeGreaterThan(3);
    expect(worst).toBeLessThan(0.1);
    expect(worst).toBeGreaterThan(0);
  });

  it("labels at least 98% of the demo notes' tokens as float32 does", async () => {
    for (const onnxBytes of [fp32, int8.bytes]) predictors.push(await createPredictor({ onnx: onnxBytes, config, tokenizer }));
    const [want, got] = await Promise.all(predictors.map((p) => p.predictTokens(notes)));
    let tokens = 0;
    let same = 0;
    want.forEach((w, i) =>
      w.labelIds.forEach((label, t) => {
        if (label < 0) return; // special tokens
        tokens++;
        if (got[i].labelIds[t] === label) same++;
      }),
    );
    expect(tokens).toBeGreaterThan(500);
    expect(same / tokens).toBeGreaterThanOrEqual(0.98);
  });
});
