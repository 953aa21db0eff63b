import { describe, expect, it } from "vitest";
import { bioLabels } from "../../../src/core/text/bio.ts";
import { loadTokenizer } from "../../../src/core/text/tokenizer.ts";
import { buildWordPieceTokenizer } from "../../../src/core/text/wordpiece-vocab.ts";
import { trainingExamples } from "../../../src/core/train/ner-examples.ts";

const text = "Given aspirin for chest pain. Aspirin stopped.";
const spans = [
  { start: 6, end: 13, type: "Chemical", confidence: 0.9 },
  { start: 18, end: 28, type: "Disease", confidence: 0.4 },
];
const tokenizer = loadTokenizer(buildWordPieceTokenizer([text, text], { vocabSize: 120 }).tokenizerJson);
const { id2label } = bioLabels(["Chemical", "Disease"]);
const tagsOf = (labels: ArrayLike<number>) => Array.from(labels, (id) => (id === -100 ? "-" : id2label[id]));

describe("trainingExamples", () => {
  it("labels the first piece of each word and ignores [CLS] and [SEP]", () => {
    const { examples } = trainingExamples([{ text, spans }], tokenizer, { types: ["Chemical", "Disease"], maxLength: 64, stride: 8 });
    expect(examples).toHaveLength(1);
    expect(tagsOf(examples[0].labels)).toEqual(["-", "O", "B-Chemical", "O", "B-Disease", "I-Disease", "O", "O", "O", "O", "-"]);
  });

  it("windows a long note so every labelled token is in some window", () => {
    const { examples } = trainingExamples([{ text, spans }], tokenizer, { types: ["Chemical", "Disease"], maxLength: 6, stride: 1 });
    expect(examples.length).toBeGreaterThan(1);
    for (const example of examples) expect(example.ids.length).toBeLessThanOrEqual(6);
    const tags = examples.flatMap((example) => tagsOf(example.labels));
    expect(tags.filter((tag) => tag === "B-Chemical").length).toBeGreaterThanOrEqual(1);
    expect(tags).toContain("I-Disease");
  });

  it("ignores the tokens of spans under the confidence threshold and weights the rest by confidence when asked", () => {
    const result = trainingExamples([{ text, spans }], tokenizer, {
      types: ["Chemical", "Disease"],
      maxLength: 64,
      stride: 8,
      minConfidence: 0.5,
      weightByConfidence: true,
    });
    expect(result.belowThreshold).toBe(1);
    const [example] = result.examples;
    // "chest pain" is neither Disease nor O for the loss.
    expect(tagsOf(example.labels)).toEqual(["-", "O", "B-Chemical", "O", "-", "-", "O", "O", "O", "O", "-"]);
    expect(Array.from(example.weights!)[2]).toBeCloseTo(0.9);
    expect(Array.from(example.weights!)[3]).toBe(1);
    expect(Array.from(example.weights!)[4]).toBe(0);
  });
});
