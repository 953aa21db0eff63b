import { describe, expect, it } from "vitest";
import { NotFoundError } from "../../../src/core/errors.ts";
import {
  annotationsForNote,
  deleteAnnotation,
  listAnnotations,
  noteIdsDoneByRun,
  putAnnotation,
  putAnnotations,
} from "../../../src/core/store/annotations.ts";
import { importNotes } from "../../../src/core/store/notes.ts";
import { createProject } from "../../../src/core/store/projects.ts";
import { freshDatabase, hashed } from "./helpers.ts";

describe("annotations", () => {
  async function setup() {
    const db = freshDatabase();
    const project = await createProject(db, { name: "P", language: "en" });
    const { noteIds } = await importNotes(db, project.id, "", [hashed("a", "aspirin 100 mg"), hashed("b", "no drugs")]);
    return { db, project, noteIds };
  }

  it("keeps one row per (note, origin, run) and replaces it on a second put", async () => {
    const { db, project, noteIds } = await setup();
    const first = await putAnnotation(db, { noteId: noteIds[0], origin: "llm", runId: "r1", spans: [{ start: 0, end: 7, type: "Drug" }], meta: { raw: "{}" } });
    expect(first.projectId).toBe(project.id);
    const again = await putAnnotation(db, {
      noteId: noteIds[0],
      origin: "llm",
      runId: "r1",
      spans: [{ start: 0, end: 7, type: "Drug" }, { start: 8, end: 14, type: "Dose" }],
      meta: { unplaced: ["ibuprofen"] },
    });
    expect(again.id).toBe(first.id);
    await putAnnotation(db, { noteId: noteIds[0], origin: "llm", runId: "r2", spans: [] });
    await putAnnotation(db, { noteId: noteIds[0], origin: "human", spans: [{ start: 0, end: 7, type: "Drug" }] });

    const rows = await annotationsForNote(db, noteIds[0]);
    expect(rows.map((row) => [row.origin, row.runId, row.spans.length])).toEqual([
      ["llm", "r1", 2],
      ["llm", "r2", 0],
      ["human", "", 1],
    ]);
    expect(rows[0].meta).toEqual({ unplaced: ["ibuprofen"] });
    expect((await listAnnotations(db, project.id, "llm")).map((row) => row.runId).sort()).toEqual(["r1", "r2"]);
    expect(await listAnnotations(db, project.id, "llm", "r2")).toHaveLength(1);
    expect(await deleteAnnotation(db, noteIds[0], "human")).toBe(true);
    expect(await deleteAnnotation(db, noteIds[0], "human")).toBe(false);
  });

  it("writes a batch in one transaction and knows which notes a run has done", async () => {
    const { db, noteIds } = await setup();
    await putAnnotations(db, [
      { noteId: noteIds[0], origin: "model", runId: "infer-1", spans: [] },
      { noteId: noteIds[1], origin: "model", runId: "infer-1", spans: [] },
    ]);
    expect(await noteIdsDoneByRun(db, "infer-1")).toEqual(new Set(noteIds));
    await expect(
      putAnnotations(db, [
        { noteId: noteIds[0], origin: "model", runId: "infer-2", spans: [] },
        { noteId: 12345, origin: "model", runId: "infer-2", spans: [] },
      ]),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(await noteIdsDoneByRun(db, "infer-2")).toEqual(new Set());
  });

  it("lets the later of two writes of the same key in one batch win", async () => {
    const { db, noteIds } = await setup();
    const rows = await putAnnotations(db, [
      { noteId: noteIds[0], origin: "human", spans: [] },
      { noteId: noteIds[0], origin: "human", spans: [{ start: 0, end: 7, type: "Drug" }] },
    ]);
    expect(rows).toHaveLength(1);
    const stored = await annotationsForNote(db, noteIds[0]);
    expect(stored.map((row) => row.spans.length)).toEqual([1]);
  });
});
