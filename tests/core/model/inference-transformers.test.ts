// The exported model in a Hugging Face folder, loaded by transformers.js itself (in Node it
// runs onnxruntime-node, another runtime than ours): its tokenizer feeds the graph and its
// logits equal the float64 reference's.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type EncoderConfig, configToJson, createConfig } from "../../../src/core/model/config.ts";
import { positionIds } from "../../../src/core/model/encoder.ts";
import { buildInferenceModel } from "../../../src/core/model/inference-graph.ts";
import { maxAbs, maxAbsDiff, referenceClassifier, testWeights } from "./encoder-reference.ts";

const root = mkdtempSync(join(tmpdir(), "inference-transformers-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const CASES = [
  {
    type: "bert",
    vocabSize: 197,
    tokenizer: "wordpiece-uncased",
    tokenizerConfig: { tokenizer_class: "BertTokenizer", do_lower_case: true, pad_token: "[PAD]", unk_token: "[UNK]", cls_token: "[CLS]", sep_token: "[SEP]", mask_token: "[MASK]" },
  },
  {
    type: "roberta",
    vocabSize: 318,
    tokenizer: "byte-level-bpe",
    tokenizerConfig: { tokenizer_class: "RobertaTokenizer", pad_token: "<pad>", unk_token: "<unk>", bos_token: "<s>", eos_token: "</s>", cls_token: "<s>", sep_token: "</s>", mask_token: "<mask>" },
  },
] as const;

function writeFolder(name: string, config: EncoderConfig, onnx: Uint8Array, tokenizer: string, tokenizerConfig: object): void {
  mkdirSync(join(root, name, "onnx"), { recursive: true });
  writeFileSync(join(root, name, "config.json"), configToJson(config, config.labels));
  writeFileSync(join(root, name, "tokenizer.json"), readFileSync(`tests/fixtures/tokenizers/${tokenizer}.tokenizer.json`));
  writeFileSync(join(root, name, "tokenizer_config.json"), JSON.stringify(tokenizerConfig));
  writeFileSync(join(root, name, "onnx", "model.onnx"), onnx);
}

describe("the exported model in transformers.js", () => {
  it.each(CASES)("$type: AutoModelForTokenClassification gives the reference's logits on a padded batch", async (c) => {
    const tf = await import("@huggingface/transformers");
    tf.env.allowRemoteModels = false;
    tf.env.localModelPath = root;
    const config = createConfig(c.type, { vocabSize: c.vocabSize, hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 64, labels: ["O", "B-X", "I-X"] });
    const weights = testWeights(config, 41);
    writeFolder(c.type, config, buildInferenceModel(config, weights), c.tokenizer, c.tokenizerConfig);

    const tokenizer = await tf.AutoTokenizer.from_pretrained(c.type);
    const model = await tf.AutoModelForTokenClassification.from_pretrained(c.type, { dtype: "fp32" });
    const encoded = tokenizer(["chest pain today", "the patient denies chest pain radiating to the left arm"], { padding: true });
    const { logits } = await model(encoded);
    await model.dispose();

    const [batch, length] = encoded.input_ids.dims as number[];
    const ids = Array.from(encoded.input_ids.data as BigInt64Array, Number);
    const mask = Array.from(encoded.attention_mask.data as BigInt64Array, Number);
    expect(mask).toContain(0); // the short row is padded
    const types = encoded.token_type_ids ? Array.from(encoded.token_type_ids.data as BigInt64Array, Number) : undefined;
    const expected = referenceClassifier(config, weights, {
      batch,
      length,
      inputIds: ids,
      attentionMask: mask,
      tokenTypeIds: config.family === "bert" ? types : undefined,
      positionIds: Array.from(positionIds(config, mask, batch, length), Number),
    }, "token");
    expect(logits.dims).toEqual([batch, length, 3]);
    expect(maxAbs(expected)).toBeGreaterThan(0.3);
    expect(maxAbsDiff(logits.data as Float32Array, expected)).toBeLessThan(1e-5);
  });
});
