// An import is one drop of files. Its row collects counts and per-file errors so the
// import screen can show them after a reload; importNotes adds to the counts as it goes.

import { NotFoundError, type ErrorData } from "../errors.ts";
import { inTransaction, newId, withStorageErrors, type AppDatabase, type ImportRow } from "./db.ts";

export async function beginImport(db: AppDatabase, projectId: string, files: string[]): Promise<ImportRow> {
  const row: ImportRow = {
    id: newId(),
    projectId,
    files,
    notesAdded: 0,
    duplicates: 0,
    errors: [],
    startedAt: Date.now(),
    finishedAt: null,
  };
  await withStorageErrors("the import record", () => db.imports.add(row));
  return row;
}

/** Records the errors of files that failed (parse errors, storage full) and closes the import. */
export async function finishImport(db: AppDatabase, importId: string, errors: ErrorData[] = []): Promise<ImportRow> {
  return inTransaction(db, "rw", [db.imports], "the import record", async () => {
    const row = await getImport(db, importId);
    const finished: ImportRow = { ...row, errors: [...row.errors, ...errors], finishedAt: Date.now() };
    await db.imports.put(finished);
    return finished;
  });
}

export async function getImport(db: AppDatabase, importId: string): Promise<ImportRow> {
  const row = await db.imports.get(importId);
  if (!row) throw new NotFoundError(`No import with id ${importId}.`);
  return row;
}

/** The project's imports, oldest first. */
export async function listImports(db: AppDatabase, projectId: string): Promise<ImportRow[]> {
  const rows = await db.imports.where("projectId").equals(projectId).toArray();
  return rows.sort((a, b) => a.startedAt - b.startedAt);
}
