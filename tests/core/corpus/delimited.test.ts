import { describe, expect, it } from "vitest";
import { inspectDelimited, parseDelimited } from "../../../src/core/corpus/delimited.ts";
import { parseTxt } from "../../../src/core/corpus/txt.ts";
import { InputFileError } from "../../../src/core/errors.ts";
import { thrownBy } from "../../helpers.ts";

describe("parseTxt", () => {
  it.each([
    { file: "note1.txt", id: "note1" },
    { file: "ward 3/2024/note1.txt", id: "ward 3/2024/note1" },
    { file: "informe.final.txt", id: "informe.final" },
    { file: "README", id: "README" },
  ])("$file is one note with id $id", ({ file, id }) => {
    const text = "Dolor torácico.\r\nSin fiebre.\n";
    expect(parseTxt(file, text)).toEqual([{ externalId: id, text, sourceFile: file }]);
  });

  it("rejects a blank note", () => {
    expect(thrownBy(InputFileError, () => parseTxt("a.txt", " \n")).message).toBe("a.txt: is empty");
  });
});

describe("inspectDelimited", () => {
  it.each([
    {
      name: "CSV with an id column",
      file: "notes.csv",
      text: 'note_id,ward,text\n1,ER,"Dolor torácico, disnea."\n2,ICU,"Fiebre de 39 °C."\n',
      expected: { columns: ["note_id", "ward", "text"], rowCount: 2, delimiter: ",", suggestedText: "text", suggestedId: "note_id" },
    },
    {
      name: "semicolon CSV (European export), id named Document ID",
      file: "export.csv",
      text: "Document ID;Informe;Fecha\nA1;Paciente con tos, fiebre y disnea;2024-01-02\nA2;Control;2024-01-03\n",
      expected: { columns: ["Document ID", "Informe", "Fecha"], rowCount: 2, delimiter: ";", suggestedText: "Informe", suggestedId: "Document ID" },
    },
    {
      name: "TSV without an id column",
      file: "notes.tsv",
      text: "date\tbody\n2024-01-01\t患者は72歳男性。主訴は胸痛。\n2024-01-02\t高血圧の既往あり。\n",
      expected: { columns: ["date", "body"], rowCount: 2, delimiter: "\t", suggestedText: "body" },
    },
    {
      name: "header only",
      file: "empty.csv",
      text: "id,text\n",
      expected: { columns: ["id", "text"], rowCount: 0, delimiter: ",", suggestedText: "text", suggestedId: "id" },
    },
  ])("$name", ({ file, text, expected }) => {
    expect(inspectDelimited(file, text)).toEqual(expected);
  });
});

describe("parseDelimited", () => {
  it("keeps quoted commas, quotes and line breaks inside the text", () => {
    const text = 'id,text\r\n7,"Dolor, fiebre.\r\nRefiere ""mareo""."\r\n8,Sin cambios.\r\n';
    const { notes, warnings } = parseDelimited("a.csv", text, { textColumn: "text", idColumn: "id" });
    expect(notes).toEqual([
      { externalId: "7", text: 'Dolor, fiebre.\r\nRefiere "mareo".', sourceFile: "a.csv" },
      { externalId: "8", text: "Sin cambios.", sourceFile: "a.csv" },
    ]);
    expect(warnings).toEqual([]);
  });

  it("names notes file#row without an id column, and for an empty id cell", () => {
    const text = "id,text\n,primera\nX,segunda\n,tercera\n";
    const ids = parseDelimited("dir/a.csv", text, { textColumn: "text", idColumn: "id" }).notes.map((n) => n.externalId);
    expect(ids).toEqual(["dir/a.csv#1", "X", "dir/a.csv#3"]);
    const noIdColumn = parseDelimited("dir/a.csv", text, { textColumn: "text" }).notes.map((n) => n.externalId);
    expect(noIdColumn).toEqual(["dir/a.csv#1", "dir/a.csv#2", "dir/a.csv#3"]);
  });

  it("skips rows with an empty text cell and says which lines", () => {
    const text = 'id,text\n1,uno\n2,""\n3,"multi\nline"\n4,   \n5,cinco\n';
    const { notes, warnings } = parseDelimited("a.csv", text, { textColumn: "text", idColumn: "id" });
    expect(notes.map((n) => n.externalId)).toEqual(["1", "3", "5"]);
    expect(warnings).toEqual(['a.csv: skipped 2 rows with an empty "text" cell (lines 3, 6)']);
  });

  it("skips blank lines between rows without losing count of lines", () => {
    const text = 'id,text\n\n1,"a\nb"\n\n\n2,x,extra\n';
    expect(thrownBy(InputFileError, () => parseDelimited("a.csv", text, { textColumn: "text" })).line).toBe(7);
  });

  it("warns about a file with a header and no rows", () => {
    expect(parseDelimited("a.csv", "id,text\n", { textColumn: "text" })).toEqual({
      notes: [],
      warnings: ["a.csv: has a header row but no data rows"],
    });
  });

  it.each([
    {
      name: "a row with too many fields, after a quoted field that spans lines",
      text: 'id,text\n1,"one\ntwo\nthree"\n2,four,five\n',
      message: "a.csv, line 5: has 3 fields but the header has 2 (separated by commas; a field that contains one must be in double quotes)",
      line: 5,
    },
    {
      name: "a row with too few fields",
      text: "id;text;ward\n1;uno;ER\n2;dos\n",
      message: "a.csv, line 3: has 2 fields but the header has 3 (separated by semicolons; a field that contains one must be in double quotes)",
      line: 3,
    },
    {
      name: "an unclosed quote",
      text: 'id,text\n1,"ok"\n2,"never closed\n3,more\n4,rows\n',
      message: "a.csv, line 3: a quoted field starts here and is never closed (a missing closing double quote)",
      line: 3,
    },
    {
      name: "text after a closing quote",
      text: 'id,text\n1,ok\n2,"quoted"tail\n',
      message: "a.csv, line 3: a quoted field has text after its closing double quote (write a double quote inside a field as two)",
      line: 3,
    },
    {
      name: "a bad row in a file with old Mac line breaks (CR only)",
      text: 'id|text\r1|"a\rb"\r2|c|d\r',
      message: "a.csv, line 4: has 3 fields but the header has 2 (separated by vertical bars; a field that contains one must be in double quotes)",
      line: 4,
    },
    {
      name: "a missing text column",
      text: "id,body\n1,uno\n",
      message: 'a.csv, line 1: has no column "text"; its columns are "id", "body"',
      line: 1,
    },
    {
      name: "two columns with one name",
      text: "id,text,text\n1,a,b\n",
      message: 'a.csv, line 1: has two columns named "text"',
      line: 1,
    },
  ])("rejects $name", ({ text, message, line }) => {
    const error = thrownBy(InputFileError, () => parseDelimited("a.csv", text, { textColumn: "text" }));
    expect(error.message).toBe(message);
    expect(error.file).toBe("a.csv");
    expect(error.line).toBe(line);
  });

  it("reads 5,000 rows with quoted line breaks", () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `${i},"Paciente ${i}, 45 años.\nRefiere cefalea, sin fiebre."`);
    const text = ["id,text", ...rows].join("\n");
    const { notes } = parseDelimited("big.csv", text, { textColumn: "text", idColumn: "id" });
    expect(notes).toHaveLength(5000);
    expect(notes[4999].text).toBe("Paciente 4999, 45 años.\nRefiere cefalea, sin fiebre.");
  });
});
