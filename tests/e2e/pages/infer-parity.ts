// Test page (not part of the app): the app's predictor on WebAssembly and on WebGPU over
// the same notes (one longer than a window), exposed as window.inferParity() for
// tests/e2e/train-backends.test.ts.

import { createConfig } from "../../../src/core/model/config.ts";
import { buildInferenceModel } from "../../../src/core/model/inference-graph.ts";
import { createPredictor } from "../../../src/core/model/predict.ts";
import { randomEncoderWeights } from "../../../src/core/model/random-init.ts";
import { configureWasm, recordWebgpuKernels } from "../../../src/core/train/ort-session.ts";
import { loadTokenizer } from "../../../src/core/text/tokenizer.ts";
import { buildWordPieceTokenizer } from "../../../src/core/text/wordpiece-vocab.ts";

const NOTES = [
  "Pt with HTN and DM2 on metformin 500 mg BID; aspirin started for chest pain.",
  "Fiebre y tos desde hace tres días; se pauta paracetamol.",
  "患者は胸痛を訴え、アスピリンを内服した。",
  // Longer than one 32-token window: windows and their merge run on both backends.
  Array.from({ length: 12 }, (_, i) => `Day ${i + 1}: warfarin held, INR ${(2 + i / 10).toFixed(1)}, no bleeding.`).join(" "),
];

async function inferParity() {
  configureWasm({ wasmPaths: new URL("./ort/", location.href).href });
  const built = buildWordPieceTokenizer(NOTES, { vocabSize: 300, minFrequency: 1, modelMaxLength: 32 });
  const tokenizer = loadTokenizer(built.tokenizerJson, built.tokenizerConfig);
  const labels = ["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"];
  const vocabSize = Object.keys((built.tokenizerJson.model as { vocab: Record<string, number> }).vocab).length;
  const config = createConfig("bert", { vocabSize, hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 64, maxPositions: 64, labels });
  const onnx = buildInferenceModel(config, randomEncoderWeights(config, 5));

  const run = async (provider: "wasm" | "webgpu") => {
    const predictor = await createPredictor({ onnx, config, tokenizer, session: { executionProviders: [provider] } });
    try {
      const options = { maxLength: 32, batchSize: 3 };
      const tokens = await predictor.predictTokens(NOTES, options);
      return { spans: await predictor.predict(NOTES, options), probabilities: tokens.map((t) => Array.from(t.probabilities)) };
    } finally {
      await predictor.release();
    }
  };
  const wasm = await run("wasm");
  const recorder = recordWebgpuKernels();
  let webgpu;
  try {
    webgpu = await run("webgpu");
  } finally {
    recorder.stop();
  }
  let maxAbs = 0;
  wasm.probabilities.forEach((row, i) => row.forEach((p, j) => (maxAbs = Math.max(maxAbs, Math.abs(p - webgpu.probabilities[i][j])))));
  const kernelTypes: Record<string, number> = {};
  for (const k of recorder.kernels) kernelTypes[k.kernelType] = (kernelTypes[k.kernelType] ?? 0) + 1;
  return { wasm: wasm.spans, webgpu: webgpu.spans, maxAbsProbability: maxAbs, kernelTypes };
}

(window as unknown as { inferParity: typeof inferParity }).inferParity = inferParity;
