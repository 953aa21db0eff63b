import { describe, expect, it } from "vitest";
import { parseFiles } from "../../../src/core/corpus/detect.ts";
import type { InputFile } from "../../../src/core/corpus/types.ts";
import { InputFileError } from "../../../src/core/errors.ts";

const file = (name: string, content: string | number[]): InputFile => ({
  name,
  bytes: typeof content === "string" ? new TextEncoder().encode(content) : new Uint8Array(content),
});

// "Niño con tos." in windows-1252
const WINDOWS_1252 = [0x4e, 0x69, 0xf1, 0x6f, 0x20, 0x63, 0x6f, 0x6e, 0x20, 0x74, 0x6f, 0x73, 0x2e];

describe("parseFiles", () => {
  it("reads every format, and one bad file does not stop the others", () => {
    const result = parseFiles([
      file("plain/a.txt", "Dolor lumbar."),
      file("brat/b.txt", "Toma ibuprofeno."),
      file("brat/b.ann", "T1\tCHEM 5 15\tibuprofeno\n"),
      file("legacy.txt", WINDOWS_1252),
      file("export.csv", "note_id,ward,text\nN1,ER,\"Fiebre, tos.\"\nN2,ICU,\"\"\n"),
      file("set.jsonl", '{"id": "j1", "text": "Disnea.", "entities": [{"start": 0, "end": 6, "type": "DISO"}]}\n'),
      file("tags.conll", "Cefalea B-DISO\nintensa O\n"),
      file("broken.jsonl", '{"id": "x", "text": "ok"}\n{"id": \n'),
      file("scan.pdf", "%PDF-1.7"),
      file("image.txt", [0x89, 0x50, 0x4e, 0x47, 0x00, 0x00, 0x00, 0x0d, 0x00]),
      file("orphan.ann", "T1\tX 0 1\tx\n"),
    ]);

    expect(result.notes.map((n) => [n.externalId, n.text, n.spans, n.sourceFile])).toEqual([
      ["plain/a", "Dolor lumbar.", undefined, "plain/a.txt"],
      ["brat/b", "Toma ibuprofeno.", [{ start: 5, end: 15, type: "CHEM" }], "brat/b.txt"],
      ["legacy", "Niño con tos.", undefined, "legacy.txt"],
      ["N1", "Fiebre, tos.", undefined, "export.csv"],
      ["j1", "Disnea.", [{ start: 0, end: 6, type: "DISO" }], "set.jsonl"],
      ["tags", "Cefalea intensa", [{ start: 0, end: 7, type: "DISO" }], "tags.conll"],
    ]);
    expect(result.perFile).toEqual([
      { file: "plain/a.txt", notes: 1, encoding: "utf-8" },
      { file: "brat/b.txt", notes: 1, encoding: "utf-8" },
      { file: "legacy.txt", notes: 1, encoding: "windows-1252" },
      { file: "export.csv", notes: 1, encoding: "utf-8" },
      { file: "set.jsonl", notes: 1, encoding: "utf-8" },
      { file: "tags.conll", notes: 1, encoding: "utf-8" },
    ]);
    expect(result.errors.every((e) => e instanceof InputFileError)).toBe(true);
    expect(result.errors.map((e) => e.message)).toEqual([
      "orphan.ann: is a brat annotation file without its text: add orphan.txt",
      expect.stringMatching(/^broken\.jsonl, line 2: is not valid JSON/),
      "scan.pdf: is not a format we read (accepted: .txt, .csv, .tsv, .jsonl, .ndjson, .ann, .conll, .bio, .iob)",
      "image.txt: looks like a binary file, not text",
    ]);
    expect(result.warnings).toEqual(['export.csv: skipped 1 row with an empty "text" cell (line 3)']);
  });

  it("uses the column choices given for a CSV file, and the suggestions for the rest", () => {
    const csv = "id,summary,report\n1,short,much longer report text\n";
    const chosen = parseFiles([file("a.csv", csv), file("b.csv", csv)], { delimited: { "a.csv": { textColumn: "summary" } } });
    expect(chosen.notes.map((n) => [n.externalId, n.text])).toEqual([
      ["a.csv#1", "short"],
      ["1", "much longer report text"],
    ]);
  });

  it("passes JSONL field names on", () => {
    const result = parseFiles([file("x.ndjson", '{"doc": "d", "body": "胸痛"}\n')], { jsonl: { textField: "body", idField: "doc" } });
    expect(result.notes.map((n) => [n.externalId, n.text])).toEqual([["d", "胸痛"]]);
  });

  it("reads a .txt with an empty .ann as a brat note without spans", () => {
    const result = parseFiles([file("n.ann", ""), file("n.txt", "Sin hallazgos.")]);
    expect(result.errors).toEqual([]);
    expect(result.notes).toEqual([{ externalId: "n", text: "Sin hallazgos.", spans: [], sourceFile: "n.txt" }]);
  });

  it("reports a broken .ann against the .ann, and keeps the other notes", () => {
    const result = parseFiles([file("n.txt", "abc"), file("n.ann", "T1\tX 0 9\tabc\n"), file("m.txt", "ok")]);
    expect(result.notes.map((n) => n.externalId)).toEqual(["m"]);
    expect(result.errors.map((e) => [e.file, e.line])).toEqual([["n.ann", 1]]);
  });

  it("warns when two files give the same note id", () => {
    const result = parseFiles([file("a/x.txt", "uno"), file("x.jsonl", '{"id": "a/x", "text": "dos"}\n')]);
    expect(result.warnings).toEqual(['1 note ids appear more than once: "a/x"']);
  });

  it("parses 5,000 JSONL notes with their entities", async () => {
    const line = (i: number) =>
      JSON.stringify({ id: `n${i}`, text: `Paciente ${i}. Mujer de 36 años que acude por dolor lumbar y vómitos. `.repeat(10), entities: [{ start: 0, end: 8, type: "LIVB" }] });
    const bytes = new TextEncoder().encode(Array.from({ length: 5000 }, (_, i) => line(i)).join("\n"));
    const { notes } = parseFiles([{ name: "big.jsonl", bytes }]);
    expect(notes).toHaveLength(5000);
    expect(notes[4999].externalId).toBe("n4999");
    expect(notes[4999].spans).toEqual([{ start: 0, end: 8, type: "LIVB" }]);
  });
});
