// The download .zip of a model trained by a run: Hugging Face names and shapes for
// BertForTokenClassification, float32 everywhere, a card with counts but no note text, and
// a model that transformers.js's token-classification pipeline loads from the unzipped
// files and that predicts the same spans as our predictor. With int8 asked for, the demo
// model's zip also holds onnx/model_quantized.onnx, which the pipeline loads as dtype "q8".

import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strFromU8, unzipSync } from "fflate";
import { afterAll, describe, expect, it } from "vitest";
import type { Span } from "../../../src/core/corpus/types.ts";
import { compareStoredModels } from "../../../src/core/eval/compare.ts";
import { INT8_ONNX_FILE, bundleFileName, bundleFiles, storedModelBundle } from "../../../src/core/export/model-bundle.ts";
import { ModelFormatError } from "../../../src/core/errors.ts";
import { parseConfig } from "../../../src/core/model/config.ts";
import { storeModelFiles } from "../../../src/core/model/load.ts";
import { listParams } from "../../../src/core/model/names.ts";
import { createPredictor } from "../../../src/core/model/predict.ts";
import { readSafetensors } from "../../../src/core/model/safetensors.ts";
import { addEvaluation } from "../../../src/core/store/runs.ts";
import { loadTokenizer } from "../../../src/core/text/tokenizer.ts";
import { defaultHyperparameters, runTraining, startTrainingRun } from "../../../src/core/train/run.ts";
import { thrownBy } from "../../helpers.ts";
import { freshDatabase } from "../store/helpers.ts";
import { makeNote, setupProject } from "../train/run-fixtures.ts";
import { pipelineFromFiles, pipelineSpans } from "./pipeline-spans.ts";

const root = mkdtempSync(join(tmpdir(), "model-bundle-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("the model download", () => {
  it("follows Hugging Face's conventions and predicts in transformers.js as in the app", async () => {
    const f = await setupProject({ pool: 24, gold: 6, hidden: 32 });
    const run = await startTrainingRun(f.db, {
      projectId: f.projectId,
      baseModelId: f.baseModelId,
      source: "llm",
      minConfidence: 0,
      weightByConfidence: false,
      hyper: { ...defaultHyperparameters(1000, 64), epochs: 4, batchSize: 4, lr: 3e-3, maxLength: 32, patience: 0 },
    });
    const { modelId } = await runTraining(f.db, run.id);
    const comparison = await compareStoredModels(f.db, f.projectId, f.baseModelId, modelId);
    await addEvaluation(f.db, { projectId: f.projectId, runId: run.id, modelId, metrics: comparison });

    const bundle = await storedModelBundle(f.db, modelId, { appVersion: "9.9.9", date: "2025-01-02" });
    expect(bundle.fileName).toBe(bundleFileName("tiny source adapted to Demo"));
    const files = unzipSync(bundle.bytes);
    expect(Object.keys(files).sort()).toEqual(["README.md", "config.json", "model.safetensors", "onnx/model.onnx", "tokenizer.json", "tokenizer_config.json"]);

    const configJson = JSON.parse(strFromU8(files["config.json"]));
    expect(configJson.model_type).toBe("bert");
    expect(configJson.architectures).toEqual(["BertForTokenClassification"]);
    expect(configJson.id2label).toEqual({ 0: "O", 1: "B-Chemical", 2: "I-Chemical", 3: "B-Disease", 4: "I-Disease" });
    expect(configJson.label2id).toEqual({ O: 0, "B-Chemical": 1, "I-Chemical": 2, "B-Disease": 3, "I-Disease": 4 });
    const config = parseConfig(configJson);
    const { tensors, metadata } = readSafetensors(files["model.safetensors"]);
    expect(metadata?.format).toBe("pt");
    const specs = listParams(config, "token");
    expect([...tensors.keys()].sort()).toEqual(specs.map((spec) => spec.name).sort());
    for (const spec of specs) {
      expect(tensors.get(spec.name)!.shape, spec.name).toEqual(spec.shape);
      expect(tensors.get(spec.name)!.dtype, spec.name).toBe("F32");
    }
    expect(tensors.get("classifier.weight")!.shape).toEqual([5, 32]);

    const card = strFromU8(files["README.md"]);
    expect(card).toContain("pipeline_tag: token-classification");
    expect(card).toContain('base_model: "tiny source"');
    expect(card).toContain("lexicon-7b");
    expect(card).toContain("`abc123`");
    expect(card).toMatch(/training notes: 22 pool notes/);
    expect(card).toMatch(/95% paired-bootstrap interval/);
    expect(card).toContain("Clinical Adapt 9.9.9 on 2025-01-02");
    for (let i = 0; i < 30; i++) {
      for (const text of [makeNote(i).text, makeNote(100 + i).text]) expect(card).not.toContain(text);
    }

    // transformers.js, from the unzipped files.
    const pipe = await pipelineFromFiles(files, root, "adapted");
    const texts = Array.from({ length: 8 }, (_, i) => makeNote(200 + i).text);
    const theirs = (await pipe(texts, { ignore_labels: [] })) as unknown as { entity: string; index: number }[][];
    await pipe.dispose();

    const tokenizer = loadTokenizer(JSON.parse(strFromU8(files["tokenizer.json"])), JSON.parse(strFromU8(files["tokenizer_config.json"])));
    const predictor = await createPredictor({ onnx: files["onnx/model.onnx"], config, tokenizer });
    const ours = await predictor.predict(texts);
    await predictor.release();
    const strip = (spans: Span[]) => spans.map(({ start, end, type }) => ({ start, end, type }));
    let spans = 0;
    texts.forEach((text, i) => {
      expect(pipelineSpans(text, theirs[i], tokenizer), text).toEqual(strip(ours[i]));
      spans += ours[i].length;
    });
    expect(spans).toBeGreaterThan(0);
  });
});

describe("the model download with int8", () => {
  it("adds onnx/model_quantized.onnx, under 30% of the float32 graph, which transformers.js loads as q8 and runs as we do", async () => {
    const db = freshDatabase();
    const demo = new Map(readdirSync("public/demo/model").map((name) => [name, new Uint8Array(readFileSync(join("public/demo/model", name)))]));
    const { model } = await storeModelFiles(db, demo, { name: "Demo source", kind: "demo" });
    const plain = await storedModelBundle(db, model.id, { appVersion: "9.9.9", date: "2025-01-02" });
    expect(plain.files.has(INT8_ONNX_FILE)).toBe(false);
    expect(strFromU8(plain.files.get("README.md")!)).not.toContain("model_quantized");

    const bundle = await storedModelBundle(db, model.id, { appVersion: "9.9.9", date: "2025-01-02", int8: true });
    const files = unzipSync(bundle.bytes);
    expect(Object.keys(files).sort()).toEqual(["README.md", "config.json", "model.safetensors", "onnx/model.onnx", INT8_ONNX_FILE, "tokenizer.json", "tokenizer_config.json"]);
    const [fp32, int8] = [files["onnx/model.onnx"], files[INT8_ONNX_FILE]];
    expect(int8.byteLength / fp32.byteLength).toBeLessThan(0.3);
    const card = strFromU8(files["README.md"]);
    expect(card).toContain(`\`onnx/model_quantized.onnx\` is the same model in int8 (${(int8.byteLength / 1e6).toFixed(1)} MB)`);
    expect(card).toContain(`output \`logits\`), ${(fp32.byteLength / 1e6).toFixed(1)} MB.`);
    expect(card).toContain('dtype: "q8"');

    // One note per run on both sides: dynamic quantization scales the activations by the
    // range of the whole batch, padding included, so both runs must see the same tokens
    // (the pipeline pads a batch of texts to its longest; our predictor pads to `bucket`).
    const notes = ["notes-gold.jsonl", "notes-pool.jsonl"].flatMap((file) =>
      readFileSync(join("public/demo", file), "utf8").trim().split("\n").map((line) => (JSON.parse(line) as { text: string }).text),
    );
    const pipe = await pipelineFromFiles(files, root, "demo-int8", "q8");
    const theirs: { entity: string; index: number; score: number }[][] = [];
    for (const text of notes) theirs.push((await pipe(text, { ignore_labels: [] })) as unknown as { entity: string; index: number; score: number }[]);
    await pipe.dispose();

    const config = parseConfig(JSON.parse(strFromU8(files["config.json"])));
    const tokenizer = loadTokenizer(JSON.parse(strFromU8(files["tokenizer.json"])), JSON.parse(strFromU8(files["tokenizer_config.json"])));
    const one = { batchSize: 1, bucket: 1 };
    const run = async (onnx: Uint8Array) => {
      const predictor = await createPredictor({ onnx, config, tokenizer });
      const tokens = await predictor.predictTokens(notes, one);
      await predictor.release();
      return tokens;
    };
    const [ours, ourFp32] = [await run(int8), await run(fp32)];
    let compared = 0;
    let offFp32 = 0;
    theirs.forEach((tokens, i) => {
      const { labelIds, probabilities } = ours[i];
      const labels = config.labels.length;
      for (const token of tokens) {
        const t = token.index;
        expect(config.labels[labelIds[t]], `note ${i}, token ${t}`).toBe(token.entity);
        // Their score is the int8 graph's, not the float32 one's: the pipeline did load model_quantized.onnx.
        expect(probabilities[t * labels + labelIds[t]]).toBeCloseTo(token.score, 4);
        if (Math.abs(ourFp32[i].probabilities[t * labels + labelIds[t]] - token.score) > 1e-3) offFp32++;
        compared++;
      }
    });
    expect(compared).toBeGreaterThan(500);
    expect(offFp32).toBeGreaterThan(0);
  });
});

describe("int8 for a model stored as ONNX only", () => {
  it("quantizes its onnx/model.onnx, and says so when that graph has no float32 weights left to round", () => {
    const demo = new Map(readdirSync("public/demo/model").map((name) => [name, new Uint8Array(readFileSync(join("public/demo/model", name)))]));
    const withGraph = bundleFiles(demo, { name: "demo", appVersion: "9.9.9", date: "2025-01-02" });
    const onnxOnly = new Map([...withGraph].filter(([path]) => !path.endsWith(".safetensors") && path !== "README.md"));
    const options = { name: "demo", appVersion: "9.9.9", date: "2025-01-02", int8: true };
    const files = bundleFiles(onnxOnly, options);
    expect(files.get("onnx/model.onnx")).toBe(onnxOnly.get("onnx/model.onnx")); // passed through as stored
    expect(files.get(INT8_ONNX_FILE)!.byteLength).toBeLessThan(0.3 * files.get("onnx/model.onnx")!.byteLength);

    // Someone's int8 graph uploaded as onnx/model.onnx: nothing float32 is left to quantize.
    const alreadyInt8 = new Map([...onnxOnly, ["onnx/model.onnx", files.get(INT8_ONNX_FILE)!]]);
    const error = thrownBy(ModelFormatError, () => bundleFiles(alreadyInt8, options));
    expect(error.file).toBe("onnx/model.onnx");
    expect(error.problem).toMatch(/has no float32 MatMul, Gemm or Gather weight/);
  });
});
