// Training-step benchmark on onnxruntime-web's WebAssembly backend in Node:
//   1. the practical peak: GFLOP/s of one large MatMul graph;
//   2. full and LoRA (rank 8, q/v) steps of random-weight encoders — tiny (2×128),
//      BERT-small-like (4×512) and BERT-base-like (12×768) — at batch 8, sequence 128.
// One JSON line per configuration on stdout; progress on stderr. Each configuration runs
// in its own child process, so peak_rss_mb is its own and an out-of-memory failure (wasm32
// caps the heap at 4 GB) ends only that line.
//
//   npm run bench -- train-step [--models=tiny,small,base] [--modes=full,lora] [--steps=N] [--threads=N]
//
// model_gflop_per_step counts the step graph's MatMul nodes (2·m·n·k each), forward and
// backward as the graph has them: LoRA's backward has no gradient for frozen weights.

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

interface ModelSize {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  steps: number;
}

const MODELS: Record<string, ModelSize> = {
  tiny: { hiddenSize: 128, numLayers: 2, numHeads: 2, intermediateSize: 512, steps: 10 },
  small: { hiddenSize: 512, numLayers: 4, numHeads: 8, intermediateSize: 2048, steps: 5 },
  base: { hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, steps: 3 },
};

const BATCH = 8;
const LENGTH = 128;
const LABELS = ["O", "B-ANAT", "I-ANAT", "B-CHEM", "I-CHEM", "B-DISO", "I-DISO", "B-PROC", "I-PROC"];

function option(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function setThreads(args: string[]): Promise<number> {
  const { configureWasm, wasmThreads } = await import("../../src/core/train/ort-session.ts");
  const threads = option(args, "threads");
  if (threads) configureWasm({ numThreads: Number(threads) });
  return wasmThreads();
}

/** GFLOP/s of an N×N×N MatMul graph (median of timed runs after one warm-up). */
async function matmulPeak(n = 1024, runs = 5): Promise<number> {
  const o = await import("../../src/core/onnx/index.ts");
  const { createTrainSession } = await import("../../src/core/train/ort-session.ts");
  const g = new o.Graph("matmul_peak");
  g.output(o.matmul(g.input("a", "float32", [n, n]), g.input("b", "float32", [n, n])), "y");
  const session = await createTrainSession(o.toModelProto(g), { backend: "wasm" });
  const data = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const feeds = { a: { dtype: "float32" as const, dims: [n, n], data }, b: { dtype: "float32" as const, dims: [n, n], data } };
  await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  await session.release();
  return (2 * n ** 3) / (median(times) / 1000) / 1e9;
}

/** One configuration's JSON line (runs in a child process). */
async function measure(modelName: string, mode: "full" | "lora", args: string[], peak: number): Promise<Record<string, unknown>> {
  const threads = await setThreads(args);
  const { createConfig } = await import("../../src/core/model/config.ts");
  const { randomEncoderWeights } = await import("../../src/core/model/random-init.ts");
  const { initLoraWeights } = await import("../../src/core/model/lora.ts");
  const { encoderModel } = await import("../../src/core/train/model.ts");
  const { Trainer } = await import("../../src/core/train/trainer.ts");
  const { padBatch } = await import("../../src/core/train/batches.ts");
  const { seededRandom } = await import("../../src/core/model/random.ts");

  const size = MODELS[modelName];
  const steps = Number(option(args, "steps") ?? size.steps);
  const config = createConfig("bert", { ...size, vocabSize: 30522, labels: LABELS });
  const lora = mode === "lora" ? { rank: 8, alpha: 16, targets: ["query" as const, "value" as const] } : undefined;
  const weights = new Map([...randomEncoderWeights(config, 1), ...(lora ? initLoraWeights(config, lora, 2) : [])]);
  const random = seededRandom(3);
  const examples = Array.from({ length: BATCH }, () => {
    const ids = Array.from({ length: LENGTH }, (_, t) => (t === 0 ? 101 : t === LENGTH - 1 ? 102 : 1000 + Math.floor(random.uniform() * 20000)));
    const labels = ids.map((_, t) => (t === 0 || t === LENGTH - 1 ? -100 : Math.floor(random.uniform() * LABELS.length)));
    return { ids, labels };
  });
  const batch = padBatch(config, examples, BATCH, LENGTH);
  const trainer = await Trainer.create({
    model: encoderModel(config, lora),
    weights,
    mode: lora ? { kind: "lora" } : { kind: "full" },
    schedule: { lr: 5e-5, warmupSteps: 0, totalSteps: 1000 },
    seed: 1,
    batchSize: BATCH,
  });
  weights.clear(); // the trainer holds copies (trainable) or references (frozen)
  const t0 = performance.now();
  const { matmulFlops, modelBytes } = await trainer.prepare(LENGTH);
  const sessionMs = performance.now() - t0;
  console.error(`${modelName}/${mode}: session ${(sessionMs / 1000).toFixed(1)} s, graph ${(modelBytes / 1e6).toFixed(1)} MB`);
  await trainer.step(batch); // warm-up
  const times: number[] = [];
  let loss = NaN;
  for (let i = 0; i < steps; i++) {
    const s0 = performance.now();
    loss = (await trainer.step(batch)).loss;
    times.push(performance.now() - s0);
    console.error(`${modelName}/${mode}: step ${i + 1}/${steps} ${times.at(-1)!.toFixed(0)} ms, loss ${loss.toFixed(4)}`);
  }
  await trainer.release();
  const stepMs = median(times);
  const gflop = matmulFlops / 1e9;
  const achieved = gflop / (stepMs / 1000);
  return {
    bench: "train-step",
    model: modelName,
    mode,
    backend: "wasm",
    threads,
    batch: BATCH,
    seq: LENGTH,
    trainable_params: trainer.trainable.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0),
    steps_timed: steps,
    step_ms: Math.round(stepMs * 10) / 10,
    tokens_per_s: Math.round((BATCH * LENGTH) / (stepMs / 1000)),
    model_gflop_per_step: Math.round(gflop * 100) / 100,
    achieved_gflops: Math.round(achieved * 100) / 100,
    matmul_peak_gflops: Math.round(peak * 100) / 100,
    ratio: Math.round((achieved / peak) * 1000) / 1000,
    session_ms: Math.round(sessionMs),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    last_loss: Math.round(loss * 1e4) / 1e4,
  };
}

export async function run(args: string[]): Promise<void> {
  const child = option(args, "child");
  if (child) {
    const [modelName, mode] = child.split(":");
    console.log(JSON.stringify(await measure(modelName, mode as "full" | "lora", args, Number(option(args, "peak")))));
    return;
  }
  const threads = await setThreads(args);
  const peak = await matmulPeak();
  console.error(`matmul peak: ${peak.toFixed(1)} GFLOP/s (1024³, wasm, ${threads} thread(s))`);
  console.log(JSON.stringify({ bench: "train-step", model: "matmul-1024", backend: "wasm", threads, matmul_peak_gflops: Math.round(peak * 100) / 100 }));
  const models = (option(args, "models") ?? "tiny,small,base").split(",");
  const modes = (option(args, "modes") ?? "full,lora").split(",");
  const bench = fileURLToPath(new URL("../bench.ts", import.meta.url));
  const passOn = args.filter((a) => /^--(steps|threads)=/.test(a));
  for (const model of models) {
    if (!MODELS[model]) throw new Error(`unknown model ${model}; expected ${Object.keys(MODELS).join(", ")}`);
    for (const mode of modes) {
      const result = spawnSync(process.execPath, [...process.execArgv, bench, "train-step", `--child=${model}:${mode}`, `--peak=${peak}`, ...passOn], {
        stdio: ["ignore", "pipe", "inherit"],
        encoding: "utf8",
        maxBuffer: 1 << 20,
      });
      const line = result.stdout.trim().split("\n").at(-1);
      if (result.status === 0 && line) console.log(line);
      else {
        const reason = result.signal ?? `exit ${result.status}`;
        console.log(JSON.stringify({ bench: "train-step", model, mode, backend: "wasm", threads, error: `child failed (${reason}); see stderr` }));
      }
    }
  }
}
