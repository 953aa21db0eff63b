import { describe, expect, it } from "vitest";
import { parseBrat } from "../../../src/core/corpus/brat.ts";
import { parseConll, readConllDocuments } from "../../../src/core/corpus/conll.ts";
import { toBrat, toConll, toJsonl, type ExportNote } from "../../../src/core/corpus/export.ts";
import { tokenizeWhitespace, tokenizeWords } from "../../../src/core/corpus/simple-tokenizer.ts";

const NOTE: ExportNote = {
  id: "caso_1",
  text: 'Dolor "lumbar".\nToma AINEs',
  spans: [
    { start: 0, end: 14, type: "DISO" },
    { start: 21, end: 26, type: "CHEM" },
  ],
};

describe("toJsonl", () => {
  it("writes the corpus format, with Python's separators", () => {
    expect(toJsonl([NOTE, { id: "b", text: "x", spans: [] }])).toBe(
      '{"id": "caso_1", "text": "Dolor \\"lumbar\\".\\nToma AINEs", "entities": [' +
        '{"start": 0, "end": 14, "type": "DISO", "text": "Dolor \\"lumbar\\""}, ' +
        '{"start": 21, "end": 26, "type": "CHEM", "text": "AINEs"}]}\n' +
        '{"id": "b", "text": "x", "entities": []}\n',
    );
  });
});

describe("toBrat", () => {
  it("writes T lines; a span across a line break keeps one fragment, the break as a space", () => {
    const note = { text: "dolor\nlumbar y AINEs", spans: [{ start: 0, end: 12, type: "DISO" }, { start: 15, end: 20, type: "drug name" }] };
    expect(toBrat(note)).toEqual({
      txt: "dolor\nlumbar y AINEs",
      ann: "T1\tDISO 0 12\tdolor lumbar\nT2\tdrug_name 15 20\tAINEs\n",
    });
  });

  it("writes code-point offsets after an astral character, and reads them back", () => {
    const note = { text: "😣 dolor", spans: [{ start: 3, end: 8, type: "DISO" }] };
    const { txt, ann } = toBrat(note);
    expect(ann).toBe("T1\tDISO 2 7\tdolor\n");
    expect(parseBrat({ name: "e.txt", text: txt }, { name: "e.ann", text: ann })[0].spans).toEqual(note.spans);
  });
});

describe("toConll", () => {
  it("writes a sentence per line of the note, -DOCSTART- per note", () => {
    expect(toConll([NOTE]).conll).toBe(
      ["-DOCSTART-", "", "Dolor\tB-DISO", '"\tI-DISO', "lumbar\tI-DISO", '"\tI-DISO', ".\tO", "", "Toma\tO", "AINEs\tB-CHEM", "", ""].join("\n"),
    );
  });

  it("splits a token that a span covers only in part, so the span keeps its characters", () => {
    const note = { id: "n", text: "HbA1c7% alto", spans: [{ start: 0, end: 5, type: "TEST" }] };
    expect(toConll([note], tokenizeWhitespace).conll).toBe("-DOCSTART-\n\nHbA1c\tB-TEST\n7%\tO\nalto\tO\n\n");
  });

  it("keeps the first of two overlapping spans and reports the other", () => {
    const note = {
      id: "n",
      text: "cáncer de mama",
      spans: [{ start: 10, end: 14, type: "ANAT" }, { start: 0, end: 14, type: "DISO" }, { start: 6, end: 7, type: "X" }],
    };
    const { conll, warnings } = toConll([note]);
    expect(conll).toBe("-DOCSTART-\n\ncáncer\tB-DISO\nde\tI-DISO\nmama\tI-DISO\n\n");
    expect(warnings).toEqual([
      "n: X span 6–7 covers no token and was left out",
      "n: ANAT span 10–14 overlaps another span and was left out (BIO holds one span per token)",
    ]);
  });

  it("tokenizes words and symbols apart", () => {
    const text = "38,5°C; 5-FU";
    expect(tokenizeWords(text).map((t) => text.slice(t.start, t.end))).toEqual(["38", ",", "5", "°", "C", ";", "5", "-", "FU"]);
  });
});

describe("round trips", () => {
  const CONLL = [
    "-DOCSTART- O",
    "",
    "Naloxone B-Chemical",
    "reverses O",
    "the O",
    "antihypertensive O",
    "effect O",
    "of O",
    "clonidine B-Chemical",
    ". O",
    "",
    "In O",
    "5-FU B-Chemical",
    "induced O",
    "cardiac B-Disease",
    "toxicity I-Disease",
    "",
    "-DOCSTART- O",
    "",
    "Lithium I-Chemical",
    "( O",
    "Li+ B-Chemical",
    ") O",
    "",
  ].join("\n");

  it("CoNLL -> notes -> CoNLL keeps every token and tag", () => {
    const notes = parseConll("in.conll", CONLL).map((n) => ({ id: n.externalId, text: n.text, spans: n.spans ?? [] }));
    const { conll, warnings } = toConll(notes, tokenizeWhitespace);
    expect(warnings).toEqual([]);
    // Only the IOB1-style "I-" that opens an entity comes back as the IOB2 "B-".
    const expected = readConllDocuments("in.conll", CONLL.replace("Lithium I-Chemical", "Lithium B-Chemical"));
    expect(readConllDocuments("out.conll", conll)).toEqual(expected);
  });
});
