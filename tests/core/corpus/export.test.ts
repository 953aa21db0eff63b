import { describe, expect, it } from "vitest";
import { parseBrat } from "../../../src/core/corpus/brat.ts";
import { parseConll, readConllDocuments } from "../../../src/core/corpus/conll.ts";
import { toBrat, toConll, toJsonl, type ExportNote } from "../../../src/core/corpus/export.ts";
import { parseJsonl } from "../../../src/core/corpus/jsonl.ts";
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

/** A note with everything issue 10 adds: attributes (binary and valued), relations, labels. */
const RICH: ExportNote = {
  id: "r1",
  text: "aspirin for headache; no fever",
  spans: [
    { start: 0, end: 7, type: "Drug" },
    { start: 12, end: 20, type: "Symptom", attributes: { certainty: "positive" } },
    { start: 25, end: 30, type: "Symptom", attributes: { certainty: "negative", Negation: "true" } },
  ],
  relations: [
    { type: "Treats", from: 0, to: 1 },
    { type: "Co-occurs", from: 2, to: 1 },
  ],
  labels: { urgency: ["low"], sections: ["plan"], problems: ["pain", "fever"] },
};

describe("toJsonl with attributes, relations and labels", () => {
  it("writes them with Python's separators; one label value as a string unless the label is multiple-choice", () => {
    expect(toJsonl([RICH], { multipleLabels: new Set(["sections"]) })).toBe(
      '{"id": "r1", "text": "aspirin for headache; no fever", "entities": [' +
        '{"start": 0, "end": 7, "type": "Drug", "text": "aspirin"}, ' +
        '{"start": 12, "end": 20, "type": "Symptom", "text": "headache", "attributes": {"certainty": "positive"}}, ' +
        '{"start": 25, "end": 30, "type": "Symptom", "text": "fever", "attributes": {"certainty": "negative", "Negation": "true"}}], ' +
        '"relations": [{"type": "Treats", "from": 0, "to": 1}, {"type": "Co-occurs", "from": 2, "to": 1}], ' +
        '"labels": {"urgency": "low", "sections": ["plan"], "problems": ["pain", "fever"]}}\n',
    );
  });

  it("writes nothing extra for empty relations, labels and attributes", () => {
    const plain = { id: "p", text: "x y", spans: [{ start: 0, end: 1, type: "T", attributes: {} }], relations: [], labels: {} };
    expect(toJsonl([plain])).toBe('{"id": "p", "text": "x y", "entities": [{"start": 0, "end": 1, "type": "T", "text": "x"}]}\n');
  });

  it("JSONL -> notes -> JSONL gives the same bytes, and the notes their attributes, relations and labels", () => {
    const written = toJsonl([RICH, NOTE]);
    const [back, plain] = parseJsonl("r.jsonl", written).notes;
    expect(back).toEqual({ externalId: "r1", text: RICH.text, spans: RICH.spans, relations: RICH.relations, labels: RICH.labels, sourceFile: "r.jsonl" });
    expect(plain.relations).toBeUndefined();
    const again = [back, plain].map((n) => ({ id: n.externalId, text: n.text, spans: n.spans ?? [], relations: n.relations, labels: n.labels }));
    expect(toJsonl(again)).toBe(written);
  });
});

describe("toBrat with attributes and relations", () => {
  it("writes A lines (binary for \"true\") and R lines after the T lines", () => {
    expect(toBrat(RICH).ann).toBe(
      [
        "T1\tDrug 0 7\taspirin",
        "T2\tSymptom 12 20\theadache",
        "T3\tSymptom 25 30\tfever",
        "A1\tcertainty T2 positive",
        "A2\tcertainty T3 negative",
        "A3\tNegation T3",
        "R1\tTreats Arg1:T1 Arg2:T2",
        "R2\tCo-occurs Arg1:T3 Arg2:T2",
        "",
      ].join("\n"),
    );
  });

  it("notes -> brat -> notes keeps spans, attributes and relations", () => {
    const { txt, ann } = toBrat(RICH);
    const [back] = parseBrat({ name: "r1.txt", text: txt }, { name: "r1.ann", text: ann });
    expect([back.spans, back.relations]).toEqual([RICH.spans, RICH.relations]);
  });

  it("brat -> notes -> brat gives the same .ann", () => {
    const ann = "T1\tDrug 0 7\taspirin\nT2\tSymptom 12 20\theadache\nA1\tCertainty T2 suspected\nA2\tNegation T1\nR1\tTreats Arg1:T1 Arg2:T2\n";
    const [note] = parseBrat({ name: "x.txt", text: RICH.text }, { name: "x.ann", text: ann });
    // A lines come out in span order: the attribute of T1 first.
    expect(toBrat({ text: note.text, spans: note.spans!, relations: note.relations }).ann).toBe(
      "T1\tDrug 0 7\taspirin\nT2\tSymptom 12 20\theadache\nA1\tNegation T1\nA2\tCertainty T2 suspected\nR1\tTreats Arg1:T1 Arg2:T2\n",
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
