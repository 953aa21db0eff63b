import { onnx } from "onnx-proto";
import { describe, expect, it } from "vitest";
import { ShapeError } from "../../../src/core/errors.ts";
import * as o from "../../../src/core/onnx/index.ts";
import { createSession } from "../../../src/core/onnx/run.ts";

// A small layer with gradients: enough node kinds, constants and initializers to catch
// any ordering or naming that is not deterministic.
function buildLayer(): o.Graph {
  const g = new o.Graph("layer");
  const x = g.input("x", "float32", ["B", "T", 4]);
  const w = g.input("w", "float32", [4, 4]);
  const gamma = g.initializer("gamma", o.tensor("float32", [4], [1, 1, 1, 1]));
  const beta = g.initializer("beta", o.tensor("float32", [4], [0, 0, 0, 0]));
  const h = g.scope("block", () => o.gelu(o.layerNorm(o.matmul(x, w), gamma, beta))); // (B, T, 4)
  const loss = o.reduceMean(h);
  g.output(loss, "loss");
  g.output(o.gradients(g, loss, [w])[0], "dw");
  return g;
}

describe("serialization", () => {
  it("writes the same bytes for the same graph, built twice or serialized twice", () => {
    const g = buildLayer();
    const a = o.toModelProto(g);
    expect(o.toModelProto(g)).toEqual(a);
    expect(o.toModelProto(buildLayer())).toEqual(a);
  });

  it("writes opset 18, IR 8, typed inputs with symbolic dims, and raw little-endian initializers", () => {
    const model = onnx.ModelProto.decode(o.toModelProto(buildLayer(), { producerName: "test" }));
    const graph = model.graph as onnx.GraphProto;
    expect(Number(model.irVersion)).toBe(o.IR_VERSION);
    expect(model.opsetImport.map((op) => [op.domain, Number(op.version)])).toEqual([["", 18]]);
    expect(model.producerName).toBe("test");
    const x = graph.input.find((i) => i.name === "x")!;
    expect(x.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue))).toEqual(["B", "T", 4]);
    const gamma = graph.initializer.find((t) => t.name === "gamma")!;
    expect(Array.from(new Float32Array(Uint8Array.from(gamma.rawData!).buffer))).toEqual([1, 1, 1, 1]);
    expect(graph.output.map((v) => v.name)).toEqual(["loss", "dw"]);
  });

  it("leaves out nodes and initializers no output needs", () => {
    const g = new o.Graph("prune");
    const x = g.input("x", "float32", [2]);
    const unused = g.initializer("unused", o.tensor("float32", [2], [1, 2]));
    o.exp(o.mul(x, unused));
    g.output(o.neg(x), "y");
    const graph = onnx.ModelProto.decode(o.toModelProto(g)).graph as onnx.GraphProto;
    expect(graph.node.map((n) => n.opType)).toEqual(["Neg", "Identity"]);
    expect(graph.initializer).toHaveLength(0);
  });

  it("runs a graph with symbolic dims in onnxruntime-web", async () => {
    const session = await createSession(o.toModelProto(buildLayer()));
    const x = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => Math.sin(i));
    const w = Float32Array.from({ length: 16 }, (_, i) => Math.cos(i) / 4);
    const out = await session.run({
      x: { dtype: "float32", dims: [2, 3, 4], data: x },
      w: { dtype: "float32", dims: [4, 4], data: w },
    });
    expect(out.loss.dims).toEqual([]);
    expect(out.dw.dims).toEqual([4, 4]);
    expect(Number.isFinite(out.loss.data[0])).toBe(true);
    await session.release();
  });
});

describe("shape errors", () => {
  function errorOf(build: () => unknown): ShapeError {
    try {
      build();
    } catch (e) {
      expect(e).toBeInstanceOf(ShapeError);
      return e as ShapeError;
    }
    throw new Error("expected a ShapeError");
  }

  it("names the op and both shapes when MatMul's inner dims differ", () => {
    const g = new o.Graph();
    const a = g.input("a", "float32", ["B", 3]);
    const b = g.input("b", "float32", [4, 5]);
    const e = errorOf(() => o.matmul(a, b));
    expect(e.message).toMatch(/^MatMul:/);
    expect(e.message).toContain("(B, 3)");
    expect(e.message).toContain("(4, 5)");
  });

  it("names the op and both shapes when shapes do not broadcast", () => {
    const g = new o.Graph();
    const a = g.input("a", "float32", [2, 3]);
    const b = g.input("b", "float32", [4]);
    const e = errorOf(() => o.add(a, b));
    expect(e.message).toMatch(/^Add:/);
    expect(e.message).toContain("(2, 3)");
    expect(e.message).toContain("(4,)");
  });

  it("does not let a symbolic dim broadcast with a different one", () => {
    const g = new o.Graph();
    const e = errorOf(() => o.mul(g.input("a", "float32", ["B", 4]), g.input("b", "float32", ["T", 4])));
    expect(e.message).toContain("(B, 4)");
    expect(e.message).toContain("(T, 4)");
  });

  it("names the op on dtype and layer-norm shape mismatches", () => {
    const g = new o.Graph();
    const x = g.input("x", "float32", [2, 4]);
    expect(errorOf(() => o.add(x, g.input("y", "float64", [2, 4]))).message).toMatch(/^Add: .*float32.*float64/);
    const s = g.input("s", "float32", [3]);
    const e = errorOf(() => o.layerNorm(x, s, s));
    expect(e.message).toMatch(/^LayerNormalization:/);
    expect(e.message).toContain("(4,)");
    expect(e.message).toContain("(3,)");
  });

  it("checks reshapes, with names for inferred dims", () => {
    const g = new o.Graph();
    const x = g.input("x", "float32", ["B", "T", 6]);
    expect(o.reshape(x, ["B", "T", 2, 3]).shape).toEqual(["B", "T", 2, 3]);
    expect(o.reshape(x, ["B*T", 6]).shape).toEqual(["B*T", 6]);
    expect(o.reshape(x, [-1, 6]).shape).toEqual(["B*T", 6]);
    expect(errorOf(() => o.reshape(x, ["B", "T", 4])).message).toMatch(/^Reshape:.*\(B, T, 6\)/);
  });

  it("asks for a scalar loss", () => {
    const g = new o.Graph();
    const x = g.input("x", "float32", [2]);
    expect(errorOf(() => o.gradients(g, o.exp(x), [x])).message).toContain("(2,)");
  });
});

describe("gradients", () => {
  it("gives zeros for a value the loss does not depend on", async () => {
    const g = new o.Graph();
    const x = g.input("x", "float32", [2]);
    const unrelated = g.input("u", "float32", ["N"]);
    const loss = o.reduceSum(o.mul(x, x));
    const [dx, du] = o.gradients(g, loss, [x, unrelated]);
    g.output(dx, "dx");
    g.output(du, "du");
    const session = await createSession(o.toModelProto(g));
    const out = await session.run({
      x: { dtype: "float32", dims: [2], data: Float32Array.from([1, -2]) },
      u: { dtype: "float32", dims: [3], data: Float32Array.from([5, 6, 7]) },
    });
    expect(Array.from(out.dx.data as Float32Array)).toEqual([2, -4]);
    expect(Array.from(out.du.data as Float32Array)).toEqual([0, 0, 0]);
  });
});
