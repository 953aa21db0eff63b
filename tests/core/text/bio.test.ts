import { describe, expect, it } from "vitest";
import type { Span } from "../../../src/core/corpus/types.ts";
import { IGNORE_INDEX, bioLabels, bioToSpans, spansToBio, type TokenOffset } from "../../../src/core/text/bio.ts";

// "Pt has DM2 and HbA1c 9.1" tokenised WordPiece-style, with [CLS] and [SEP].
//  0123456789012345678901234
const text = "Pt has DM2 and HbA1c 9.1";
const pieces: [string, boolean][] = [
  ["[CLS]", false],
  ["Pt", false],
  ["has", false],
  ["DM", false],
  ["2", true],
  ["and", false],
  ["Hb", false],
  ["A1c", true],
  ["9", false],
  [".", false],
  ["1", false],
  ["[SEP]", false],
];
function tokenise(): { tokens: TokenOffset[]; isContinuation: boolean[] } {
  const tokens: TokenOffset[] = [];
  let at = 0;
  for (const [piece] of pieces) {
    if (piece.startsWith("[")) {
      tokens.push({ start: 0, end: 0 });
      continue;
    }
    const start = text.indexOf(piece, at);
    tokens.push({ start, end: start + piece.length });
    at = start + piece.length;
  }
  return { tokens, isContinuation: pieces.map(([, c]) => c) };
}
const { tokens, isContinuation } = tokenise();
const span = (start: number, end: number, type: string, confidence?: number): Span =>
  confidence === undefined ? { start, end, type } : { start, end, type, confidence };
const labels = ["DISEASE", "TEST"];
const { id2label, label2id } = bioLabels(labels);
const names = (ids: number[]) => ids.map((id) => (id === IGNORE_INDEX ? "-" : id2label[id]));

describe("bioLabels", () => {
  it("puts O first, then B- and I- per type", () => {
    expect(id2label).toEqual(["O", "B-DISEASE", "I-DISEASE", "B-TEST", "I-TEST"]);
    expect(label2id["I-TEST"]).toBe(4);
  });
  it("refuses a type listed twice", () => {
    expect(() => bioLabels(["A", "A"])).toThrow(/twice/);
  });
});

describe("spansToBio", () => {
  const gold = [span(7, 10, "DISEASE", 0.8), span(15, 24, "TEST")]; // "DM2", "HbA1c 9.1"

  it("labels every piece with subword 'all'", () => {
    const { labelIds, weights, lost } = spansToBio(tokens, gold, { labels, subword: "all", isContinuation });
    expect(names(labelIds)).toEqual(["-", "O", "O", "B-DISEASE", "I-DISEASE", "O", "B-TEST", "I-TEST", "I-TEST", "I-TEST", "I-TEST", "-"]);
    expect(weights).toEqual([0, 1, 1, 0.8, 0.8, 1, 1, 1, 1, 1, 1, 0]);
    expect(lost).toEqual([]);
  });

  it("ignores continuation pieces with subword 'first'", () => {
    const { labelIds, weights } = spansToBio(tokens, gold, { labels, subword: "first", isContinuation });
    expect(names(labelIds)).toEqual(["-", "O", "O", "B-DISEASE", "-", "O", "B-TEST", "-", "I-TEST", "I-TEST", "I-TEST", "-"]);
    expect(weights).toEqual([0, 1, 1, 0.8, 0, 1, 1, 0, 1, 1, 1, 0]);
  });

  it("counts a partly covered token as inside", () => {
    // "D" of "DM" through "an" of "and": both edge tokens are partly covered.
    const { labelIds } = spansToBio(tokens, [span(8, 12, "DISEASE")], { labels, subword: "all" });
    expect(names(labelIds).slice(3, 6)).toEqual(["B-DISEASE", "I-DISEASE", "I-DISEASE"]);
  });

  it("uses the special mask when given, and start === end otherwise", () => {
    const special = tokens.map((_, i) => i === 1); // pretend "Pt" is special
    const { labelIds } = spansToBio(tokens, [span(0, 2, "DISEASE")], { labels, subword: "all", special });
    expect(labelIds[1]).toBe(IGNORE_INDEX);
    expect(labelIds[0]).toBe(0); // [CLS] is an ordinary token once a mask is given
  });

  it("reports spans that leave no label", () => {
    const spans = [
      span(24, 30, "TEST"), // past the text: no token
      span(17, 20, "TEST"), // "A1c" only: a continuation piece
      span(7, 14, "DISEASE"), // "DM2 and"
      span(8, 9, "TEST"), // inside "DM": nested in the span above
      span(0, 2, "DRUG"), // not a label
    ];
    const { labelIds, lost } = spansToBio(tokens, spans, { labels, subword: "first", isContinuation });
    expect(lost.map((l) => [l.span.start, l.reason])).toEqual([
      [0, "unknown-type"],
      [24, "no-token"],
      [17, "continuation-only"],
      [8, "overlap"],
    ]);
    expect(names(labelIds).slice(3, 6)).toEqual(["B-DISEASE", "-", "I-DISEASE"]);
  });

  it("puts B on the first labelled token when a span starts inside a word", () => {
    // "A1c 9.1": starts on a continuation piece, which "first" does not label.
    const { labelIds, lost } = spansToBio(tokens, [span(17, 24, "TEST")], { labels, subword: "first", isContinuation });
    expect(names(labelIds).slice(6, 11)).toEqual(["O", "-", "B-TEST", "I-TEST", "I-TEST"]);
    expect(lost).toEqual([]);
  });

  it("keeps adjacent spans of one type apart (B-X B-X)", () => {
    const { labelIds } = spansToBio(tokens, [span(3, 6, "DISEASE"), span(7, 10, "DISEASE")], { labels, subword: "all" });
    expect(names(labelIds).slice(2, 5)).toEqual(["B-DISEASE", "B-DISEASE", "I-DISEASE"]);
  });

  it("checks mask lengths", () => {
    expect(() => spansToBio(tokens, [], { labels, subword: "first", isContinuation: [true] })).toThrow(/1 entries for 12 tokens/);
  });
});

describe("bioToSpans", () => {
  const at = (...ranges: [number, number][]) => ranges.map(([start, end]) => ({ start, end }));

  it("takes offsets from the first token's start to the last token's end", () => {
    const spans = bioToSpans(at([0, 2], [3, 6], [7, 9], [10, 14]), ["B-A", "I-A", "O", "B-B"]);
    expect(spans).toEqual([span(0, 6, "A"), span(10, 14, "B")]);
  });

  it("repairs I- tags as CoNLL does", () => {
    const tokens4 = at([0, 1], [2, 3], [4, 5], [6, 7], [8, 9]);
    // I-A after O starts A; I-B after I-A starts B; B-B then I-B continues; I-A after B-B starts A.
    expect(bioToSpans(tokens4, ["I-A", "I-A", "I-B", "B-B", "I-A"])).toEqual([
      span(0, 3, "A"),
      span(4, 5, "B"),
      span(6, 7, "B"),
      span(8, 9, "A"),
    ]);
  });

  it("reads label ids with id2label and averages the chosen label's probability", () => {
    const ids = [label2id["B-TEST"], label2id["I-TEST"], label2id.O, label2id["B-DISEASE"]];
    const rows = [
      [0.1, 0.0, 0.0, 0.9, 0.0],
      [0.2, 0.0, 0.0, 0.1, 0.7],
      [0.6, 0.1, 0.1, 0.1, 0.1],
      [0.5, 0.5, 0.0, 0.0, 0.0],
    ];
    const spans = bioToSpans(at([0, 2], [3, 5], [6, 8], [9, 11]), ids, { id2label, probabilities: rows });
    expect(spans).toHaveLength(2);
    expect(spans[0]).toMatchObject({ start: 0, end: 5, type: "TEST" });
    expect(spans[0].confidence).toBeCloseTo(0.8, 12);
    expect(spans[1].confidence).toBeCloseTo(0.5, 12);
    // Per-token probabilities of the chosen label work too, with string labels.
    const strings = bioToSpans(at([0, 2], [3, 5]), ["B-TEST", "I-TEST"], { probabilities: [0.9, 0.6] });
    expect(strings[0].confidence).toBeCloseTo(0.75, 12);
    // Without probabilities there is no confidence.
    expect(bioToSpans(at([0, 2]), ["B-TEST"])[0]).not.toHaveProperty("confidence");
  });

  it("skips special tokens, as evaluation drops -100 positions", () => {
    expect(bioToSpans(at([0, 0], [0, 2], [0, 0], [3, 5], [0, 0]), ["B-A", "B-A", "O", "I-A", "I-A"])).toEqual([span(0, 5, "A")]);
    const special = [false, true, false];
    expect(bioToSpans(at([0, 2], [2, 3], [3, 5]), ["B-A", "O", "B-A"], { special })).toEqual([span(0, 2, "A"), span(3, 5, "A")]);
  });

  it("extends spans over continuation pieces with subword 'first'", () => {
    // Model outputs on continuation pieces are not trusted: "Hb" says B-TEST, "A1c" says O.
    const predicted = ["O", "O", "O", "B-DISEASE", "O", "O", "B-TEST", "O", "I-TEST", "I-TEST", "I-TEST", "O"];
    const spans = bioToSpans(tokens, predicted, { subword: "first", isContinuation });
    expect(spans).toEqual([span(7, 10, "DISEASE"), span(15, 24, "TEST")]);
  });

  it("refuses labels it cannot read", () => {
    expect(() => bioToSpans(at([0, 1]), ["S-A"])).toThrow(/not O, B-<type> or I-<type>/);
    expect(() => bioToSpans(at([0, 1]), [3])).toThrow(/id2label/);
    expect(() => bioToSpans(at([0, 1]), [9], { id2label })).toThrow(/label id 9/);
    expect(() => bioToSpans(at([0, 1]), [])).toThrow(/1 tokens but 0 labels/);
  });
});

describe("spans -> BIO -> spans", () => {
  const aligned = [
    [span(0, 2, "DISEASE"), span(3, 6, "DISEASE")], // adjacent, same type
    [span(7, 10, "DISEASE"), span(11, 14, "TEST")], // word with pieces, then another type
    [span(15, 24, "TEST")],
    [span(0, 24, "TEST")], // the whole note
    [],
  ];
  for (const subword of ["first", "all"] as const) {
    it.each(aligned.map((spans) => [spans.map((s) => `${s.type}[${s.start},${s.end})`).join(" ") || "none", spans] as const))(
      `${subword}: %s`,
      (_, spans) => {
        const { labelIds, lost } = spansToBio(tokens, spans, { labels, subword, isContinuation });
        expect(lost).toEqual([]);
        expect(bioToSpans(tokens, labelIds, { id2label, subword, isContinuation })).toEqual(spans);
        // Decoding -100 on continuation pieces works without being told the scheme, too.
        expect(bioToSpans(tokens, labelIds, { id2label, isContinuation })).toEqual(spans);
      },
    );
  }
});
