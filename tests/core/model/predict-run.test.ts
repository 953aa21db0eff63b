// The inference run: a model stored in the database (config.json, tokenizer.json,
// onnx/model.onnx) over a project's notes, each note's spans saved with origin "model" and
// the run's id as it finishes; a cancelled run resumes and skips what it saved.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configToJson, createConfig } from "../../../src/core/model/config.ts";
import { buildInferenceModel } from "../../../src/core/model/inference-graph.ts";
import { writeModelFolder } from "../../../src/core/model/folder.ts";
import { writeSafetensors } from "../../../src/core/model/safetensors.ts";
import { storeModelFiles } from "../../../src/core/model/load.ts";
import { createPredictor } from "../../../src/core/model/predict.ts";
import { loadTokenizer } from "../../../src/core/text/tokenizer.ts";
import { loadStoredPredictor, runInference } from "../../../src/core/model/predict-run.ts";
import { randomEncoderWeights } from "../../../src/core/model/random-init.ts";
import { listAnnotations } from "../../../src/core/store/annotations.ts";
import { createModel, putModelFile } from "../../../src/core/store/models.ts";
import { importNotes } from "../../../src/core/store/notes.ts";
import { createProject } from "../../../src/core/store/projects.ts";
import { getRun } from "../../../src/core/store/runs.ts";
import { freshDatabase, hashed } from "../store/helpers.ts";

const LABELS = ["O", "B-X", "I-X"];
const NOTES = [
  "Chest pain radiating to the left arm.",
  "The patient denies dyspnea.",
  "Seen in clinic today, vitals stable.",
  "pain improving and walking",
  "left arm",
];

async function setup() {
  const db = freshDatabase();
  const project = await createProject(db, { name: "P", language: "en" });
  const { noteIds } = await importNotes(db, project.id, "", NOTES.map((text, i) => hashed(`n${i}`, text)));
  const config = createConfig("bert", { vocabSize: 197, hiddenSize: 32, numLayers: 1, numHeads: 4, intermediateSize: 64, labels: LABELS });
  const model = await createModel(db, { name: "tiny", kind: "uploaded", config: JSON.parse(configToJson(config, LABELS)), labels: LABELS, projectId: project.id });
  const put = (name: string, bytes: Uint8Array | string) =>
    putModelFile(db, model.id, name, typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
  await put("config.json", configToJson(config, LABELS));
  await put("tokenizer.json", readFileSync("tests/fixtures/tokenizers/wordpiece-uncased.tokenizer.json", "utf8"));
  await put("onnx/model.onnx", buildInferenceModel(config, randomEncoderWeights(config, 3)));
  return { db, project, noteIds, modelId: model.id };
}

describe("runInference", () => {
  it("saves each note's spans with origin model and the run's id, and marks the run done", async () => {
    const { db, project, noteIds, modelId } = await setup();
    const progress: number[] = [];
    const summary = await runInference(db, { projectId: project.id, modelId, notesPerChunk: 2, batchSize: 2 }, { onProgress: (p) => progress.push(p.done) });
    expect(summary).toMatchObject({ done: 5, total: 5, skipped: 0, cancelled: false });
    expect((await getRun(db, summary.runId)).status).toBe("done");
    const rows = await listAnnotations(db, project.id, "model", summary.runId);
    expect(rows.map((r) => r.noteId).sort()).toEqual([...noteIds].sort());
    // The same spans as the predictor gives directly.
    const predictor = await loadStoredPredictor(db, modelId);
    const direct = await predictor.predict(NOTES);
    for (const row of rows) expect(row.spans).toEqual(direct[noteIds.indexOf(row.noteId)]);
    expect(progress.at(-1)).toBe(5);
  });

  it("stops when cancelled and resumes the same run without redoing saved notes", async () => {
    const { db, project, modelId } = await setup();
    const controller = new AbortController();
    const first = await runInference(db, { projectId: project.id, modelId, notesPerChunk: 1 }, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.done === 2) controller.abort();
      },
    });
    expect(first.cancelled).toBe(true);
    expect((await getRun(db, first.runId)).status).toBe("cancelled");
    const saved = (await listAnnotations(db, project.id, "model", first.runId)).length;
    expect(saved).toBe(2);
    const second = await runInference(db, { projectId: project.id, modelId, runId: first.runId });
    expect(second).toMatchObject({ runId: first.runId, done: 5, skipped: 2, cancelled: false });
    expect(await listAnnotations(db, project.id, "model", first.runId)).toHaveLength(5);
  });

  it("fails the run with a clear error when the model has no ONNX graph", async () => {
    const db = freshDatabase();
    const project = await createProject(db, { name: "P", language: "en" });
    const model = await createModel(db, { name: "empty", kind: "uploaded", config: {}, labels: LABELS });
    await expect(runInference(db, { projectId: project.id, modelId: model.id })).rejects.toThrow(/no ONNX graph/);
  });
});

describe("storeModelFiles", () => {
  it("stores a safetensors folder, builds its ONNX graph, and predicts as the weights do", async () => {
    const db = freshDatabase();
    const config = createConfig("bert", { vocabSize: 197, hiddenSize: 32, numLayers: 1, numHeads: 4, intermediateSize: 64, labels: LABELS });
    const weights = randomEncoderWeights(config, 9);
    const tokenizerText = readFileSync("tests/fixtures/tokenizers/wordpiece-uncased.tokenizer.json", "utf8");
    const files = writeModelFolder(config, LABELS, weights, { tokenizerJson: tokenizerText });
    const prefixed = new Map([...files].map(([path, bytes]) => [`my-model/${path}`, bytes]));
    const { model, runnable } = await storeModelFiles(db, prefixed, { name: "mine" });
    expect(runnable).toBe(true);
    expect(Object.keys(model.files).sort()).toEqual(["config.json", "model.safetensors", "onnx/model.onnx", "tokenizer.json"]);
    expect(model.labels).toEqual(LABELS);

    const stored = await loadStoredPredictor(db, model.id);
    const direct = await createPredictor({ onnx: buildInferenceModel(config, weights), config, tokenizer: loadTokenizer(JSON.parse(tokenizerText)) });
    const a = await stored.predictTokens(NOTES);
    const b = await direct.predictTokens(NOTES);
    a.forEach((t, i) => expect(Array.from(t.labelIds)).toEqual(Array.from(b[i].labelIds)));
  });

  it("keeps a base model without a token head, marked as not runnable", async () => {
    const db = freshDatabase();
    const config = createConfig("bert", { vocabSize: 197, hiddenSize: 32, numLayers: 1, numHeads: 4, intermediateSize: 64, labels: LABELS });
    const weights = randomEncoderWeights(config, 9);
    for (const name of [...weights.keys()]) if (name.startsWith("classifier.")) weights.delete(name);
    const files = new Map<string, Uint8Array>([
      ["config.json", new TextEncoder().encode(configToJson(config, LABELS))],
      ["tokenizer.json", readFileSync("tests/fixtures/tokenizers/wordpiece-uncased.tokenizer.json")],
      ["model.safetensors", writeSafetensors(weights, { metadata: { format: "pt" } })],
    ]);
    const stored = await storeModelFiles(db, files, { name: "base" });
    expect(stored.runnable).toBe(false);
    expect(stored.reason).toMatch(/no token-classification head/);
  });
});
