import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createConfig, parseConfig, withLabels } from "../../../src/core/model/config.ts";
import { decaysWeight, listParams, modernName, paramFor } from "../../../src/core/model/names.ts";

const fixture = (name: string) => parseConfig(readFileSync(new URL(`../../fixtures/model/${name}.config.json`, import.meta.url), "utf8"));

const tiny = (type: "bert" | "roberta" | "distilbert") =>
  createConfig(type, { vocabSize: 100, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 64, maxPositions: 40, labels: ["O", "B-X", "I-X"] });

const count = (shapes: number[][]) => shapes.reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);

describe("listParams", () => {
  it("lists a 2-layer BERT: 5 embedding + 2 × 16 layer + 2 classifier = 39 tensors", () => {
    const specs = listParams(tiny("bert"));
    expect(specs).toHaveLength(39);
    expect(specs.slice(0, 5).map((s) => [s.name, s.shape])).toEqual([
      ["bert.embeddings.word_embeddings.weight", [100, 16]],
      ["bert.embeddings.position_embeddings.weight", [40, 16]],
      ["bert.embeddings.token_type_embeddings.weight", [2, 16]],
      ["bert.embeddings.LayerNorm.weight", [16]],
      ["bert.embeddings.LayerNorm.bias", [16]],
    ]);
    expect(specs.filter((s) => s.layer === 1).map((s) => [s.name, s.shape])).toEqual([
      ["bert.encoder.layer.1.attention.self.query.weight", [16, 16]],
      ["bert.encoder.layer.1.attention.self.query.bias", [16]],
      ["bert.encoder.layer.1.attention.self.key.weight", [16, 16]],
      ["bert.encoder.layer.1.attention.self.key.bias", [16]],
      ["bert.encoder.layer.1.attention.self.value.weight", [16, 16]],
      ["bert.encoder.layer.1.attention.self.value.bias", [16]],
      ["bert.encoder.layer.1.attention.output.dense.weight", [16, 16]],
      ["bert.encoder.layer.1.attention.output.dense.bias", [16]],
      ["bert.encoder.layer.1.attention.output.LayerNorm.weight", [16]],
      ["bert.encoder.layer.1.attention.output.LayerNorm.bias", [16]],
      // PyTorch Linear weights are (out, in): intermediate maps 16 → 64.
      ["bert.encoder.layer.1.intermediate.dense.weight", [64, 16]],
      ["bert.encoder.layer.1.intermediate.dense.bias", [64]],
      ["bert.encoder.layer.1.output.dense.weight", [16, 64]],
      ["bert.encoder.layer.1.output.dense.bias", [16]],
      ["bert.encoder.layer.1.output.LayerNorm.weight", [16]],
      ["bert.encoder.layer.1.output.LayerNorm.bias", [16]],
    ]);
    expect(specs.slice(-2).map((s) => [s.name, s.shape, s.part])).toEqual([
      ["classifier.weight", [3, 16], "head"],
      ["classifier.bias", [3], "head"],
    ]);
  });

  it("lists a 2-layer RoBERTa under the roberta. prefix, with its single token type and no pooler", () => {
    const specs = listParams(tiny("roberta"));
    expect(specs).toHaveLength(39);
    expect(specs.every((s) => s.name.startsWith("roberta.") || s.name.startsWith("classifier."))).toBe(true);
    expect(paramFor(specs, "embeddings.tokenType").shape).toEqual([1, 16]);
    expect(paramFor(specs, "ffn.norm.bias", 0).name).toBe("roberta.encoder.layer.0.output.LayerNorm.bias");
    expect(specs.some((s) => s.name.includes("pooler"))).toBe(false);
  });

  it("lists a 2-layer DistilBERT: 4 embedding + 2 × 16 layer + 2 classifier = 38 tensors", () => {
    const specs = listParams(tiny("distilbert"));
    expect(specs).toHaveLength(38);
    expect(specs.map((s) => s.name)).toEqual([
      "distilbert.embeddings.word_embeddings.weight",
      "distilbert.embeddings.position_embeddings.weight",
      "distilbert.embeddings.LayerNorm.weight",
      "distilbert.embeddings.LayerNorm.bias",
      ...[0, 1].flatMap((i) =>
        [
          "attention.q_lin.weight",
          "attention.q_lin.bias",
          "attention.k_lin.weight",
          "attention.k_lin.bias",
          "attention.v_lin.weight",
          "attention.v_lin.bias",
          "attention.out_lin.weight",
          "attention.out_lin.bias",
          "sa_layer_norm.weight",
          "sa_layer_norm.bias",
          "ffn.lin1.weight",
          "ffn.lin1.bias",
          "ffn.lin2.weight",
          "ffn.lin2.bias",
          "output_layer_norm.weight",
          "output_layer_norm.bias",
        ].map((inner) => `distilbert.transformer.layer.${i}.${inner}`),
      ),
      "classifier.weight",
      "classifier.bias",
    ]);
    expect(paramFor(listParams(tiny("distilbert")), "ffn.in.weight", 1).shape).toEqual([64, 16]);
  });

  it("counts bert-base-cased for token classification with 9 labels", () => {
    // BertForTokenClassification builds BertModel(add_pooling_layer=False): 5 embedding tensors
    // (word, position, token type, LayerNorm weight and bias) + 12 layers × 16 (q, k, v,
    // attention output dense, attention LayerNorm, intermediate, output dense, output
    // LayerNorm: 8 modules × weight and bias) + classifier weight and bias = 5 + 192 + 2 = 199.
    const specs = listParams(withLabels(fixture("bert-base-cased"), ["O", "B-MISC", "I-MISC", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]));
    expect(specs).toHaveLength(199);
    expect(paramFor(specs, "embeddings.word")).toMatchObject({ name: "bert.embeddings.word_embeddings.weight", shape: [28996, 768] });
    expect(paramFor(specs, "ffn.in.weight", 11)).toMatchObject({ name: "bert.encoder.layer.11.intermediate.dense.weight", shape: [3072, 768] });
    expect(paramFor(specs, "head.classifier.weight").shape).toEqual([9, 768]);
    // 108,310,272 is bert-base-cased's published size with the pooler (768 × 768 + 768 = 590,592);
    // without it and with a 9-label head (9 × 768 + 9 = 6,921): 107,719,680 + 6,921.
    expect(count(specs.map((s) => s.shape))).toBe(108_310_272 - 590_592 + 6_921);
  });

  it("counts distilbert-base-cased and roberta-base", () => {
    // DistilBERT: 4 embedding tensors (no token types) + 6 layers × 16 + 2 = 102.
    expect(listParams(fixture("distilbert-base-cased"))).toHaveLength(102);
    // RoBERTa: the BERT layout (token_type table of 1 row) = 199.
    const roberta = listParams(fixture("roberta-base"));
    expect(roberta).toHaveLength(199);
    expect(paramFor(roberta, "embeddings.position").shape).toEqual([514, 768]);
  });

  it("lists the sequence-classification heads", () => {
    const heads = (type: "bert" | "roberta" | "distilbert") =>
      listParams(tiny(type), "sequence")
        .filter((s) => s.part === "head")
        .map((s) => [s.name, s.shape]);
    expect(heads("bert")).toEqual([
      ["bert.pooler.dense.weight", [16, 16]],
      ["bert.pooler.dense.bias", [16]],
      ["classifier.weight", [3, 16]],
      ["classifier.bias", [3]],
    ]);
    expect(heads("roberta")).toEqual([
      ["classifier.dense.weight", [16, 16]],
      ["classifier.dense.bias", [16]],
      ["classifier.out_proj.weight", [3, 16]],
      ["classifier.out_proj.bias", [3]],
    ]);
    expect(heads("distilbert")).toEqual([
      ["pre_classifier.weight", [16, 16]],
      ["pre_classifier.bias", [16]],
      ["classifier.weight", [3, 16]],
      ["classifier.bias", [3]],
    ]);
    expect(listParams(tiny("bert"), "none")).toHaveLength(37);
  });

  it("marks how each parameter is initialised and decayed", () => {
    const specs = listParams(tiny("bert"));
    expect(paramFor(specs, "embeddings.norm.weight").init).toBe("ones");
    expect(paramFor(specs, "attention.query.bias", 0).init).toBe("zeros");
    expect(paramFor(specs, "attention.query.weight", 0).init).toBe("normal");
    expect(specs.filter(decaysWeight)).toHaveLength(3 + 2 * 6 + 1);
  });

  it("renames TF-era LayerNorm gamma and beta", () => {
    expect(modernName("bert.embeddings.LayerNorm.gamma")).toBe("bert.embeddings.LayerNorm.weight");
    expect(modernName("encoder.layer.3.output.LayerNorm.beta")).toBe("encoder.layer.3.output.LayerNorm.bias");
    expect(modernName("classifier.weight")).toBe("classifier.weight");
  });
});
