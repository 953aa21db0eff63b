import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import { parseJsonl } from "../../../src/core/corpus/jsonl.ts";
import { extractedNotes, extractionsCsv, extractionsJsonl, type ExtractedNote } from "../../../src/core/export/extractions.ts";
import { putAnnotation } from "../../../src/core/store/annotations.ts";
import { importNotes } from "../../../src/core/store/notes.ts";
import { createProject } from "../../../src/core/store/projects.ts";
import { freshDatabase, hashed } from "../store/helpers.ts";

// Text with everything a CSV writer gets wrong: a comma and a quote inside a span, a line
// break, a cell a spreadsheet would run as a formula, and a surrogate pair before a span.
const TRICKY: ExtractedNote = {
  noteId: 1,
  externalId: "note,1",
  text: 'Dx: "flu, severe"\n=SUM(A1) 😀 aspirin',
  spans: [
    { start: 30, end: 37, type: "Chemical", confidence: 0.912345 },
    { start: 4, end: 17, type: "Disease", confidence: 0.5 },
    { start: 18, end: 26, type: "Disease" },
  ],
};

describe("extractions out", () => {
  it("writes one CSV row per span, sorted by position, quoted where needed", () => {
    expect(TRICKY.text.slice(30, 37)).toBe("aspirin");
    const csv = extractionsCsv([TRICKY, { noteId: 2, externalId: "empty", text: "nothing here", spans: [] }]);
    expect(csv).toBe(
      [
        "note_id,start,end,type,text,confidence,attributes",
        '"note,1",4,17,Disease,"""flu, severe""",0.5,',
        `"note,1",18,26,Disease,"'=SUM(A1)",,`,
        '"note,1",30,37,Chemical,aspirin,0.9123,',
        "",
      ].join("\r\n"),
    );
  });

  it("gives a CSV a reader parses back to the same spans and covered text", () => {
    const parsed = Papa.parse<Record<string, string>>(extractionsCsv([TRICKY]), { header: true, skipEmptyLines: true });
    expect(parsed.errors).toEqual([]);
    for (const row of parsed.data) {
      const covered = TRICKY.text.slice(Number(row.start), Number(row.end));
      // The formula guard adds one quote mark in front; nothing else differs.
      expect(row.text.replace(/^'(?=[=+\-@])/, "")).toBe(covered);
    }
  });

  it("writes JSONL the app's own importer reads back with the same spans", () => {
    const jsonl = extractionsJsonl([TRICKY]);
    const back = parseJsonl("found.jsonl", jsonl);
    expect(back.notes).toHaveLength(1);
    expect(back.notes[0].externalId).toBe("note,1");
    expect(back.notes[0].text).toBe(TRICKY.text);
    expect(back.notes[0].spans?.map(({ start, end, type }) => [start, end, type])).toEqual([
      [4, 17, "Disease"],
      [18, 26, "Disease"],
      [30, 37, "Chemical"],
    ]);
    const entities = (JSON.parse(jsonl) as { entities: { confidence?: number }[] }).entities;
    expect(entities.map((entity) => entity.confidence)).toEqual([0.5, undefined, 0.9123]);
  });

  it("writes a task model's attributes, relations and labels in the corpus JSONL format, relations following the sorted entities", () => {
    // Stored out of position order: the relation's indexes must follow the entities as written.
    const note: ExtractedNote = {
      noteId: 3,
      externalId: "n3",
      text: "Asthma; start salbutamol.",
      spans: [
        { start: 14, end: 24, type: "Chemical", confidence: 0.7 },
        { start: 0, end: 6, type: "Disease", attributes: { certainty: "positive", severity: "mild" } },
      ],
      relations: [{ type: "Treats", from: 0, to: 1 }],
      labels: { status: ["active"], sections: ["plan"] },
    };
    const line = JSON.parse(extractionsJsonl([note], { multipleLabels: new Set(["sections"]) }));
    expect(line.entities.map((e: { type: string }) => e.type)).toEqual(["Disease", "Chemical"]);
    expect(line.entities[0].attributes).toEqual({ certainty: "positive", severity: "mild" });
    expect(line.relations).toEqual([{ type: "Treats", from: 1, to: 0 }]);
    expect(line.labels).toEqual({ status: "active", sections: ["plan"] });
    const back = parseJsonl("found.jsonl", extractionsJsonl([note])).notes[0];
    expect(back.spans?.[0].attributes).toEqual({ certainty: "positive", severity: "mild" });
    expect(back.relations).toEqual([{ type: "Treats", from: 1, to: 0 }]);
    expect(back.labels).toEqual({ status: ["active"], sections: ["plan"] });

    const csv = Papa.parse<Record<string, string>>(extractionsCsv([note]), { header: true, skipEmptyLines: true }).data;
    expect(csv.map((row) => row.attributes)).toEqual(["certainty=positive;severity=mild", ""]);
  });

  it("reads one inference run's notes, in note order, leaving out other runs and origins", async () => {
    const db = freshDatabase();
    const project = await createProject(db, { name: "P", language: "en" });
    const { noteIds } = await importNotes(db, project.id, "", [hashed("a", "aspirin 100 mg"), hashed("b", "no drugs"), hashed("c", "ibuprofen")]);
    await putAnnotation(db, { noteId: noteIds[2], origin: "model", runId: "run-1", spans: [{ start: 0, end: 9, type: "Chemical", confidence: 0.8 }] });
    await putAnnotation(db, { noteId: noteIds[0], origin: "model", runId: "run-1", spans: [{ start: 0, end: 7, type: "Chemical" }] });
    await putAnnotation(db, { noteId: noteIds[1], origin: "model", runId: "run-2", spans: [{ start: 3, end: 8, type: "Chemical" }] });
    await putAnnotation(db, { noteId: noteIds[1], origin: "llm", runId: "run-1", spans: [] });

    const notes = await extractedNotes(db, project.id, "run-1");
    expect(notes.map((note) => [note.externalId, note.spans.length])).toEqual([
      ["a", 1],
      ["c", 1],
    ]);
    expect(notes[1].text).toBe("ibuprofen");
  });

  it("reads a run's relations and labels with its spans", async () => {
    const db = freshDatabase();
    const project = await createProject(db, { name: "P", language: "en" });
    const { noteIds } = await importNotes(db, project.id, "", [hashed("a", "aspirin for pain")]);
    const spans = [{ start: 0, end: 7, type: "Chemical" }, { start: 12, end: 16, type: "Disease", attributes: { certainty: "positive" } }];
    await putAnnotation(db, { noteId: noteIds[0], origin: "model", runId: "run-1", spans, relations: [{ type: "Treats", from: 0, to: 1 }], labels: { status: ["active"] } });
    const [note] = await extractedNotes(db, project.id, "run-1");
    expect(note).toMatchObject({ spans, relations: [{ type: "Treats", from: 0, to: 1 }], labels: { status: ["active"] } });
  });
});
