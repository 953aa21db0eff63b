import { describe, expect, it } from "vitest";
import { loadTokenizer } from "../../../src/core/text/tokenizer.ts";
import { buildWordPieceTokenizer } from "../../../src/core/text/wordpiece-vocab.ts";

const corpus = [
  "Paciente con fiebre y tos. Se inicia amoxicilina.",
  "Paciente con dolor torácico; se administra aspirina.",
  "Fiebre persistente, se suspende amoxicilina.",
];

describe("buildWordPieceTokenizer", () => {
  it("makes a tokenizer.json the library reads, with frequent words whole", () => {
    const { tokenizerJson, tokenizerConfig } = buildWordPieceTokenizer(corpus, { vocabSize: 200 });
    // loadTokenizer checks our offsets and the library's ids agree on every encode.
    const tokenizer = loadTokenizer(tokenizerJson, tokenizerConfig);
    const text = "Paciente con fiebre: amoxicilina.";
    const encoded = tokenizer.encode(text);
    const pieces = encoded.offsets.map(([start, end]) => text.slice(start, end));
    expect(pieces).toEqual(["", "Paciente", "con", "fiebre", ":", "amoxicilina", ".", ""]);
    expect(encoded.special).toEqual([true, false, false, false, false, false, false, true]);
  });

  it("splits unseen words of known characters into pieces, never [UNK]", () => {
    const { tokenizerJson } = buildWordPieceTokenizer(corpus, { vocabSize: 200 });
    const tokenizer = loadTokenizer(tokenizerJson);
    const text = "Tosferina cefalea";
    const encoded = tokenizer.encode(text, { addSpecialTokens: false });
    expect(encoded.ids).not.toContain(tokenizer.unkId);
    expect(encoded.isContinuation.some(Boolean)).toBe(true);
    expect(encoded.offsets.at(-1)).toEqual([text.length - 1, text.length]);
  });

  it("keeps accents unless asked to strip them, and respects the size", () => {
    const vocabOf = (built: ReturnType<typeof buildWordPieceTokenizer>) =>
      (built.tokenizerJson.model as { vocab: Record<string, number> }).vocab;
    expect(Object.keys(vocabOf(buildWordPieceTokenizer(corpus, { vocabSize: 90 })))).toHaveLength(90);
    const vocab = vocabOf(buildWordPieceTokenizer(corpus, { vocabSize: 1000 }));
    expect(Object.keys(vocab).length).toBeLessThan(1000);
    expect(vocab["á"]).toBeDefined();
    expect(vocab["amoxicilina"]).toBeDefined();
    const stripped = buildWordPieceTokenizer(corpus, { vocabSize: 120, stripAccents: true });
    expect((stripped.tokenizerJson.model as { vocab: Record<string, number> }).vocab["á"]).toBeUndefined();
  });
});
