import { Dexie, type DBCore, type DBCoreMutateRequest } from "dexie";
import { describe, expect, it } from "vitest";
import { NotFoundError, StorageFullError } from "../../../src/core/errors.ts";
import { isQuotaError, type NoteRow } from "../../../src/core/store/db.ts";
import { beginImport, getImport } from "../../../src/core/store/imports.ts";
import {
  countNotes,
  getNote,
  findNotes,
  importNotes,
  listNoteIds,
  listNoteSummaries,
  setSplit,
  PREVIEW_CHARS,
  SCAN_CHUNK,
  noteSummaries,
} from "../../../src/core/store/notes.ts";
import { annotationsForNote, putAnnotation } from "../../../src/core/store/annotations.ts";
import { createProject } from "../../../src/core/store/projects.ts";
import { freshDatabase, hashed } from "./helpers.ts";

function quotaException(): DOMException {
  return new DOMException("The quota has been exceeded.", "QuotaExceededError");
}

describe("importNotes", () => {
  it("skips duplicates within a batch and against stored notes, and reports them", async () => {
    const db = freshDatabase();
    const project = await createProject(db, { name: "P", language: "en" });
    const other = await createProject(db, { name: "Other", language: "en" });
    const first = await beginImport(db, project.id, ["a.txt"]);

    const result1 = await importNotes(db, project.id, first.id, [
      hashed("a1", "fever and cough", "a.txt"),
      hashed("a2", "no complaints", "a.txt"),
      hashed("a3", "fever and cough", "a.txt"),
    ]);
    expect(result1.added).toBe(2);
    expect(result1.duplicates).toEqual([
      { externalId: "a3", sourceFile: "a.txt", duplicateOf: "a1", duplicateOfNoteId: result1.noteIds[0] },
    ]);

    const second = await beginImport(db, project.id, ["b.txt"]);
    const result2 = await importNotes(db, project.id, second.id, [
      hashed("b1", "no complaints", "b.txt"),
      hashed("b2", "new text", "b.txt"),
      hashed("b3", "no complaints", "b.txt"),
    ]);
    expect(result2.added).toBe(1);
    expect(result2.duplicates).toEqual([
      { externalId: "b1", sourceFile: "b.txt", duplicateOf: "a2", duplicateOfNoteId: result1.noteIds[1] },
      { externalId: "b3", sourceFile: "b.txt", duplicateOf: "a2", duplicateOfNoteId: result1.noteIds[1] },
    ]);
    expect(await countNotes(db, project.id)).toBe(3);
    expect((await getNote(db, result2.noteIds[0])).externalId).toBe("b2");
    expect((await getImport(db, first.id)).notesAdded).toBe(2);
    expect((await getImport(db, second.id)).duplicates).toBe(2);

    // The same text in another project is not a duplicate.
    const result3 = await importNotes(db, other.id, "", [hashed("x", "fever and cough")]);
    expect(result3.added).toBe(1);
    expect(result3.duplicates).toEqual([]);
  });

  it("stores notes in batch order with their fields and an import annotation when spans came", async () => {
    const db = freshDatabase();
    const project = await createProject(db, { name: "P", language: "ja" });
    const spans = [{ start: 0, end: 2, type: "Symptom" }];
    const result = await importNotes(
      db,
      project.id,
      "imp-1",
      [hashed("n1", "発熱あり", "a.jsonl", spans), hashed("n2", "咳なし", "a.jsonl", []), hashed("n3", "plain", "a.jsonl")],
      { split: "gold" },
    );
    expect(result.annotationsAdded).toBe(2);
    const note = await getNote(db, result.noteIds[0]);
    expect(note).toMatchObject({ projectId: project.id, externalId: "n1", text: "発熱あり", split: "gold", importId: "imp-1", sourceFile: "a.jsonl" });
    expect((await annotationsForNote(db, result.noteIds[0])).map((row) => [row.origin, row.runId, row.spans])).toEqual([["import", "", spans]]);
    expect((await annotationsForNote(db, result.noteIds[1]))[0].spans).toEqual([]);
    expect(await annotationsForNote(db, result.noteIds[2])).toEqual([]);
    expect(await listNoteIds(db, project.id)).toEqual(result.noteIds);
  });

  it("keeps the relations and labels that came with a note on its import annotation, even labels without spans", async () => {
    const db = freshDatabase();
    const project = await createProject(db, { name: "P", language: "en" });
    const treated = hashed("n1", "aspirin for headache", "a.jsonl", [
      { start: 0, end: 7, type: "Drug" },
      { start: 12, end: 20, type: "Symptom", attributes: { certainty: "positive" } },
    ]);
    treated.note.relations = [{ type: "Treats", from: 0, to: 1 }];
    const labelled = hashed("n2", "Never smoked.", "a.jsonl");
    labelled.note.labels = { smoking: ["never"] };
    const result = await importNotes(db, project.id, "imp-1", [treated, labelled, hashed("n3", "plain", "a.jsonl")]);

    expect(result.annotationsAdded).toBe(2);
    const [first] = await annotationsForNote(db, result.noteIds[0]);
    expect([first.spans[1].attributes, first.relations, first.labels]).toEqual([{ certainty: "positive" }, [{ type: "Treats", from: 0, to: 1 }], undefined]);
    const [second] = await annotationsForNote(db, result.noteIds[1]);
    expect([second.spans, second.relations, second.labels]).toEqual([[], undefined, { smoking: ["never"] }]);
    expect(await annotationsForNote(db, result.noteIds[2])).toEqual([]);
  });

  it("imports 10,000 notes in one call quickly, then de-duplicates a batch against them", async () => {
    const db = freshDatabase();
    const project = await createProject(db, { name: "P", language: "en" });
    const batch = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) =>
        hashed(`n${from + i}`, `Patient ${from + i} admitted with chest pain; troponin ${(from + i) % 97}.`, "big.csv", [
          { start: 0, end: 7, type: "Person" },
        ]),
      );
    const started = performance.now();
    const first = await importNotes(db, project.id, "", batch(0, 10_000));
    const seconds = (performance.now() - started) / 1000;
    console.log(`importNotes in fake-indexeddb: ${Math.round(10_000 / seconds)} notes/s`);
    expect(first.added).toBe(10_000);
    // fake-indexeddb in Node is slower than a browser's IndexedDB; this bound only
    // catches per-note round trips (which take minutes here).
    expect(seconds).toBeLessThan(10);

    // A file-sized batch, half of it already stored, goes in fast too.
    const secondStarted = performance.now();
    const second = await importNotes(db, project.id, "", batch(9_900, 200));
    expect(performance.now() - secondStarted).toBeLessThan(2_000);
    expect(second.added).toBe(100);
    expect(second.duplicates).toHaveLength(100);
    expect(second.duplicates[0]).toMatchObject({ externalId: "n9900", duplicateOf: "n9900", duplicateOfNoteId: first.noteIds[9_900] });
    expect(await countNotes(db, project.id)).toBe(10_100);
    expect(await db.annotations.count()).toBe(10_100);
  });

  it("finds stored duplicates in a large batch", async () => {
    const db = freshDatabase();
    const project = await createProject(db, { name: "P", language: "en" });
    const size = 1000;
    const batch = (from: number) => Array.from({ length: size }, (_, i) => hashed(`n${from + i}`, `text ${from + i}`));
    const first = await importNotes(db, project.id, "", batch(0));
    const second = await importNotes(db, project.id, "", batch(size - 10));
    expect(second.added).toBe(size - 10);
    expect(second.duplicates.map((duplicate) => duplicate.duplicateOfNoteId)).toEqual(first.noteIds.slice(size - 10));
  });
});

describe("importNotes when storage is full", () => {
  /** A DBCore middleware that, while armed, performs a write and then fails like a full disk. */
  function failingWrites(state: { failOn: string | null; error: () => unknown }) {
    return {
      stack: "dbcore" as const,
      name: "simulated-quota",
      create: (down: DBCore): DBCore => ({
        ...down,
        table: (name) => {
          const table = down.table(name);
          return {
            ...table,
            mutate: async (request: DBCoreMutateRequest) => {
              const response = await table.mutate(request);
              if (state.failOn === name) throw state.error();
              return response;
            },
          };
        },
      }),
    };
  }

  const shapes: [string, () => unknown][] = [
    ["a DOMException", quotaException],
    ["Dexie.QuotaExceededError", () => new Dexie.QuotaExceededError("full")],
    ["an AbortError wrapping it", () => new Dexie.AbortError("aborted", quotaException())],
  ];

  for (const [shape, error] of shapes) {
    it(`rolls the whole batch back and throws StorageFullError naming the file (${shape})`, async () => {
      const state: { failOn: string | null; error: () => unknown } = { failOn: null, error };
      const db = freshDatabase((db) => db.use(failingWrites(state)));
      const project = await createProject(db, { name: "P", language: "en" });
      const earlier = await importNotes(db, project.id, "i1", [hashed("e1", "earlier one", "first.txt", [{ start: 0, end: 7, type: "X" }])]);

      // Notes are written, then the annotation write fails: the notes must go too.
      state.failOn = "annotations";
      const failed = importNotes(db, project.id, "i2", [
        hashed("f1", "failing one", "second.txt", [{ start: 0, end: 7, type: "X" }]),
        hashed("f2", "failing two", "second.txt"),
      ]);
      await expect(failed).rejects.toBeInstanceOf(StorageFullError);
      await expect(failed).rejects.toThrow(/second\.txt/);

      state.failOn = null;
      expect(await countNotes(db, project.id)).toBe(1);
      expect((await getNote(db, earlier.noteIds[0])).text).toBe("earlier one");
      expect(await db.annotations.count()).toBe(1);
      expect(await db.notes.filter((note) => note.importId === "i2").count()).toBe(0);

      // The same notes go in once space is back: nothing half-stored blocks them as duplicates.
      const retry = await importNotes(db, project.id, "i2", [hashed("f1", "failing one", "second.txt"), hashed("f2", "failing two", "second.txt")]);
      expect(retry.added).toBe(2);
    });
  }

  it("does not turn other errors into StorageFullError", async () => {
    const state: { failOn: string | null; error: () => unknown } = { failOn: "notes", error: () => new TypeError("bug") };
    const db = freshDatabase((db) => db.use(failingWrites(state)));
    const project = await createProject(db, { name: "P", language: "en" });
    await expect(importNotes(db, project.id, "", [hashed("a", "a")])).rejects.toThrow(TypeError);
    state.failOn = null;
    expect(await countNotes(db, project.id)).toBe(0);
  });

  it("recognises the quota error in the shapes Dexie gives it", () => {
    expect(isQuotaError(quotaException())).toBe(true);
    expect(isQuotaError(new Dexie.QuotaExceededError("x"))).toBe(true);
    expect(isQuotaError(new Dexie.AbortError("x", quotaException()))).toBe(true);
    expect(isQuotaError(new Dexie.BulkError("x", [new Error("other"), quotaException()]))).toBe(true);
    expect(isQuotaError(new Error("wrapper", { cause: quotaException() }))).toBe(true);
    expect(isQuotaError(new Dexie.ConstraintError("x"))).toBe(false);
    expect(isQuotaError(new Dexie.AbortError("x", new Error("other")))).toBe(false);
    expect(isQuotaError("QuotaExceededError")).toBe(false);
  });
});

describe("listing notes", () => {
  async function projectWithNotes(count: number) {
    const db = freshDatabase();
    const project = await createProject(db, { name: "P", language: "en" });
    const batch = Array.from({ length: count }, (_, i) =>
      hashed(`note-${i}`, `Note ${i}. ${i % 10 === 0 ? "Pneumonia suspected." : "Stable."}\n\n${"x".repeat(200)}`),
    );
    const { noteIds } = await importNotes(db, project.id, "", batch);
    return { db, project, noteIds };
  }

  it("pages through notes in import order and filters by split", async () => {
    const { db, project, noteIds } = await projectWithNotes(250);
    const page = await listNoteSummaries(db, project.id, { offset: 100, limit: 50 });
    expect(page.map((summary) => summary.id)).toEqual(noteIds.slice(100, 150));
    expect(page[0]).toMatchObject({ externalId: "note-100", split: "pool", sourceFile: "notes.txt" });
    expect(page[0].preview.startsWith("Note 100. Pneumonia suspected. xxx")).toBe(true);
    expect(page[0].preview).toHaveLength(PREVIEW_CHARS);
    expect(await listNoteSummaries(db, project.id, { offset: 240, limit: 50 })).toHaveLength(10);

    const goldIds = [noteIds[3], noteIds[7], noteIds[200]];
    expect(await setSplit(db, goldIds, "gold")).toBe(3);
    expect(await countNotes(db, project.id, { split: "gold" })).toBe(3);
    expect(await countNotes(db, project.id, { split: "pool" })).toBe(247);
    const gold = await listNoteSummaries(db, project.id, { offset: 1, limit: 10, split: "gold" });
    expect(gold.map((summary) => summary.id)).toEqual(goldIds.slice(1));
    expect(gold.every((summary) => summary.split === "gold")).toBe(true);
  });

  it("searches text and external ids case-insensitively, paging over matches", async () => {
    const { db, project, noteIds } = await projectWithNotes(250);
    expect(await countNotes(db, project.id, { search: "PNEUMONIA" })).toBe(25);
    const page = await listNoteSummaries(db, project.id, { offset: 5, limit: 3, search: "pneumonia" });
    expect(page.map((summary) => summary.id)).toEqual([noteIds[50], noteIds[60], noteIds[70]]);
    expect((await listNoteSummaries(db, project.id, { offset: 0, limit: 5, search: "note-249" })).map((s) => s.id)).toEqual([noteIds[249]]);
    await setSplit(db, [noteIds[10], noteIds[11]], "dev");
    const devMatches = await listNoteSummaries(db, project.id, { offset: 0, limit: 10, split: "dev", search: "pneumonia" });
    expect(devMatches.map((summary) => summary.id)).toEqual([noteIds[10]]);
    expect(await listNoteSummaries(db, project.id, { offset: 0, limit: 10, search: "absent" })).toEqual([]);
  });

  it("stops scanning once a search page is full", async () => {
    const { db, project } = await projectWithNotes(5 * SCAN_CHUNK);
    let visited = 0;
    const counting = (note: NoteRow) => {
      visited++;
      return note;
    };
    db.notes.hook("reading", counting);
    const page = await listNoteSummaries(db, project.id, { offset: 0, limit: 2, search: "pneumonia" });
    db.notes.hook("reading").unsubscribe(counting);
    expect(page.map((summary) => summary.externalId)).toEqual(["note-0", "note-10"]);
    // Both matches lie in the first chunk: no other chunk is read.
    expect(visited).toBe(SCAN_CHUNK);
  });

  it("summarises given notes in the order asked", async () => {
    const { db, noteIds } = await projectWithNotes(5);
    await putAnnotation(db, { noteId: noteIds[3], origin: "human", spans: [{ start: 0, end: 1, type: "A" }, { start: 2, end: 3, type: "A" }] });
    const summaries = await noteSummaries(db, [noteIds[3], noteIds[0]], "human");
    expect(summaries.map((summary) => [summary.externalId, summary.spanCount])).toEqual([["note-3", 2], ["note-0", undefined]]);
    await expect(noteSummaries(db, [noteIds[0], 4242])).rejects.toBeInstanceOf(NotFoundError);
  });

  it("counts spans of the chosen origin on a page", async () => {
    const { db, project, noteIds } = await projectWithNotes(5);
    await putAnnotation(db, { noteId: noteIds[1], origin: "llm", runId: "r1", spans: [{ start: 0, end: 4, type: "A" }] });
    await putAnnotation(db, { noteId: noteIds[1], origin: "human", spans: [] });
    const page = await listNoteSummaries(db, project.id, { offset: 0, limit: 3, spanOrigin: "llm" });
    expect(page.map((summary) => summary.spanCount)).toEqual([undefined, 1, undefined]);
  });

  it("throws NotFoundError for unknown notes", async () => {
    const { db, noteIds } = await projectWithNotes(2);
    await expect(getNote(db, 9999)).rejects.toBeInstanceOf(NotFoundError);
    await expect(setSplit(db, [noteIds[0], 9999], "dev")).rejects.toBeInstanceOf(NotFoundError);
    expect((await getNote(db, noteIds[0])).split).toBe("pool");
  });
});

describe("findNotes", () => {
  it("returns the notes that exist, in the order asked, and leaves out deleted ones", async () => {
    const db = freshDatabase();
    const project = await createProject(db, { name: "p", language: "en" });
    const { noteIds } = await importNotes(db, project.id, "i1", [hashed("a", "first"), hashed("b", "second"), hashed("c", "third")]);
    await db.notes.delete(noteIds[1]);
    const found = await findNotes(db, [noteIds[2], noteIds[1], noteIds[0]]);
    expect(found.map((note) => note.externalId)).toEqual(["c", "a"]);
  });
});
