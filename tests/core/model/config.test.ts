import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ModelFormatError } from "../../../src/core/errors.ts";
import { configToJson, createConfig, parseConfig } from "../../../src/core/model/config.ts";
import { thrownBy } from "../../helpers.ts";

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/model/${name}.config.json`, import.meta.url), "utf8");

describe("parseConfig", () => {
  it("reads bert-base-cased", () => {
    const config = parseConfig(fixture("bert-base-cased"));
    expect(config).toMatchObject({
      modelType: "bert",
      family: "bert",
      vocabSize: 28996,
      hiddenSize: 768,
      numLayers: 12,
      numHeads: 12,
      headSize: 64,
      intermediateSize: 3072,
      hiddenAct: "gelu",
      maxPositions: 512,
      typeVocabSize: 2,
      layerNormEps: 1e-12,
      padTokenId: 0,
      positionOffset: 0,
      hiddenDropout: 0.1,
      attentionDropout: 0.1,
      classifierDropout: 0.1,
      architectures: ["BertForMaskedLM"],
      // No id2label: transformers' default of two labels.
      labels: ["LABEL_0", "LABEL_1"],
      numLabels: 2,
      hasLabelMap: false,
    });
  });

  it("reads distilbert-base-cased's own field names (dim, n_layers, hidden_dim, …)", () => {
    const config = parseConfig(fixture("distilbert-base-cased"));
    expect(config).toMatchObject({
      modelType: "distilbert",
      family: "distilbert",
      vocabSize: 28996,
      hiddenSize: 768,
      numLayers: 6,
      numHeads: 12,
      intermediateSize: 3072,
      hiddenAct: "gelu",
      maxPositions: 512,
      typeVocabSize: 0,
      layerNormEps: 1e-12,
      positionOffset: 0,
      classifierDropout: 0.1,
      sequenceClassifierDropout: 0.2,
      architectures: [],
    });
  });

  it("reads roberta-base: positions start at padding_idx + 1", () => {
    const config = parseConfig(fixture("roberta-base"));
    expect(config).toMatchObject({
      modelType: "roberta",
      family: "roberta",
      vocabSize: 50265,
      maxPositions: 514,
      typeVocabSize: 1,
      layerNormEps: 1e-5,
      padTokenId: 1,
      positionOffset: 2,
    });
  });

  it("reads xlm-roberta-base as RoBERTa-like", () => {
    const config = parseConfig(fixture("xlm-roberta-base"));
    expect(config).toMatchObject({ modelType: "xlm-roberta", family: "roberta", vocabSize: 250002, positionOffset: 2, typeVocabSize: 1 });
  });

  it("reads camembert as RoBERTa-like", () => {
    const raw = { ...JSON.parse(fixture("roberta-base")), model_type: "camembert", vocab_size: 32005 };
    expect(parseConfig(raw)).toMatchObject({ modelType: "camembert", family: "roberta", positionOffset: 2 });
  });

  it("turns id2label's string keys into numbers and rebuilds label2id", () => {
    const config = parseConfig(fixture("bert-base-ner"));
    expect(config.numLabels).toBe(9);
    expect(config.hasLabelMap).toBe(true);
    expect(config.labels).toEqual(["O", "B-MISC", "I-MISC", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]);
    expect(config.id2label[3]).toBe("B-PER");
    expect(config.label2id["I-LOC"]).toBe(8);
  });

  it("lets id2label win over a stale label2id", () => {
    const config = parseConfig({ model_type: "bert", id2label: { "0": "O", "1": "B-X" }, label2id: { LABEL_0: 0, LABEL_1: 1 } });
    expect(config.label2id).toEqual({ O: 0, "B-X": 1 });
  });

  it.each([
    ["gelu_new", "gelu_tanh"],
    ["gelu_pytorch_tanh", "gelu_tanh"],
    ["gelu", "gelu"],
    ["relu", "relu"],
  ])("maps hidden_act %s to %s", (act, expected) => {
    expect(parseConfig({ model_type: "bert", hidden_act: act }).hiddenAct).toBe(expected);
  });

  it("uses classifier_dropout when given, else hidden_dropout_prob", () => {
    expect(parseConfig({ model_type: "bert", classifier_dropout: 0.3 }).classifierDropout).toBe(0.3);
    expect(parseConfig({ model_type: "bert", classifier_dropout: null, hidden_dropout_prob: 0.2 }).classifierDropout).toBe(0.2);
  });

  it.each<[string, unknown, RegExp]>([
    ["an unknown model_type", { model_type: "gpt2" }, /^config\.json: model_type 'gpt2' is not supported; supported: bert, distilbert, roberta, xlm-roberta, camembert$/],
    ["no model_type", { hidden_size: 768 }, /has no model_type; supported: bert/],
    ["text that is not JSON", "{ nope", /not valid JSON/],
    ["hidden size not divisible by heads", { model_type: "bert", hidden_size: 100, num_attention_heads: 12 }, /hidden size 100 is not a multiple of the number of attention heads 12/],
    ["a string size", { model_type: "bert", hidden_size: "768" }, /hidden_size is "768"; expected an integer/],
    ["an unknown activation", { model_type: "bert", hidden_act: "swiglu" }, /hidden_act 'swiglu' is not supported/],
    ["relative positions", { model_type: "bert", position_embedding_type: "relative_key" }, /position_embedding_type 'relative_key' is not supported/],
    ["id2label with a gap", { model_type: "bert", id2label: { "0": "O", "2": "B-X" } }, /id2label has key '2'; expected the ids 0 to 1/],
    ["id2label naming a label twice", { model_type: "bert", id2label: { "0": "O", "1": "O" } }, /names a label twice/],
  ])("refuses %s", (_, input, message) => {
    const error = thrownBy(ModelFormatError, () => parseConfig(input));
    expect(error.file).toBe("config.json");
    expect(error.message).toMatch(message);
  });
});

describe("configToJson", () => {
  const labels = ["O", "B-DRUG", "I-DRUG"];

  it("writes BertForTokenClassification with string-keyed id2label and HF field names", () => {
    const json = configToJson(parseConfig(fixture("bert-base-cased")), labels);
    const written = JSON.parse(json);
    expect(written).toMatchObject({
      architectures: ["BertForTokenClassification"],
      model_type: "bert",
      id2label: { "0": "O", "1": "B-DRUG", "2": "I-DRUG" },
      label2id: { O: 0, "B-DRUG": 1, "I-DRUG": 2 },
      vocab_size: 28996,
      hidden_size: 768,
      num_hidden_layers: 12,
      num_attention_heads: 12,
      intermediate_size: 3072,
      hidden_act: "gelu",
      max_position_embeddings: 512,
      type_vocab_size: 2,
      layer_norm_eps: 1e-12,
      pad_token_id: 0,
      torch_dtype: "float32",
      // kept from the original config
      gradient_checkpointing: false,
    });
    expect(typeof written.transformers_version).toBe("string");
    expect(Object.keys(written)).toEqual([...Object.keys(written)].sort());
    expect(json.endsWith("}\n")).toBe(true);
    expect(json).toContain('\n  "architectures": [\n    "BertForTokenClassification"\n  ],');
  });

  it("drops stale label counts and round-trips through parseConfig", () => {
    const original = parseConfig(fixture("bert-base-ner"));
    const written = JSON.parse(configToJson(original, labels));
    expect(written._num_labels).toBeUndefined();
    const reread = parseConfig(written);
    expect(reread.labels).toEqual(labels);
    const { raw: _a, labels: _b, id2label: _c, label2id: _d, numLabels: _e, architectures: _f, ...sizes } = original;
    expect(reread).toMatchObject(sizes);
  });

  it.each([
    ["roberta-base", "RobertaForTokenClassification", { bos_token_id: 0, eos_token_id: 2, pad_token_id: 1, max_position_embeddings: 514 }],
    ["xlm-roberta-base", "XLMRobertaForTokenClassification", { type_vocab_size: 1, layer_norm_eps: 1e-5 }],
    ["distilbert-base-cased", "DistilBertForTokenClassification", { dim: 768, n_layers: 6, n_heads: 12, hidden_dim: 3072, activation: "gelu", dropout: 0.1 }],
  ])("writes %s as %s", (name, architecture, fields) => {
    const written = JSON.parse(configToJson(parseConfig(fixture(name)), labels));
    expect(written.architectures).toEqual([architecture]);
    expect(written).toMatchObject(fields);
    if (name.startsWith("distilbert")) expect(written.hidden_size).toBeUndefined();
  });

  it("writes the sequence-classification architecture when asked", () => {
    const written = JSON.parse(configToJson(parseConfig(fixture("roberta-base")), ["neg", "pos"], { head: "sequence" }));
    expect(written.architectures).toEqual(["RobertaForSequenceClassification"]);
  });

  it("writes gelu_tanh as gelu_new", () => {
    const config = createConfig("bert", { hiddenAct: "gelu_tanh", hiddenSize: 32, numHeads: 2 });
    expect(JSON.parse(configToJson(config, labels)).hidden_act).toBe("gelu_new");
  });
});
