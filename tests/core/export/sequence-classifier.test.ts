// A document-label model written as a Hugging Face folder (writeModelFolder with the
// sequence head, buildInferenceModel's sequence graph): the names and shapes of
// Bert/Roberta/DistilBertForSequenceClassification, config.json with the architecture and
// problem_type, and a folder that transformers.js's text-classification pipeline loads
// from local files and that scores each text as our own prediction does (our tokenizer,
// our graph on onnxruntime-web, documentPrediction), softmax and multi-label sigmoid.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { strFromU8 } from "fflate";
import { afterAll, describe, expect, it } from "vitest";
import { type ModelType, type ProblemType, createConfig } from "../../../src/core/model/config.ts";
import { type DocumentPrediction, documentPrediction } from "../../../src/core/model/document-labels.ts";
import { writeModelFolder } from "../../../src/core/model/folder.ts";
import { buildInferenceModel } from "../../../src/core/model/inference-graph.ts";
import { listParams } from "../../../src/core/model/names.ts";
import { readSafetensors } from "../../../src/core/model/safetensors.ts";
import { type HostTensor, createSession } from "../../../src/core/onnx/run.ts";
import { loadTokenizer } from "../../../src/core/text/tokenizer.ts";
import { testWeights } from "../model/encoder-reference.ts";

const root = mkdtempSync(join(tmpdir(), "sequence-classifier-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const LABELS = ["never", "former", "current"];
const TEXTS = [
  "Patient smokes a pack a day.",
  "Quit smoking ten years ago; no alcohol.",
  "Denies tobacco use.",
  "Chest pain radiating to the left arm, worse on exertion, relieved by rest.",
];

const WORDPIECE = { tokenizer: "wordpiece-uncased", vocabSize: 197 };
const BPE = { tokenizer: "byte-level-bpe", vocabSize: 318 };
const TOKENIZER_CONFIGS: Record<string, object> = {
  bert: { tokenizer_class: "BertTokenizer", do_lower_case: true, pad_token: "[PAD]", unk_token: "[UNK]", cls_token: "[CLS]", sep_token: "[SEP]", mask_token: "[MASK]" },
  distilbert: { tokenizer_class: "DistilBertTokenizer", do_lower_case: true, pad_token: "[PAD]", unk_token: "[UNK]", cls_token: "[CLS]", sep_token: "[SEP]", mask_token: "[MASK]" },
  roberta: { tokenizer_class: "RobertaTokenizer", pad_token: "<pad>", unk_token: "<unk>", bos_token: "<s>", eos_token: "</s>", cls_token: "<s>", sep_token: "</s>", mask_token: "<mask>" },
};

/** The head tensors each transformers class has, after the encoder's. */
const HEAD_NAMES: Record<string, string[]> = {
  bert: ["bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"],
  roberta: ["classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight", "classifier.out_proj.bias"],
  distilbert: ["pre_classifier.weight", "pre_classifier.bias", "classifier.weight", "classifier.bias"],
};

const CASES: { type: ModelType; problemType: ProblemType; architecture: string; tokenizer: typeof WORDPIECE }[] = [
  { type: "bert", problemType: "single_label_classification", architecture: "BertForSequenceClassification", tokenizer: WORDPIECE },
  { type: "bert", problemType: "multi_label_classification", architecture: "BertForSequenceClassification", tokenizer: WORDPIECE },
  { type: "roberta", problemType: "single_label_classification", architecture: "RobertaForSequenceClassification", tokenizer: BPE },
  { type: "distilbert", problemType: "multi_label_classification", architecture: "DistilBertForSequenceClassification", tokenizer: WORDPIECE },
];

function writeFiles(files: Map<string, Uint8Array>, name: string): void {
  for (const [path, bytes] of files) {
    mkdirSync(dirname(join(root, name, path)), { recursive: true });
    writeFileSync(join(root, name, path), bytes);
  }
}

describe("a document-label model in Hugging Face's layout", () => {
  it.each(CASES)("$type, $problemType: standard names, and transformers.js scores texts as we do", async (c) => {
    const config = createConfig(c.type, { vocabSize: c.tokenizer.vocabSize, hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 64, labels: LABELS });
    const weights = testWeights(config, 61, "sequence");
    const tokenizerJson = readFileSync(`tests/fixtures/tokenizers/${c.tokenizer.tokenizer}.tokenizer.json`, "utf8");
    const tokenizerConfig = TOKENIZER_CONFIGS[config.family];
    const files = writeModelFolder(config, LABELS, weights, { tokenizerJson, tokenizerConfig }, { head: "sequence", problemType: c.problemType });
    const onnx = buildInferenceModel(config, weights, { head: "sequence" });
    files.set("onnx/model.onnx", onnx);

    const written = JSON.parse(strFromU8(files.get("config.json")!));
    expect(written.architectures).toEqual([c.architecture]);
    expect(written.problem_type).toBe(c.problemType);
    expect(written.id2label).toEqual({ 0: "never", 1: "former", 2: "current" });
    const tensors = readSafetensors(files.get("model.safetensors")!).tensors;
    expect([...tensors.keys()].sort()).toEqual(listParams(config, "sequence").map((s) => s.name).sort());
    const H = config.hiddenSize;
    expect(HEAD_NAMES[config.family].map((name) => tensors.get(name)?.shape)).toEqual([[H, H], [H], [3, H], [3]]);

    // Ours: our tokenizer, the graph on onnxruntime-web, one text at a time.
    const multiLabel = c.problemType === "multi_label_classification";
    const tokenizer = loadTokenizer(JSON.parse(tokenizerJson), tokenizerConfig);
    const session = await createSession(onnx);
    const ours: DocumentPrediction[] = [];
    for (const text of TEXTS) {
      const ids = tokenizer.encode(text).ids;
      const int64 = (values: number[]): HostTensor => ({ dtype: "int64", dims: [1, values.length], data: BigInt64Array.from(values.map(BigInt)) });
      const feeds: Record<string, HostTensor> = { input_ids: int64(ids), attention_mask: int64(ids.map(() => 1)) };
      if (config.family === "bert") feeds.token_type_ids = int64(ids.map(() => 0));
      const logits = (await session.run(feeds)).logits.data as Float32Array;
      ours.push(documentPrediction(logits, LABELS, multiLabel));
    }
    await session.release();

    // transformers.js: the text-classification pipeline from the folder, offline, padded batch.
    const name = `${c.type}-${c.problemType}`;
    writeFiles(files, name);
    const tf = await import("@huggingface/transformers");
    tf.env.allowRemoteModels = false;
    tf.env.localModelPath = root;
    const classify = await tf.pipeline("text-classification", name, { local_files_only: true, dtype: "fp32" });
    const theirs = (await classify(TEXTS, { top_k: null })) as unknown as { label: string; score: number }[][];
    await classify.dispose();

    const spread = ours.map((p) => Math.max(...p.scores) - Math.min(...p.scores));
    expect(Math.max(...spread)).toBeGreaterThan(0.2); // the scores tell the labels apart
    TEXTS.forEach((_, i) => {
      const byLabel = Object.fromEntries(theirs[i].map((r) => [r.label, r.score]));
      LABELS.forEach((label, k) => expect(byLabel[label], `${TEXTS[i]} / ${label}`).toBeCloseTo(ours[i].scores[k], 4));
      const held = multiLabel ? theirs[i].filter((r) => r.score > 0.5).map((r) => r.label) : [theirs[i][0].label];
      expect(held.sort()).toEqual([...ours[i].values].sort());
    });
  });
});
