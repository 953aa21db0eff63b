// Annotations: one row per (note, origin, runId). A run writes each note as soon as it is
// done, so annotation and inference resume note by note after a reload.

import type { DocumentLabels, Relation, Span } from "../corpus/types.ts";
import { NotFoundError } from "../errors.ts";
import {
  annotationsOfNote,
  inTransaction,
  type AnnotationMeta,
  type AnnotationOrigin,
  type AnnotationRow,
  type AppDatabase,
} from "./db.ts";

export interface AnnotationInput {
  noteId: number;
  origin: AnnotationOrigin;
  /** "" when the annotation belongs to no run. */
  runId?: string;
  spans: Span[];
  /** Relations between `spans` (indexes into it). */
  relations?: Relation[];
  labels?: DocumentLabels;
  meta?: AnnotationMeta;
}

/** Inserts or replaces the annotation of (noteId, origin, runId). */
export async function putAnnotation(db: AppDatabase, input: AnnotationInput): Promise<AnnotationRow> {
  const [row] = await putAnnotations(db, [input]);
  return row;
}

/** Upserts many annotations in one transaction (a batch of a run). Throws if a note is missing. */
export async function putAnnotations(db: AppDatabase, given: AnnotationInput[]): Promise<AnnotationRow[]> {
  // The same key twice in one batch: the later one wins, as two puts in a row would.
  const byKey = new Map(given.map((input) => [annotationKey({ ...input, runId: input.runId ?? "" }), input]));
  const inputs = [...byKey.values()];
  if (inputs.length === 0) return [];
  const what = `annotations of ${inputs.length} note${inputs.length === 1 ? "" : "s"}`;
  return inTransaction(db, "rw", [db.notes, db.annotations], what, async () => {
    const noteIds = [...new Set(inputs.map((input) => input.noteId))];
    const notes = await db.notes.bulkGet(noteIds);
    const projectByNote = new Map<number, string>();
    notes.forEach((note, index) => {
      if (!note) throw new NotFoundError(`Cannot save an annotation: no note with id ${noteIds[index]}.`);
      projectByNote.set(note.id, note.projectId);
    });
    // One exact lookup per row, issued together (anyOf would walk a cursor; see notes.ts).
    const existingIds = await Promise.all(
      inputs.map((input) => {
        const key = [input.noteId, input.origin, input.runId ?? ""];
        return db.annotations.where("[noteId+origin+runId]").equals(key).primaryKeys();
      }),
    );
    const idByKey = new Map<string, number>();
    inputs.forEach((input, index) => {
      const [id] = existingIds[index] as number[];
      if (id !== undefined) idByKey.set(annotationKey({ ...input, runId: input.runId ?? "" }), id);
    });
    const now = Date.now();
    const rows = inputs.map((input) => {
      const row: Omit<AnnotationRow, "id"> & { id?: number } = {
        projectId: projectByNote.get(input.noteId)!,
        noteId: input.noteId,
        origin: input.origin,
        runId: input.runId ?? "",
        spans: input.spans,
        updatedAt: now,
      };
      if (input.relations !== undefined) row.relations = input.relations;
      if (input.labels !== undefined) row.labels = input.labels;
      if (input.meta !== undefined) row.meta = input.meta;
      const id = idByKey.get(annotationKey(row));
      if (id !== undefined) row.id = id;
      return row;
    });
    const ids = (await db.annotations.bulkPut(rows as AnnotationRow[], { allKeys: true })) as number[];
    return rows.map((row, index) => ({ ...row, id: ids[index] }));
  });
}

/** All annotations of a note (every origin and run), oldest first. */
export async function annotationsForNote(db: AppDatabase, noteId: number): Promise<AnnotationRow[]> {
  const rows = await annotationsOfNote(db, noteId).toArray();
  return rows.sort((a, b) => a.updatedAt - b.updatedAt || a.id - b.id);
}

/** A project's annotations of one origin (optionally one run; at most `limit`), in id order. */
export async function listAnnotations(
  db: AppDatabase,
  projectId: string,
  origin: AnnotationOrigin,
  runId?: string,
  limit?: number,
): Promise<AnnotationRow[]> {
  const all = db.annotations.where("[projectId+origin]").equals([projectId, origin]);
  const rows = runId === undefined ? all : all.filter((row) => row.runId === runId);
  return (limit === undefined ? rows : rows.limit(limit)).toArray();
}

/** A run's rows (any origin), only those `keep` accepts when given; in no particular order. */
export async function annotationsOfRun(db: AppDatabase, runId: string, keep?: (row: AnnotationRow) => boolean): Promise<AnnotationRow[]> {
  const rows = db.annotations.where("runId").equals(runId);
  return keep ? rows.filter(keep).toArray() : rows.toArray();
}

/** Ids of the notes a run has already written, so it can skip them when it resumes. */
export async function noteIdsDoneByRun(db: AppDatabase, runId: string): Promise<Set<number>> {
  const rows = await db.annotations.where("runId").equals(runId).toArray();
  return new Set(rows.map((row) => row.noteId));
}

export async function deleteAnnotation(
  db: AppDatabase,
  noteId: number,
  origin: AnnotationOrigin,
  runId = "",
): Promise<boolean> {
  const deleted = await db.annotations.where("[noteId+origin+runId]").equals([noteId, origin, runId]).delete();
  return deleted > 0;
}

function annotationKey(row: { noteId: number; origin: string; runId: string }): string {
  return `${row.noteId}\u0000${row.origin}\u0000${row.runId}`;
}
