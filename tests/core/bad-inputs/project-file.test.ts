// Every bad project file of the corpus, opened on a machine that already holds a project:
// the typed error names the file (and line), no half-read project is left behind, and the
// project that was there is unchanged.
import { describe, expect, it } from "vitest";
import { InputFileError } from "../../../src/core/errors.ts";
import { exportProjectFile, importProjectFile } from "../../../src/core/store/project-file.ts";
import { PROJECT_CASES, type ProjectCase } from "../../fixtures/bad/cases.ts";
import { expectTypedError, expectUnharmed, fixture, freshDatabase, projectWithWork, snapshot } from "./helpers.ts";

describe("bad project files", () => {
  const check = async (_: string, testCase: ProjectCase) => {
    const db = freshDatabase();
    const { before } = await projectWithWork(db);
    const importsBefore = await db.imports.count();

    const error = await expectTypedError(() => importProjectFile(db, fixture(`project/${testCase.file}`), testCase.file), testCase.expect);
    expect(error).toBeInstanceOf(InputFileError);

    const after = await expectUnharmed(db, before);
    expect(after).toEqual(before); // nothing added either: the import is one transaction
    expect(await db.imports.count()).toBe(importsBefore);
  };
  it.each(PROJECT_CASES.map((c) => [c.kind, c] as const))("%s", check);

  it("after every bad file, a good project file still imports", async () => {
    const db = freshDatabase();
    const { project } = await projectWithWork(db);
    const good = await exportProjectFile(db, project.id);
    for (const testCase of PROJECT_CASES) {
      await expect(importProjectFile(db, fixture(`project/${testCase.file}`), testCase.file)).rejects.toThrow(InputFileError);
    }
    const copy = await importProjectFile(db, good, "backup.project.jsonl.gz", { name: "Copia" });
    const stored = await snapshot(db);
    expect(stored.projects.map((p) => p.name).sort()).toEqual(["Copia", "Urgencias 2024"]);
    expect(stored.notes.filter((note) => note.projectId === copy.id)).toHaveLength(3);
  });
});
