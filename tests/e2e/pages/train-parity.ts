// Test page (not part of the app): the same training steps on WebAssembly and on WebGPU,
// exposed as window.trainParity() for tests/e2e/train-backends.test.ts.

import { createConfig } from "../../../src/core/model/config.ts";
import { randomEncoderWeights } from "../../../src/core/model/random-init.ts";
import { seededRandom } from "../../../src/core/model/random.ts";
import { padBatch } from "../../../src/core/train/batches.ts";
import { encoderModel } from "../../../src/core/train/model.ts";
import { type Backend, configureWasm, recordWebgpuKernels, webgpuAdapterInfo } from "../../../src/core/train/ort-session.ts";
import { Trainer } from "../../../src/core/train/trainer.ts";

const config = createConfig("bert", {
  vocabSize: 100,
  hiddenSize: 32,
  numLayers: 2,
  numHeads: 4,
  intermediateSize: 64,
  maxPositions: 64,
  labels: ["O", "B-A", "I-A", "B-B", "I-B"],
});

function batches(count: number) {
  const random = seededRandom(7);
  return Array.from({ length: count }, () => {
    const examples = Array.from({ length: 4 }, () => {
      const n = 6 + Math.floor(random.uniform() * 10);
      const ids = Array.from({ length: n }, () => 1 + Math.floor(random.uniform() * 99));
      const labels = ids.map((_, t) => (t === 0 ? -100 : Math.floor(random.uniform() * 5)));
      return { ids, labels };
    });
    return padBatch(config, examples, 4, 16);
  });
}

async function train(backend: Backend, steps: number) {
  const trainer = await Trainer.create({
    model: encoderModel(config),
    weights: randomEncoderWeights(config, 3),
    mode: { kind: "full" },
    schedule: { lr: 1e-3, warmupSteps: 1, totalSteps: 10 },
    seed: 1,
    batchSize: 4,
    dropout: { hiddenProb: 0, attentionProb: 0, classifierProb: 0 },
    backend,
  });
  const results = [];
  for (const batch of batches(steps)) results.push(await trainer.step(batch));
  const locations = [...new Set(trainer.stateLocations().values())];
  const state = Object.fromEntries([...(await trainer.stateOnHost())].map(([name, data]) => [name, Array.from(data)]));
  await trainer.release();
  return { results, locations, state };
}



async function trainParity(steps = 3) {
  configureWasm({ wasmPaths: new URL("./ort/", location.href).href });
  const wasm = await train("wasm", steps);
  const recorder = recordWebgpuKernels();
  let webgpu;
  try {
    webgpu = await train("webgpu", steps);
  } finally {
    recorder.stop();
  }
  const adapter = await webgpuAdapterInfo();
  const kernelTypes: Record<string, number> = {};
  for (const k of recorder.kernels) kernelTypes[k.kernelType] = (kernelTypes[k.kernelType] ?? 0) + 1;
  // Largest |wasm - webgpu| per kind of state: parameters (p.), first (m.) and second (v.) moments.
  const maxAbs: Record<string, number> = { p: 0, m: 0, v: 0 };
  const maxRel: Record<string, number> = { p: 0, m: 0, v: 0 };
  for (const [name, a] of Object.entries(wasm.state)) {
    const kind = name.slice(0, 1);
    const b = webgpu.state[name];
    const scale = Math.max(...a.map(Math.abs), 1e-30);
    for (let i = 0; i < a.length; i++) {
      const abs = Math.abs(a[i] - b[i]);
      maxAbs[kind] = Math.max(maxAbs[kind], abs);
      maxRel[kind] = Math.max(maxRel[kind], abs / scale);
    }
  }
  return {
    wasm: { results: wasm.results, locations: wasm.locations },
    webgpu: { results: webgpu.results, locations: webgpu.locations },
    maxAbs,
    maxRel,
    adapter,
    kernelTypes,
    crossOriginIsolated,
  };
}

(window as unknown as { trainParity: typeof trainParity }).trainParity = trainParity;







/**
 * The onnxruntime-web 1.31 WebGPU bug the step graph works around, in minimal graphs: max
 * |wasm - webgpu| per output. Two int64 (2, 3) index inputs, each unsqueezed into a
 * ScatterND (reduction add) — as the gradients of two embedding Gathers are — make the
 * second ScatterND scatter with the first one's indices ("twoScatters*": b wrong), and with
 * the Gathers in the same graph the forward sum is wrong too ("sharedDy": y wrong). Index
 * inputs fed already unsqueezed, or of different shapes ("sharedDyPos1": (2, 3) and (1, 3)),
 * are right.
 */
async function diagnoseScatter() {
  const o = await import("../../../src/core/onnx/index.ts");
  const { createTrainSession } = await import("../../../src/core/train/ort-session.ts");
  configureWasm({ wasmPaths: new URL("./ort/", location.href).href });
  const random = seededRandom(9);
  const f = (n: number) => Float32Array.from({ length: n }, () => 2 * random.uniform() - 1);
  const W = f(10 * 4), P = f(8 * 4), R = f(2 * 3 * 4), U = f(2 * 3 * 4);
  const ids = BigInt64Array.from([1, 5, 9, 1, 0, 3], BigInt);
  const pos = BigInt64Array.from([0, 1, 2, 0, 1, 2], BigInt);
  type V = ReturnType<InstanceType<typeof o.Graph>["input"]>;
  const variants: Record<string, (g: InstanceType<typeof o.Graph>, x: Record<string, V>) => void> = {
    sharedDy: (g, x) => {
      const y = o.add(o.gather(x.W, x.ids), o.gather(x.P, x.pos));
      g.output(y, "y");
      const [dW, dP] = o.gradients(g, o.reduceSum(o.mul(y, x.R)), [x.W, x.P]);
      g.output(dW, "dW");
      g.output(dP, "dP");
    },
    twoScattersSameUpdates: (g, x) => {
      const a = o.scatterNDAdd(o.zerosLike(x.W), o.unsqueeze(x.ids, [-1]), x.U);
      const b = o.scatterNDAdd(o.zerosLike(x.P), o.unsqueeze(x.pos, [-1]), x.U);
      g.output(a, "a");
      g.output(b, "b");
      g.output(o.mul(x.U, 1), "u");
    },
    oneScatterAndUse: (g, x) => {
      const u = o.mul(x.U, 2);
      const a = o.scatterNDAdd(o.zerosLike(x.W), o.unsqueeze(x.ids, [-1]), u);
      g.output(a, "a");
      g.output(o.add(u, 0), "u");
    },
    sharedDyPos1: (g, x) => {
      const y = o.add(o.gather(x.W, x.ids), o.gather(x.P, x.pos1));
      g.output(y, "y");
      const [dW, dP] = o.gradients(g, o.reduceSum(o.mul(y, x.R)), [x.W, x.P]);
      g.output(dW, "dW");
      g.output(dP, "dP");
    },
    twoScattersIndicesAsInputs: (g, x) => {
      const a = o.scatterNDAdd(o.zerosLike(x.W), x.ids3, x.U);
      const b = o.scatterNDAdd(o.zerosLike(x.P), x.pos3, x.U);
      g.output(a, "a");
      g.output(b, "b");
    },
    unsqueezedIndicesOut: (g, x) => {
      g.output(o.cast(o.unsqueeze(x.ids, [-1]), "float32"), "a");
      g.output(o.cast(o.unsqueeze(x.pos, [-1]), "float32"), "b");
    },
    twoScattersComputedUpdates: (g, x) => {
      const u = o.mul(x.U, 2);
      const a = o.scatterNDAdd(o.zerosLike(x.W), o.unsqueeze(x.ids, [-1]), u);
      const b = o.scatterNDAdd(o.zerosLike(x.P), o.unsqueeze(x.pos, [-1]), u);
      g.output(a, "a");
      g.output(b, "b");
      g.output(o.add(u, 0), "u");
    },
  };
  const out: Record<string, unknown> = {};
  for (const [name, build] of Object.entries(variants)) {
    const g = new o.Graph(name);
    const x = {
      W: g.input("W", "float32", [10, 4]), P: g.input("P", "float32", [8, 4]), R: g.input("R", "float32", [2, 3, 4]), U: g.input("U", "float32", [2, 3, 4]),
      ids: g.input("ids", "int64", [2, 3]), pos: g.input("pos", "int64", [2, 3]),
      ids3: g.input("ids3", "int64", [2, 3, 1]), pos3: g.input("pos3", "int64", [2, 3, 1]), pos1: g.input("pos1", "int64", [1, 3]),
    };
    build(g, x);
    const bytes = o.toModelProto(g);
    const feeds = {
      W: { dtype: "float32" as const, dims: [10, 4], data: W }, P: { dtype: "float32" as const, dims: [8, 4], data: P },
      R: { dtype: "float32" as const, dims: [2, 3, 4], data: R }, U: { dtype: "float32" as const, dims: [2, 3, 4], data: U },
      ids: { dtype: "int64" as const, dims: [2, 3], data: ids }, pos: { dtype: "int64" as const, dims: [2, 3], data: pos },
      ids3: { dtype: "int64" as const, dims: [2, 3, 1], data: ids }, pos3: { dtype: "int64" as const, dims: [2, 3, 1], data: pos },
      pos1: { dtype: "int64" as const, dims: [1, 3], data: pos.slice(0, 3) },
    };
    const results: Record<string, Float32Array>[] = [];
    for (const backend of ["wasm", "webgpu"] as const) {
      const s = await createTrainSession(bytes, { backend });
      const used = Object.fromEntries(Object.entries(feeds).filter(([k]) => s.inputNames.includes(k)));
      const r = await s.run(used);
      const host: Record<string, Float32Array> = {};
      for (const [k, t] of Object.entries(r)) host[k] = (await t.toHost()).data as Float32Array;
      results.push(host);
      await s.release();
    }
    const diffs: Record<string, number> = {};
    for (const k of Object.keys(results[0])) {
      let d = 0;
      for (let i = 0; i < results[0][k].length; i++) d = Math.max(d, Math.abs(results[0][k][i] - results[1][k][i]));
      diffs[k] = d;
    }
    out[name] = diffs;
  }
  return out;
}
(window as unknown as { diagnoseScatter: typeof diagnoseScatter }).diagnoseScatter = diagnoseScatter;
