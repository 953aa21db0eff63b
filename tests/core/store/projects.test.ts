import { describe, expect, it } from "vitest";
import { NotFoundError } from "../../../src/core/errors.ts";
import { schemaWithTypes } from "../../../src/core/schema/types.ts";
import { putAnnotation } from "../../../src/core/store/annotations.ts";
import { beginImport, finishImport, listImports } from "../../../src/core/store/imports.ts";
import { createModel, putModelFile } from "../../../src/core/store/models.ts";
import { countNotes, importNotes } from "../../../src/core/store/notes.ts";
import {
  createProject,
  deleteProject,
  getProject,
  listProjects,
  renameProject,
  updateProject,
} from "../../../src/core/store/projects.ts";
import { addEvaluation, createRun, listEvaluations, listRuns } from "../../../src/core/store/runs.ts";
import type { AppDatabase } from "../../../src/core/store/db.ts";
import { freshDatabase, hashed } from "./helpers.ts";

describe("projects", () => {
  it("creates, lists, renames and updates projects", async () => {
    const db = freshDatabase();
    const first = await createProject(db, { name: "First", language: "en" });
    expect(first.schema).toEqual({ entityTypes: [], relationTypes: [], documentLabels: [], guideline: "" });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await createProject(db, { name: "Second", language: "ja", schema: schemaWithTypes(["Drug"]) });
    expect((await listProjects(db)).map((project) => project.name)).toEqual(["Second", "First"]);

    await new Promise((resolve) => setTimeout(resolve, 5));
    const renamed = await renameProject(db, first.id, "First, renamed");
    expect(renamed.updatedAt).toBeGreaterThan(first.updatedAt);
    expect((await listProjects(db)).map((project) => project.name)).toEqual(["First, renamed", "Second"]);

    const schema = schemaWithTypes(["Drug", "Dose"]);
    await updateProject(db, second.id, { schema, language: "en" });
    const stored = await getProject(db, second.id);
    expect(stored).toMatchObject({ name: "Second", language: "en", schema, createdAt: second.createdAt });
  });

  it("throws NotFoundError for an unknown project", async () => {
    const db = freshDatabase();
    await expect(getProject(db, "nope")).rejects.toBeInstanceOf(NotFoundError);
    await expect(renameProject(db, "nope", "x")).rejects.toBeInstanceOf(NotFoundError);
    await expect(deleteProject(db, "nope")).rejects.toBeInstanceOf(NotFoundError);
  });

  async function fill(db: AppDatabase, name: string) {
    const project = await createProject(db, { name, language: "en" });
    const imported = await beginImport(db, project.id, ["a.txt"]);
    const { noteIds } = await importNotes(db, project.id, imported.id, [
      hashed(`${name}-1`, `${name} one`, "a.txt", [{ start: 0, end: 3, type: "X" }]),
      hashed(`${name}-2`, `${name} two`, "a.txt"),
    ]);
    const run = await createRun(db, { projectId: project.id, kind: "annotate", config: { model: "m" } });
    await putAnnotation(db, { noteId: noteIds[1], origin: "llm", runId: run.id, spans: [] });
    await addEvaluation(db, { projectId: project.id, runId: run.id, modelId: "m", metrics: { f1: 0.5 } });
    const model = await createModel(db, { projectId: project.id, name: `${name} model`, kind: "trained", config: {}, labels: ["O"] });
    await putModelFile(db, model.id, "model.onnx", new Uint8Array([1, 2, 3, 4, 5]), { chunkBytes: 2 });
    return project;
  }

  it("deletes a project with its notes, annotations, imports, runs and evaluations, and nothing else", async () => {
    const db = freshDatabase();
    const doomed = await fill(db, "doomed");
    const kept = await fill(db, "kept");
    expect(await db.annotations.count()).toBe(4);

    await deleteProject(db, doomed.id);

    await expect(getProject(db, doomed.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await countNotes(db, doomed.id)).toBe(0);
    expect(await db.annotations.where("projectId").equals(doomed.id).count()).toBe(0);
    expect(await listImports(db, doomed.id)).toEqual([]);
    expect(await listRuns(db, doomed.id)).toEqual([]);
    expect(await listEvaluations(db, doomed.id)).toEqual([]);
    // Models are kept unless asked for: a trained model may be worth more than its project.
    expect(await db.models.where("projectId").equals(doomed.id).count()).toBe(1);

    expect(await countNotes(db, kept.id)).toBe(2);
    expect(await db.annotations.where("projectId").equals(kept.id).count()).toBe(2);
    expect(await listImports(db, kept.id)).toHaveLength(1);
    expect(await listRuns(db, kept.id)).toHaveLength(1);
    expect(await listEvaluations(db, kept.id)).toHaveLength(1);
    expect(await db.notes.count()).toBe(2);
    expect(await db.annotations.count()).toBe(2);
  });

  it("deletes the project's models and their chunks when asked", async () => {
    const db = freshDatabase();
    const doomed = await fill(db, "doomed");
    await fill(db, "kept");
    expect(await db.modelChunks.count()).toBe(6);
    await deleteProject(db, doomed.id, { withModels: true });
    expect(await db.models.count()).toBe(1);
    expect(await db.modelChunks.count()).toBe(3);
  });
});

describe("imports", () => {
  it("records the counts of each batch and the errors of failed files", async () => {
    const db = freshDatabase();
    const project = await createProject(db, { name: "P", language: "en" });
    const started = await beginImport(db, project.id, ["a.txt", "b.csv"]);
    expect(started).toMatchObject({ notesAdded: 0, duplicates: 0, errors: [], finishedAt: null });
    await importNotes(db, project.id, started.id, [hashed("a", "one", "a.txt"), hashed("b", "one", "a.txt")]);
    await importNotes(db, project.id, started.id, [hashed("c", "two", "b.csv")]);
    const finished = await finishImport(db, started.id, [{ name: "InputFileError", message: "c.tsv, line 3: bad", file: "c.tsv", line: 3 }]);
    expect(finished).toMatchObject({ notesAdded: 2, duplicates: 1, files: ["a.txt", "b.csv"] });
    expect(finished.errors).toEqual([{ name: "InputFileError", message: "c.tsv, line 3: bad", file: "c.tsv", line: 3 }]);
    expect(finished.finishedAt).not.toBeNull();
    expect(await listImports(db, project.id)).toEqual([finished]);
    await expect(finishImport(db, "missing")).rejects.toBeInstanceOf(NotFoundError);
  });
});
