import { describe, expect, it } from "vitest";
import { parseConll, readConllDocuments } from "../../../src/core/corpus/conll.ts";
import { InputFileError } from "../../../src/core/errors.ts";

describe("parseConll", () => {
  it("rebuilds the text with single spaces and a line per sentence", () => {
    const conll = ["Dolor\tB-DISO", "lumbar\tI-DISO", "y\tO", "fiebre\tB-DISO", ".\tO", "", "Toma\tO", "ibuprofeno\tB-CHEM", ""].join("\n");
    expect(parseConll("cases/x.conll", conll)).toEqual([
      {
        externalId: "cases/x",
        text: "Dolor lumbar y fiebre .\nToma ibuprofeno",
        spans: [
          { start: 0, end: 12, type: "DISO" },
          { start: 15, end: 21, type: "DISO" },
          { start: 29, end: 39, type: "CHEM" },
        ],
        sourceFile: "cases/x.conll",
      },
    ]);
  });

  it("splits documents at -DOCSTART- and reads extra columns and spaces", () => {
    const conll = [
      "-DOCSTART- -X- -X- O",
      "",
      "Naloxone NNP B-NP B-Chemical",
      "reverses VBZ B-VP O",
      "",
      "-DOCSTART- -X- -X- O",
      "",
      "Lithium NN B-NP B-Chemical",
      "toxicity NN I-NP B-Disease",
      "",
    ].join("\r\n");
    const notes = parseConll("cdr.iob", conll);
    expect(notes.map((n) => [n.externalId, n.text, n.spans])).toEqual([
      ["cdr#1", "Naloxone reverses", [{ start: 0, end: 8, type: "Chemical" }]],
      ["cdr#2", "Lithium toxicity", [{ start: 0, end: 7, type: "Chemical" }, { start: 8, end: 16, type: "Disease" }]],
    ]);
  });

  it.each([
    { name: "an I- after O", tags: ["O", "I-DISO", "I-DISO"], spans: [{ start: 2, end: 5, type: "DISO" }] },
    { name: "an I- of another type", tags: ["B-CHEM", "I-DISO", "O"], spans: [{ start: 0, end: 1, type: "CHEM" }, { start: 2, end: 3, type: "DISO" }] },
    { name: "B- right after B-", tags: ["B-DISO", "B-DISO", "I-DISO"], spans: [{ start: 0, end: 1, type: "DISO" }, { start: 2, end: 5, type: "DISO" }] },
  ])("starts an entity at $name", ({ tags, spans }) => {
    const conll = ["a", "b", "c"].map((token, i) => `${token}\t${tags[i]}`).join("\n");
    expect(parseConll("t.bio", conll)[0].spans).toEqual(spans);
  });

  it("keeps tokens and tags exactly as written", () => {
    const docs = readConllDocuments("t.conll", "5-FU B-CHEM\n( O\n\nx O\n");
    expect(docs).toEqual([[[{ token: "5-FU", tag: "B-CHEM" }, { token: "(", tag: "O" }], [{ token: "x", tag: "O" }]]]);
  });

  it.each([
    { name: "a line with an extra column", text: "a\tNN\tO\nb\tNN\tO\nc d\tNN\tO\n", message: "t.conll, line 3: has 4 columns but line 1 has 3 (a token with a space in it?)" },
    { name: "a token without a tag", text: "a\nb\n", message: "t.conll, line 1: has only one column: expected a token first and its BIO tag last" },
    { name: "a tag that is not BIO", text: "a\tO\nb\tDISO\n", message: 't.conll, line 2: has tag "DISO": expected O, B-type or I-type' },
    { name: "no tokens at all", text: "-DOCSTART-\n\n\n", message: "t.conll: has no tokens" },
  ])("rejects $name", ({ text, message }) => {
    const run = () => parseConll("t.conll", text);
    expect(run).toThrow(InputFileError);
    expect(run).toThrow(message);
  });
});
