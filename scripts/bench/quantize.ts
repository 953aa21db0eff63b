// int8 benchmark: the float32 inference graph against two int8 forms of it, in
// onnxruntime-web (wasm, Node, one thread), on the same batch of token ids.
//
//   npm run bench -- quantize [--batch=16] [--length=128] [--reps=7]
//
//   fp32     buildInferenceModel's graph
//   dynamic  quantizeInt8 (src/core/onnx/quantize.ts): what the download ships
//   qdq      weight-only: the same int8 weights, each dequantized by a DequantizeLinear
//            (tables whole, axis 0) in front of its float MatMul or Gather; built here only
//            to compare, as quantize.ts explains
//
// Models: the demo model (public/demo/model) and a random 4-layer, 384-wide BERT with an
// 8,000-token vocabulary. Runs are interleaved (fp32, dynamic, qdq, fp32, …) so load from
// other processes hits every arm alike; the median of --reps runs is reported, with the file
// size and the largest |logit| difference from fp32.

import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import onnxProto, { type onnx as proto } from "onnx-proto";
import { createConfig, type EncoderConfig } from "../../src/core/model/config.ts";
import { readModelFolder } from "../../src/core/model/folder.ts";
import { buildInferenceModel } from "../../src/core/model/inference-graph.ts";
import { randomEncoderWeights } from "../../src/core/model/random-init.ts";
import { resolveWeights } from "../../src/core/model/weights.ts";
import { quantizeInt8, quantizeInt8Rows } from "../../src/core/onnx/quantize.ts";
import { createSession, type HostTensor } from "../../src/core/onnx/run.ts";

const { onnx } = onnxProto;

function option(args: string[], name: string, fallback: number): number {
  const raw = args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return raw === undefined ? fallback : Number(raw);
}

function demoModel(): { config: EncoderConfig; onnx: Uint8Array } {
  const dir = "public/demo/model";
  const folder = readModelFolder(new Map(readdirSync(dir).map((name) => [name, new Uint8Array(readFileSync(join(dir, name)))])));
  return { config: folder.config, onnx: buildInferenceModel(folder.config, resolveWeights(folder.config, folder.weights!).params) };
}

function randomModel(): { config: EncoderConfig; onnx: Uint8Array } {
  const config = createConfig("bert", {
    vocabSize: 8000,
    hiddenSize: 384,
    numLayers: 4,
    numHeads: 6,
    intermediateSize: 1536,
    maxPositions: 512,
    labels: ["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"],
  });
  return { config, onnx: buildInferenceModel(config, randomEncoderWeights(config, 11)) };
}

/** Weight-only int8: every weight quantizeInt8 would round, dequantized whole in front of its consumer. */
function weightOnly(model: Uint8Array): Uint8Array {
  const m = onnx.ModelProto.decode(model);
  const graph = m.graph!;
  const rounded = new Set(quantizeInt8(model).weights.map((w) => w.name));
  const consumers = (name: string) => graph.node!.filter((n) => n.input!.includes(name));
  const dequantizers: proto.INodeProto[] = [];
  const initializers: proto.ITensorProto[] = [];
  for (const init of graph.initializer!) {
    if (!rounded.has(init.name!)) {
      initializers.push(init);
      continue;
    }
    const dims = init.dims!.map(Number);
    const view = new DataView(init.rawData!.buffer, init.rawData!.byteOffset, init.rawData!.byteLength);
    const w = Float32Array.from({ length: dims[0] * dims[1] }, (_, i) => view.getFloat32(4 * i, true));
    // Output channels: rows of (out, in) weights behind a Transpose and of tables, else columns.
    const axis = consumers(init.name!).every((n) => n.opType === "Transpose" || n.opType === "Gather") ? 0 : 1;
    const q = quantizeInt8Rows(w, dims, axis);
    const name = init.name!;
    initializers.push(
      { name: `${name}_q`, dims, dataType: onnx.TensorProto.DataType.INT8, rawData: new Uint8Array(q.values.buffer) },
      { name: `${name}_scale`, dims: [dims[axis]], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(q.scales.buffer) },
      { name: `${name}_zero`, dims: [dims[axis]], dataType: onnx.TensorProto.DataType.INT8, rawData: new Uint8Array(dims[axis]) },
    );
    dequantizers.push({
      opType: "DequantizeLinear",
      input: [`${name}_q`, `${name}_scale`, `${name}_zero`],
      output: [name],
      attribute: [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: axis }],
    });
  }
  graph.initializer = initializers;
  graph.node = [...dequantizers, ...graph.node!];
  return onnx.ModelProto.encode(m).finish();
}

function feeds(config: EncoderConfig, batch: number, length: number): Record<string, HostTensor> {
  const dims = [batch, length];
  const n = batch * length;
  const ids = BigInt64Array.from({ length: n }, (_, i) => BigInt(5 + ((i * 7919) % (config.vocabSize - 5))));
  const out: Record<string, HostTensor> = {
    input_ids: { dtype: "int64", dims, data: ids },
    attention_mask: { dtype: "int64", dims, data: new BigInt64Array(n).fill(1n) },
  };
  if (config.family === "bert") out.token_type_ids = { dtype: "int64", dims, data: new BigInt64Array(n) };
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run(args: string[]): Promise<void> {
  const batch = option(args, "batch", 16);
  const length = option(args, "length", 128);
  const reps = option(args, "reps", 7);
  for (const [name, make] of [["demo", demoModel], ["random-384x4", randomModel]] as const) {
    const { config, onnx: fp32 } = make();
    const arms = { fp32, dynamic: quantizeInt8(fp32).bytes, qdq: weightOnly(fp32) };
    const input = feeds(config, batch, length);
    const sessions = await Promise.all(Object.values(arms).map((bytes) => createSession(bytes)));
    const logits = await Promise.all(sessions.map(async (s) => (await s.run(input)).logits.data as Float32Array)); // also warms up
    const times: number[][] = sessions.map(() => []);
    for (let r = 0; r < reps; r++) {
      for (const [i, s] of sessions.entries()) {
        const start = performance.now();
        await s.run(input);
        times[i].push(performance.now() - start);
      }
      console.error(`${name}: rep ${r + 1}/${reps}`);
    }
    for (const s of sessions) await s.release();
    const result: Record<string, unknown> = { bench: "quantize", model: name, batch, length, reps };
    Object.entries(arms).forEach(([arm, bytes], i) => {
      const maxDiff = logits[i].reduce((m, v, k) => Math.max(m, Math.abs(v - logits[0][k])), 0);
      result[arm] = { ms: Math.round(median(times[i])), bytes: bytes.byteLength, maxLogitDiff: Number(maxDiff.toFixed(4)) };
    });
    console.log(JSON.stringify(result));
  }
}
