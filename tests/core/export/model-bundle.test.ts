// The download .zip of a model trained by a run: Hugging Face names and shapes for
// BertForTokenClassification, float32 everywhere, a card with counts but no note text, and
// a model that transformers.js's token-classification pipeline loads from the unzipped
// files and that predicts the same spans as our predictor.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strFromU8, unzipSync } from "fflate";
import { afterAll, describe, expect, it } from "vitest";
import type { Span } from "../../../src/core/corpus/types.ts";
import { compareStoredModels } from "../../../src/core/eval/compare.ts";
import { bundleFileName, storedModelBundle } from "../../../src/core/export/model-bundle.ts";
import { parseConfig } from "../../../src/core/model/config.ts";
import { listParams } from "../../../src/core/model/names.ts";
import { createPredictor } from "../../../src/core/model/predict.ts";
import { readSafetensors } from "../../../src/core/model/safetensors.ts";
import { addEvaluation } from "../../../src/core/store/runs.ts";
import { loadTokenizer } from "../../../src/core/text/tokenizer.ts";
import { defaultHyperparameters, runTraining, startTrainingRun } from "../../../src/core/train/run.ts";
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
