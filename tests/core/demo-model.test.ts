// The demo source model that ships in public/demo/model/ (built by
// scripts/build-demo-model.ts): its files agree with each other, it loads the way the app
// loads it, and it finds the obvious drugs and diseases in the demo's own notes.

import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Span } from "../../src/core/corpus/types.ts";
import { spanMetrics } from "../../src/core/eval/span-metrics.ts";
import { readModelFolder, type ModelFolder } from "../../src/core/model/folder.ts";
import { buildInferenceModel } from "../../src/core/model/inference-graph.ts";
import { listParams } from "../../src/core/model/names.ts";
import { createPredictor, type Predictor } from "../../src/core/model/predict.ts";
import { resolveWeights, type Weight } from "../../src/core/model/weights.ts";
import { bioLabels } from "../../src/core/text/bio.ts";
import { loadTokenizer, type TextTokenizer } from "../../src/core/text/tokenizer.ts";

const DIR = "public/demo/model";
const TYPES = ["Chemical", "Disease"];

function readTree(dir: string, prefix = ""): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) for (const [name, bytes] of readTree(path, `${prefix}${entry}/`)) files.set(name, bytes);
    else files.set(`${prefix}${entry}`, new Uint8Array(readFileSync(path)));
  }
  return files;
}

const goldNotes = readFileSync("public/demo/notes-gold.jsonl", "utf8")
  .trim()
  .split("\n")
  .map((line) => JSON.parse(line) as { id: string; text: string; entities: Span[] });
const note = (id: string) => goldNotes.find((n) => n.id === id)!.text;

let files: Map<string, Uint8Array>;
let folder: ModelFolder;
let weights: Map<string, Weight>;
let tokenizer: TextTokenizer;
let predictor: Predictor;

beforeAll(async () => {
  files = readTree(DIR);
  folder = readModelFolder(files);
  weights = resolveWeights(folder.config, folder.weights!).params;
  // verify: the offsets the predictor relies on are checked against the tokenizer library.
  tokenizer = loadTokenizer(folder.tokenizerJson, folder.tokenizerConfig, { verify: true });
  // The app builds the inference graph from the safetensors, as here (it does not fetch onnx/).
  predictor = await createPredictor({ onnx: buildInferenceModel(folder.config, weights), config: folder.config, tokenizer });
});

afterAll(() => predictor?.release());

describe("the shipped demo model", () => {
  it("is a BERT token classifier for O, B-/I-Chemical, B-/I-Disease", () => {
    const config = JSON.parse(new TextDecoder().decode(files.get("config.json")));
    expect(config.model_type).toBe("bert");
    expect(config.architectures).toEqual(["BertForTokenClassification"]);
    expect(folder.config.labels).toEqual(bioLabels(TYPES).id2label);
    expect(config.label2id).toEqual(bioLabels(TYPES).label2id);
  });

  it("has a tokenizer, a config and weights that agree", () => {
    const vocab = (folder.tokenizerJson.model as { vocab: Record<string, number> }).vocab;
    expect(Object.keys(vocab)).toHaveLength(folder.config.vocabSize);
    expect(Math.max(...Object.values(vocab))).toBe(folder.config.vocabSize - 1);
    expect(tokenizer.padId).toBe(folder.config.padTokenId);
    expect(tokenizer.maxLength).toBeLessThanOrEqual(folder.config.maxPositions);

    // Every parameter the config implies is in the file with its shape, and nothing else is.
    const specs = listParams(folder.config, "token");
    expect([...folder.weights!.keys()].sort()).toEqual(specs.map((s) => s.name).sort());
    for (const spec of specs) expect(folder.weights!.get(spec.name)!.shape).toEqual(spec.shape);
    expect(folder.weights!.get("classifier.weight")!.shape).toEqual([5, folder.config.hiddenSize]);
    expect(folder.weights!.get("bert.embeddings.word_embeddings.weight")!.shape[0]).toBe(Object.keys(vocab).length);
    for (const { data } of weights.values()) expect(data.every(Number.isFinite)).toBe(true);
  });

  it("ships what metrics.json says it ships", () => {
    const metrics = JSON.parse(new TextDecoder().decode(files.get("metrics.json")));
    for (const [path, bytes] of Object.entries(metrics.files as Record<string, number>)) expect(files.get(path)?.byteLength).toBe(bytes);
    expect(metrics.labels).toEqual(folder.config.labels);
    expect(metrics.vocabSize).toBe(folder.config.vocabSize);
    const total = [...files.values()].reduce((sum, bytes) => sum + bytes.byteLength, 0);
    expect(total).toBeLessThan(10 * 1024 * 1024);
  });

  it("finds the obvious drugs and diseases in the demo's ED notes", async () => {
    const texts = [note("ed-001"), note("ed-002"), note("ed-003")];
    const predicted = await predictor.predict(texts);
    const found = predicted.map((spans, i) => spans.map((s) => `${s.type}:${texts[i].slice(s.start, s.end)}`));
    expect(found[0]).toEqual(expect.arrayContaining(["Chemical:aspirin", "Chemical:metformin", "Chemical:nitroglycerin"]));
    expect(found[1]).toEqual(expect.arrayContaining(["Chemical:warfarin", "Disease:atrial fibrillation"]));
    expect(found[2]).toEqual(expect.arrayContaining(["Chemical:acetaminophen", "Chemical:N-acetylcysteine", "Disease:hepatotoxicity"]));
  });

  it("scores on the demo's gold notes what metrics.json reports", async () => {
    const metrics = JSON.parse(new TextDecoder().decode(files.get("metrics.json")));
    const predicted = await predictor.predict(goldNotes.map((n) => n.text));
    const scores = spanMetrics(goldNotes.map((n, i) => ({ gold: n.entities, pred: predicted[i] })));
    expect(scores.strict.micro.f1).toBeCloseTo(metrics.demoGold.strict.micro.f1, 4);
    expect(scores.lenient.micro.f1).toBeCloseTo(metrics.demoGold.lenient.micro.f1, 4);
    for (const type of TYPES) expect(scores.strict.perType[type].tp).toBe(metrics.demoGold.strict.perType[type].tp);
  });

  it("tags abstract-style text it never saw, and leaves plain words alone", async () => {
    const text = "Cisplatin-induced nephrotoxicity was reduced by magnesium in rats with diabetes.";
    const plain = "The patient walked to the clinic on Tuesday with her daughter.";
    const [spans, none] = await predictor.predict([text, plain]);
    const found = spans.map((s) => `${s.type}:${text.slice(s.start, s.end)}`);
    expect(found).toEqual(expect.arrayContaining(["Chemical:Cisplatin", "Disease:nephrotoxicity", "Chemical:magnesium", "Disease:diabetes"]));
    // A small model from scratch: a word it has not seen (here "daughter") may be tagged,
    // but the common words of its training abstracts are not.
    const tagged = none.map((s) => plain.slice(s.start, s.end).toLowerCase());
    expect(tagged.length).toBeLessThanOrEqual(1);
    for (const word of ["the", "patient", "walked", "clinic", "with"]) expect(tagged).not.toContain(word);
  });
});
