// The download .zip of attribute, relation and document-label models: what the model card
// says about each head is what the files hold. A document-label model is transformers'
// *ForSequenceClassification (problem_type, classifier (values, hidden), a graph with
// logits (batch, values)); an attribute or relation model is the bare encoder plus the
// tensors SPAN_HEAD_LOADING names, with the shapes it gives, and a graph with the inputs
// and output shape it describes. The card also carries the task's scores on the gold notes.

import { strFromU8, unzipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { compareTaskModels } from "../../../src/core/eval/task-compare.ts";
import { storedModelBundle } from "../../../src/core/export/model-bundle.ts";
import { parseConfig } from "../../../src/core/model/config.ts";
import { SPAN_HEAD_FIELD } from "../../../src/core/model/folder.ts";
import { listParams } from "../../../src/core/model/names.ts";
import { readSafetensors } from "../../../src/core/model/safetensors.ts";
import { SPAN_HEAD_LOADING } from "../../../src/core/model/span-heads.ts";
import { createSession } from "../../../src/core/onnx/run.ts";
import { addEvaluation } from "../../../src/core/store/runs.ts";
import type { HeadTask } from "../../../src/core/train/tasks.ts";
import { setupTaskProject, trainTaskBriefly } from "../train/task-run-fixtures.ts";

type Fixture = Awaited<ReturnType<typeof setupTaskProject>>;

/** Trains the task briefly, evaluates it (stored, as the worker does), and downloads it. */
async function download(f: Fixture, task: HeadTask) {
  const { runId, modelId } = await trainTaskBriefly(f, task);
  const comparison = await compareTaskModels(f.db, f.projectId, f.baseModelId, modelId);
  await addEvaluation(f.db, { projectId: f.projectId, runId, modelId, metrics: comparison });
  const bundle = await storedModelBundle(f.db, modelId, { appVersion: "0.1.0", date: "2025-01-02" });
  const files = unzipSync(bundle.bytes);
  const json = JSON.parse(strFromU8(files["config.json"]));
  const tensors = readSafetensors(files["model.safetensors"]).tensors;
  return { files, card: strFromU8(files["README.md"]), json, tensors, shapes: new Map([...tensors].map(([name, t]) => [name, t.shape])) };
}

const FOLDER = ["README.md", "config.json", "model.safetensors", "onnx/model.onnx", "tokenizer.json", "tokenizer_config.json"];
const int64 = (values: number[]) => BigInt64Array.from(values.map(BigInt));

describe("the download of a document-label model", () => {
  it("is a *ForSequenceClassification with the problem_type, tensors and graph the card names", async () => {
    const f = await setupTaskProject({ pool: 8, gold: 4 });
    const { files, card, json, shapes } = await download(f, { kind: "document", label: "status" });
    expect(Object.keys(files).sort()).toEqual(FOLDER);
    expect(card).toContain("pipeline_tag: text-classification");
    expect(card).toContain('AutoModelForSequenceClassification.from_pretrained("path/to/this/folder")');
    expect(card).toContain("problem_type `single_label_classification`");
    expect([json.architectures, json.problem_type, json.id2label]).toEqual([["BertForSequenceClassification"], "single_label_classification", { 0: "active", 1: "resolved" }]);
    const config = parseConfig(json);
    expect(new Map(listParams(config, "sequence").map((spec) => [spec.name, spec.shape]))).toEqual(shapes);
    expect(shapes.get("classifier.weight")).toEqual([2, config.hiddenSize]);

    // "inputs input_ids, attention_mask (and token_type_ids for BERT), output logits (batch, values)"
    const session = await createSession(files["onnx/model.onnx"]);
    expect([...session.inputNames]).toEqual(["input_ids", "attention_mask", "token_type_ids"]);
    const ids = { dtype: "int64" as const, dims: [1, 4], data: int64([2, 10, 11, 3]) };
    const out = await session.run({ input_ids: ids, attention_mask: { ...ids, data: int64([1, 1, 1, 1]) }, token_type_ids: { ...ids, data: int64([0, 0, 0, 0]) } });
    expect(out.logits.dims).toEqual([1, 2]);
    await session.release();

    expect(card).toContain('Document label "status" on 4 gold notes');
    expect(card).toContain('"tiny source" has no head for document label "status"');
    expect(card).toMatch(/\| status: accuracy \(4 notes\) \| \d+\.\d \|/);
    for (const note of f.gold) expect(card).not.toContain(note.text);
  });
});

describe("the download of attribute and relation models", () => {
  it("holds the bare encoder and the head tensors SPAN_HEAD_LOADING names, with its shapes, and the graph it describes", async () => {
    const f = await setupTaskProject({ pool: 8, gold: 4 });
    const attributes = await download(f, { kind: "attributes" });
    expect(Object.keys(attributes.files).sort()).toEqual(FOLDER);
    expect(attributes.card).toContain(SPAN_HEAD_LOADING);
    expect(attributes.card).not.toContain("pipeline_tag");
    const config = parseConfig(attributes.json);
    const H = config.hiddenSize;
    expect(attributes.json.architectures).toEqual(["BertModel"]);
    // "attribute_classifiers.{i}.weight / .bias (values_i, hidden), attribute i of config.json's clinical_adapt_head.attributes"
    const described = attributes.json[SPAN_HEAD_FIELD].attributes as { values: string[] }[];
    expect(described.length).toBe(1);
    const head = new Map<string, number[]>(described.flatMap((a, i) => [[`attribute_classifiers.${i}.weight`, [a.values.length, H]], [`attribute_classifiers.${i}.bias`, [a.values.length]]] as const));
    const encoder = new Map(listParams(config, "none").map((spec) => [spec.name, spec.shape]));
    expect(attributes.shapes).toEqual(new Map([...encoder, ...head]));

    // "onnx/model.onnx takes input_ids, attention_mask (token_type_ids for BERT) and span_weights (batch, spans, tokens) … outputs logits (batch, spans, sum of values)"
    const session = await createSession(attributes.files["onnx/model.onnx"]);
    expect([...session.inputNames]).toEqual(["input_ids", "attention_mask", "token_type_ids", "span_weights"]);
    const ids = { dtype: "int64" as const, dims: [1, 4], data: int64([2, 10, 11, 3]) };
    const spans = { dtype: "float32" as const, dims: [1, 3, 4], data: Float32Array.from([0, 1, 0, 0, 0, 0.5, 0.5, 0, 0, 0, 1, 0]) };
    const out = await session.run({ input_ids: ids, attention_mask: { ...ids, data: int64([1, 1, 1, 1]) }, token_type_ids: { ...ids, data: int64([0, 0, 0, 0]) }, span_weights: spans });
    expect(out.logits.dims).toEqual([1, 3, described[0].values.length]);
    await session.release();
    expect(attributes.card).toContain("The model was given the gold entities");
    expect(attributes.card).toMatch(/\| certainty: accuracy \(4 entities\) \| \d+\.\d \|/);

    const relations = await download(f, { kind: "relations" });
    expect(relations.card).toContain(SPAN_HEAD_LOADING);
    // "relation_classifier.weight / .bias (labels, 3 * hidden), labels in config.json's id2label (0 = "none")"
    expect(relations.json.id2label).toEqual({ 0: "none", 1: "Treats" });
    expect(relations.shapes.get("relation_classifier.weight")).toEqual([2, 3 * H]);
    expect(relations.shapes.get("relation_classifier.bias")).toEqual([2]);
    expect(relations.shapes.size).toBe(encoder.size + 2);
    const pairs = await createSession(relations.files["onnx/model.onnx"]);
    expect([...pairs.inputNames]).toEqual(["input_ids", "attention_mask", "token_type_ids", "pair_from", "pair_to"]);
    const from = { dtype: "float32" as const, dims: [1, 1, 4], data: Float32Array.from([0, 1, 0, 0]) };
    const to = { ...from, data: Float32Array.from([0, 0, 1, 0]) };
    const logits = await pairs.run({ input_ids: ids, attention_mask: { ...ids, data: int64([1, 1, 1, 1]) }, token_type_ids: { ...ids, data: int64([0, 0, 0, 0]) }, pair_from: from, pair_to: to });
    expect(logits.logits.dims).toEqual([1, 1, 2]);
    await pairs.release();
  });
});
