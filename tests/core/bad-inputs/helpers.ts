// Shared by the bad-input tests: the corpus on disk, and a project that already holds work
// (notes, imported annotations) so each test can check that a bad input harmed none of it.
import { readFileSync } from "node:fs";
import { afterEach, expect } from "vitest";
import { AppError } from "../../../src/core/errors.ts";
import { AppDatabase, type AnnotationRow, type NoteRow, type ProjectRow } from "../../../src/core/store/db.ts";
import { bytesSource, importFiles } from "../../../src/core/store/import-files.ts";
import { createProject } from "../../../src/core/store/projects.ts";
import type { ExpectedError } from "../../fixtures/bad/cases.ts";

/** Bytes of a file under tests/fixtures/bad/. */
export function fixture(path: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../../fixtures/bad/${path}`, import.meta.url)));
}

const opened: AppDatabase[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.delete();
});

/** A new database with a unique name; deleted after the test. */
export function freshDatabase(): AppDatabase {
  const db = new AppDatabase(`bad-inputs-${crypto.randomUUID()}`);
  opened.push(db);
  return db;
}

/** The good file dropped together with each bad one: it must import whatever the bad one does. */
export const GOOD_FILE = { name: "good-note.txt", text: "Paciente estable tras el tratamiento; alta a domicilio." };

/** What a project held before the bad input arrived. */
export interface Snapshot {
  projects: ProjectRow[];
  notes: NoteRow[];
  annotations: AnnotationRow[];
}

/** A project with three notes already stored, one with imported annotations. */
export async function projectWithWork(db: AppDatabase): Promise<{ project: ProjectRow; before: Snapshot }> {
  const project = await createProject(db, { name: "Urgencias 2024", language: "es" });
  const report = await importFiles(db, project.id, [
    bytesSource("earlier/ingreso-1.txt", "Varón de 67 años con disnea de esfuerzo."),
    bytesSource("earlier/ingreso-2.txt", "Mujer de 45 años con cefalea pulsátil."),
    bytesSource(
      "earlier/anotadas.jsonl",
      JSON.stringify({ id: "a1", text: "Fiebre y tos seca.", entities: [{ start: 0, end: 6, type: "DISO" }] }) + "\n",
    ),
  ]);
  expect(report.errorList).toEqual([]);
  expect(report.notesAdded).toBe(3);
  return { project, before: await snapshot(db) };
}

export async function snapshot(db: AppDatabase): Promise<Snapshot> {
  return {
    projects: await db.projects.orderBy("id").toArray(),
    notes: await db.notes.orderBy("id").toArray(),
    annotations: await db.annotations.orderBy("id").toArray(),
  };
}

/** Everything stored before is still there, unchanged (rows may have been added after it). */
export async function expectUnharmed(db: AppDatabase, before: Snapshot): Promise<Snapshot> {
  const after = await snapshot(db);
  for (const table of ["projects", "notes", "annotations"] as const) {
    const byId = new Map<unknown, unknown>(after[table].map((row) => [row.id, row]));
    for (const row of before[table]) expect(byId.get(row.id), `${table} row ${row.id}`).toEqual(row);
  }
  return after;
}

/** Runs `work`, expects it to throw the typed error the case names, and returns it. */
export async function expectTypedError(work: () => unknown, expected: ExpectedError): Promise<AppError & { file: string; line?: number }> {
  let thrown: unknown;
  try {
    await work();
  } catch (error) {
    thrown = error;
  }
  expectError(thrown, expected);
  return thrown as AppError & { file: string; line?: number };
}

export function expectError(thrown: unknown, expected: ExpectedError): void {
  expect(thrown, "no error was thrown").toBeInstanceOf(AppError);
  const error = thrown as AppError & { file?: string; line?: number };
  expect(error.name).toBe(expected.error);
  expect(error.file).toBe(expected.file);
  expect(error.line).toBe(expected.line);
  // The message itself names the input and the problem: it is what the screen shows.
  expect(error.message.startsWith(expected.file)).toBe(true);
  expect(error.message).toContain(expected.fragment);
  if (expected.line !== undefined) expect(error.message).toContain(`line ${expected.line}`);
}
