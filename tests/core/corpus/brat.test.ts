import { describe, expect, it } from "vitest";
import { pairBratFiles, parseBrat } from "../../../src/core/corpus/brat.ts";
import { InputFileError } from "../../../src/core/errors.ts";

const TEXT = "Mujer de 36 años con dolor lumbar y vómitos.\nTratamiento: ibuprofeno.";
const txt = { name: "docs/caso_1.txt", text: TEXT };
const ann = (text: string) => ({ name: "docs/caso_1.ann", text });

describe("parseBrat", () => {
  it("reads text-bound annotations, attributes and relations, and skips the other kinds", () => {
    const annText = [
      "T1\tLIVB 0 5\tMujer",
      "T2\tDISO 21 33\tdolor lumbar",
      "A1\tNegated T2",
      "R1\tCauses Arg1:T1 Arg2:T2",
      "E1\tTreat:T3",
      "N1\tReference T2 UMLS:C0024031\tLow back pain",
      "#1\tAnnotatorNotes T2\tcheck",
      "*\tEquiv T1 T2",
      "",
      "T3\tCHEM 58 68\tibuprofeno\r",
    ].join("\n");
    expect(parseBrat(txt, ann(annText))).toEqual([
      {
        externalId: "docs/caso_1",
        text: TEXT,
        spans: [
          { start: 0, end: 5, type: "LIVB" },
          { start: 21, end: 33, type: "DISO", attributes: { Negated: "true" } },
          { start: 58, end: 68, type: "CHEM" },
        ],
        relations: [{ type: "Causes", from: 0, to: 1 }],
        sourceFile: "docs/caso_1.txt",
      },
    ]);
  });

  it("reads binary and valued attributes, and relations whose T lines come later", () => {
    const annText = [
      "R1\tTreats Arg1:T3 Arg2:T2",
      "A1\tNegation T2",
      "A2\tCertainty T2 suspected",
      "M3\tSeverity T2 mild",
      "R2\tLocated Arg1:T2 Arg2:T1\t",
      "T1\tLIVB 0 5\tMujer",
      "T2\tDISO 21 33\tdolor lumbar",
      "T3\tCHEM 58 68\tibuprofeno",
    ].join("\n");
    const [note] = parseBrat(txt, ann(annText));
    expect(note.spans?.[1]).toEqual({ start: 21, end: 33, type: "DISO", attributes: { Negation: "true", Certainty: "suspected", Severity: "mild" } });
    expect(note.relations).toEqual([
      { type: "Treats", from: 2, to: 1 },
      { type: "Located", from: 1, to: 0 },
    ]);
  });

  it("gives every fragment of a discontinuous annotation its attributes; a relation points at the first fragment", () => {
    const annText = "T1\tDISO 21 26;36 43\tdolor vómitos\nT2\tCHEM 58 68\tibuprofeno\nA1\tCertainty T1 negative\nR1\tTreats Arg1:T2 Arg2:T1";
    const [note] = parseBrat(txt, ann(annText));
    expect(note.spans).toEqual([
      { start: 21, end: 26, type: "DISO", attributes: { Certainty: "negative" } },
      { start: 36, end: 43, type: "DISO", attributes: { Certainty: "negative" } },
      { start: 58, end: 68, type: "CHEM" },
    ]);
    expect(note.relations).toEqual([{ type: "Treats", from: 2, to: 0 }]);
  });

  it("leaves out attributes and relations of events, which it does not read", () => {
    const annText = "T1\tDISO 21 33\tdolor lumbar\nE1\tPain:T1\nA1\tNegation E1\nR1\tCauses Arg1:E1 Arg2:T1";
    const [note] = parseBrat(txt, ann(annText));
    expect(note.spans).toEqual([{ start: 21, end: 33, type: "DISO" }]);
    expect(note.relations).toBeUndefined();
  });

  it("makes one span per fragment of a discontinuous annotation", () => {
    const { spans } = parseBrat(txt, ann("T1\tDISO 21 26;36 43\tdolor vómitos"))[0];
    expect(spans).toEqual([
      { start: 21, end: 26, type: "DISO" },
      { start: 36, end: 43, type: "DISO" },
    ]);
  });

  it("accepts a span across a line break whose covered text has a space there", () => {
    const { spans } = parseBrat(txt, ann("T1\tPROC 36 56\tvómitos. Tratamiento"))[0];
    expect(spans).toEqual([{ start: 36, end: 56, type: "PROC" }]);
  });

  it("reads brat's code-point offsets after an astral character as UTF-16 offsets", () => {
    const text = "😣 dolor intenso";
    const note = parseBrat({ name: "e.txt", text }, { name: "e.ann", text: "T1\tDISO 2 7\tdolor" })[0];
    expect(note.spans).toEqual([{ start: 3, end: 8, type: "DISO" }]);
    expect(text.slice(3, 8)).toBe("dolor");
  });

  it("reads an empty .ann as a note without spans", () => {
    expect(parseBrat(txt, ann(""))[0].spans).toEqual([]);
  });

  it.each([
    {
      name: "an offset past the end of the text",
      line: "T2\tCHEM 58 99\tibuprofeno",
      message: "docs/caso_1.ann, line 2: T2 spans 58–99, which is not inside docs/caso_1.txt (69 characters)",
    },
    {
      name: "an end before the start",
      line: "T2\tCHEM 10 4\tx",
      message: "docs/caso_1.ann, line 2: T2 spans 10–4: the end must come after the start",
    },
    {
      name: "covered text that does not match",
      line: "T2\tDISO 22 34\tdolor lumbar",
      message: 'docs/caso_1.ann, line 2: T2 says it covers "dolor lumbar" but docs/caso_1.txt has "olor lumbar " there',
    },
    {
      name: "an attribute on a T the file does not define",
      line: "A1\tNegation T9",
      message: "docs/caso_1.ann, line 2: A1 names T9, which is not a text-bound annotation of this file",
    },
    {
      name: "a relation to a T the file does not define",
      line: "R1\tTreats Arg1:T1 Arg2:T4",
      message: "docs/caso_1.ann, line 2: R1 names T4, which is not a text-bound annotation of this file",
    },
    {
      name: "a malformed attribute line",
      line: "A1\tNegation",
      message: 'docs/caso_1.ann, line 2: is not an attribute (expected "A1<tab>Name T1" or "A1<tab>Name T1 value")',
    },
    {
      name: "a relation with one argument",
      line: "R1\tTreats Arg1:T1",
      message: 'docs/caso_1.ann, line 2: is not a relation (expected "R1<tab>Type Arg1:T1 Arg2:T2")',
    },
    {
      name: "a T id defined twice",
      line: "T1\tDISO 21 33\tdolor lumbar",
      message: "docs/caso_1.ann, line 2: defines T1 a second time; each T id names one annotation",
    },
    {
      name: "an attribute given twice",
      line: "A1\tCertainty T1 negative\nA2\tCertainty T1 positive",
      message: 'docs/caso_1.ann, line 3: A2 gives T1 a second Certainty (it already has "negative")',
    },
    {
      name: "a malformed T line",
      line: "T2\tDISO twelve 14\tx",
      message: 'docs/caso_1.ann, line 2: is not a text-bound annotation (expected "T1<tab>Type start end<tab>covered text")',
    },
  ])("rejects $name, naming the .ann file and line", ({ line, message }) => {
    const run = () => parseBrat(txt, ann(`T1\tLIVB 0 5\tMujer\n${line}\n`));
    expect(run).toThrow(InputFileError);
    expect(run).toThrow(message);
  });
});

describe("pairBratFiles", () => {
  it("pairs x.txt with x.ann in the same folder and reports a lonely .ann", () => {
    const files = ["a/1.txt", "a/1.ann", "b/1.txt", "a/2.ann", "notes.csv", "C.TXT", "C.ANN"].map((name) => ({ name }));
    const { pairs, rest, errors } = pairBratFiles(files);
    expect(pairs.map((p) => [p.txt.name, p.ann.name])).toEqual([
      ["a/1.txt", "a/1.ann"],
      ["C.TXT", "C.ANN"],
    ]);
    expect(rest.map((f) => f.name)).toEqual(["b/1.txt", "notes.csv"]);
    expect(errors.map((e) => e.message)).toEqual(["a/2.ann: is a brat annotation file without its text: add a/2.txt"]);
  });
});
