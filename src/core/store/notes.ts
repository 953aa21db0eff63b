// Notes: bulk import with de-duplication by content hash, paging for a virtual list of
// 100,000 notes, search, and splits.

import { Dexie } from "dexie";
import type { ParsedNote } from "../corpus/types.ts";
import { NotFoundError } from "../errors.ts";
import {
  annotationsOfNote,
  notesOfProject,
  inTransaction,
  type AnnotationRow,
  type AnnotationOrigin,
  type AppDatabase,
  type NoteRow,
  type Split,
} from "./db.ts";

export interface HashedNote {
  note: ParsedNote;
  /** contentHash(note.text), computed by the caller (src/core/corpus/hash.ts). */
  hash: string;
}

export interface DuplicateNote {
  externalId: string;
  sourceFile: string;
  /** externalId of the note that was kept (stored earlier, or earlier in the same batch). */
  duplicateOf: string;
  /** The kept note's id in the database. */
  duplicateOfNoteId: number;
}

export interface ImportNotesResult {
  added: number;
  /** Ids of the added notes, in batch order (duplicates left out). */
  noteIds: number[];
  /** Annotation rows (origin "import") written for notes that came with spans. */
  annotationsAdded: number;
  duplicates: DuplicateNote[];
}

export interface ImportNotesOptions {
  /** Split for the new notes; "pool" unless the caller knows better. */
  split?: Split;
}

/**
 * Adds a batch of parsed notes to a project in ONE transaction: a failure (storage full,
 * a bug) leaves nothing of this batch behind and everything before it untouched. The
 * caller calls it once per file (or per batch of a large file).
 *
 * Notes whose hash is already in the project, or earlier in the batch, are skipped and
 * reported. Notes that came with spans (even an empty list: "annotated, nothing found"),
 * or with document labels, get an annotation row with origin "import", which keeps the
 * relations and labels that came with them. If the import row exists its counts grow.
 */
export async function importNotes(
  db: AppDatabase,
  projectId: string,
  importId: string,
  parsed: HashedNote[],
  options: ImportNotesOptions = {},
): Promise<ImportNotesResult> {
  if (parsed.length === 0) return { added: 0, noteIds: [], annotationsAdded: 0, duplicates: [] };
  const split = options.split ?? "pool";

  // Within-batch duplicates first: that needs no database.
  const firstIndexByHash = new Map<string, number>();
  const withinBatch: { index: number; firstIndex: number }[] = [];
  for (let index = 0; index < parsed.length; index++) {
    const firstIndex = firstIndexByHash.get(parsed[index].hash);
    if (firstIndex === undefined) firstIndexByHash.set(parsed[index].hash, index);
    else withinBatch.push({ index, firstIndex });
  }

  // The unique [projectId+hash] index does the de-duplication against stored notes: all
  // unique notes are added at once and those already stored fail alone (ConstraintError)
  // while the rest go in. Only when some fail are hashes looked up. Measured in Chromium,
  // checking 10,000 hashes first costs ~1.4 s as separate lookups and up to ~30 s as an
  // anyOf walk over random hashes, against ~1 s for adding the notes themselves.
  const candidates = [...firstIndexByHash.values()].sort((a, b) => a - b);
  return inTransaction(db, "rw", [db.notes, db.annotations, db.imports], describeBatch(parsed), async () => {
    const now = Date.now();
    const rows = candidates.map((index): Omit<NoteRow, "id"> => {
      const { note, hash } = parsed[index];
      return {
        projectId,
        externalId: note.externalId,
        text: note.text,
        hash,
        split,
        sourceFile: note.sourceFile,
        importId,
        createdAt: now,
      };
    });
    const storedPositions = new Set<number>();
    let keys: (number | undefined)[];
    try {
      keys = (await db.notes.bulkAdd(rows as NoteRow[], { allKeys: true })) as number[];
    } catch (error) {
      if (!(error instanceof Dexie.BulkError)) throw error;
      for (const [position, failure] of Object.entries(error.failuresByPos)) {
        // Anything but a repeated hash (a full disk, a bug) fails the whole batch.
        if ((failure as Error).name !== Dexie.errnames.Constraint) throw error;
        storedPositions.add(Number(position));
      }
      keys = [];
    }

    // With failures, bulkAdd gives no keys: find them, and the notes that were there first.
    const byHash = storedPositions.size > 0 ? await notesByHash(db, projectId, rows.map((row) => row.hash)) : null;
    const idByIndex = new Map<number, number>();
    const added: number[] = [];
    const duplicates: DuplicateNote[] = [];
    candidates.forEach((index, position) => {
      const { note, hash } = parsed[index];
      if (storedPositions.has(position)) {
        const existing = byHash!.get(hash)!;
        duplicates.push({
          externalId: note.externalId,
          sourceFile: note.sourceFile,
          duplicateOf: existing.externalId,
          duplicateOfNoteId: existing.id,
        });
        idByIndex.set(index, existing.id);
      } else {
        const id = byHash ? byHash.get(hash)!.id : keys[position]!;
        added.push(index);
        idByIndex.set(index, id);
      }
    });

    for (const { index, firstIndex } of withinBatch) {
      const { externalId, sourceFile } = parsed[index].note;
      const kept = byHash?.get(parsed[firstIndex].hash);
      duplicates.push({
        externalId,
        sourceFile,
        duplicateOf: kept ? kept.externalId : parsed[firstIndex].note.externalId,
        duplicateOfNoteId: idByIndex.get(firstIndex)!,
      });
    }

    const noteIds = added.map((index) => idByIndex.get(index)!);
    const annotations: Omit<AnnotationRow, "id">[] = [];
    added.forEach((index, position) => {
      const { spans, relations, labels } = parsed[index].note;
      // Labels alone (a JSONL of classified reports) still make an annotation, with no
      // spans: the row has to hold the labels, and a file that gave no entities found none.
      if (spans === undefined && labels === undefined) return;
      const row: Omit<AnnotationRow, "id"> = { projectId, noteId: noteIds[position], origin: "import", runId: "", spans: spans ?? [], updatedAt: now };
      if (relations !== undefined && relations.length > 0) row.relations = relations;
      if (labels !== undefined) row.labels = labels;
      annotations.push(row);
    });
    if (annotations.length > 0) await db.annotations.bulkAdd(annotations as AnnotationRow[]);

    const importRow = await db.imports.get(importId);
    if (importRow) {
      await db.imports.update(importId, {
        notesAdded: importRow.notesAdded + noteIds.length,
        duplicates: importRow.duplicates + duplicates.length,
      });
    }

    return { added: noteIds.length, noteIds, annotationsAdded: annotations.length, duplicates };
  });
}

/**
 * The project's notes with these hashes, by hash: one exact index lookup per hash, all
 * issued together (an anyOf walk is far slower in Chromium for scattered hashes, and in
 * fake-indexeddb for large projects). Only the notes found are read in full.
 */
async function notesByHash(db: AppDatabase, projectId: string, hashes: string[]): Promise<Map<string, NoteRow>> {
  const index = db.notes.where("[projectId+hash]");
  const ids = (await Promise.all(hashes.map((hash) => index.equals([projectId, hash]).primaryKeys()))).flat();
  const notes = (await db.notes.bulkGet(ids as number[])) as NoteRow[];
  return new Map(notes.map((note) => [note.hash, note]));
}

/**
 * Reads notes by ascending ids, a chunk at a time, calling `visit` per chunk until it
 * returns false. Ids of one project are mostly consecutive, so a chunk is read as one
 * primary-key range (getAll; about 2.5x faster than separate gets in Chromium) unless
 * other projects' notes fill the range, when it falls back to bulkGet.
 */
export async function readNotesInChunks(
  db: AppDatabase,
  ids: number[],
  visit: (notes: NoteRow[]) => boolean | void,
  chunkSize = SCAN_CHUNK,
): Promise<void> {
  for (let start = 0; start < ids.length; start += chunkSize) {
    const chunk = ids.slice(start, start + chunkSize);
    const first = chunk[0];
    const last = chunk[chunk.length - 1];
    let notes: NoteRow[];
    if (last - first < 2 * chunk.length) {
      const wanted = new Set(chunk);
      const range = await db.notes.where(":id").between(first, last, true, true).toArray();
      notes = range.filter((note) => wanted.has(note.id));
    } else {
      notes = ((await db.notes.bulkGet(chunk)) as (NoteRow | undefined)[]).filter((note) => note !== undefined);
    }
    if (visit(notes) === false) return;
  }
}

/** Names the files of a batch for a message: "a.txt", or "a.txt, b.txt and 3 more files". */
function describeBatch(parsed: HashedNote[]): string {
  const files = [...new Set(parsed.map((item) => item.note.sourceFile))];
  if (files.length === 1) return files[0];
  if (files.length <= 3) return files.join(", ");
  return `${files.slice(0, 2).join(", ")} and ${files.length - 2} more files`;
}

export interface NoteSummary {
  id: number;
  externalId: string;
  /** The first PREVIEW_CHARS characters of the text, whitespace collapsed. */
  preview: string;
  split: Split;
  sourceFile: string;
  /** Spans in the latest annotation of `spanOrigin`, when that option was given and one exists. */
  spanCount?: number;
}

export const PREVIEW_CHARS = 120;

export interface NoteQuery {
  split?: Split;
  /** Case-insensitive substring of the text or the external id. */
  search?: string;
}

export interface NotePage extends NoteQuery {
  offset: number;
  limit: number;
  /** Count the spans of this origin's annotation for each note of the page. */
  spanOrigin?: AnnotationOrigin;
}

/** Notes read per request while scanning for a search: bounds memory to one chunk. */
export const SCAN_CHUNK = 100;

/**
 * One page of a project's notes in import order (by id), for a virtual list. The ids come
 * from an index (getAllKeys: numbers only, fast even for 100,000 notes); only the page's
 * notes are read. With a search, notes are read a chunk at a time and the scan stops as
 * soon as `limit` matches past `offset` are found.
 */
export async function listNoteSummaries(db: AppDatabase, projectId: string, page: NotePage): Promise<NoteSummary[]> {
  return inTransaction(db, "r", [db.notes, db.annotations], "reading notes", async () => {
    const ids = await listNoteIds(db, projectId, page.split);
    const needle = searchNeedle(page.search);
    const notes = needle
      ? await scanForMatches(db, ids, needle, page.offset, page.limit)
      : ((await db.notes.bulkGet(ids.slice(page.offset, page.offset + page.limit))) as NoteRow[]);
    return withSpanCounts(db, notes.map(summarize), page.spanOrigin);
  });
}

/** Summaries of given notes (a virtual list that holds the ids from listNoteIds), in that order. */
export async function noteSummaries(
  db: AppDatabase,
  noteIds: number[],
  spanOrigin?: AnnotationOrigin,
): Promise<NoteSummary[]> {
  return inTransaction(db, "r", [db.notes, db.annotations], "reading notes", async () => {
    const notes = await getNotes(db, noteIds);
    return withSpanCounts(db, notes.map(summarize), spanOrigin);
  });
}

/** How many notes match. Without a search this is an index count; with one, a chunked scan. */
export async function countNotes(db: AppDatabase, projectId: string, query: NoteQuery = {}): Promise<number> {
  const needle = searchNeedle(query.search);
  if (!needle) {
    const range =
      query.split === undefined
        ? notesOfProject(db, projectId)
        : db.notes.where("[projectId+split]").equals([projectId, query.split]);
    return range.count();
  }
  return inTransaction(db, "r", [db.notes], "reading notes", async () => {
    const ids = await listNoteIds(db, projectId, query.split);
    return (await scanForMatches(db, ids, needle, 0, Infinity)).length;
  });
}

/** Note ids of a project (optionally one split), in import order. */
export async function listNoteIds(db: AppDatabase, projectId: string, split?: Split): Promise<number[]> {
  if (split !== undefined) return (await db.notes.where("[projectId+split]").equals([projectId, split]).primaryKeys()) as number[];
  // The index orders by split first; import order is id order.
  const ids = (await notesOfProject(db, projectId).primaryKeys()) as number[];
  return ids.sort((a, b) => a - b);
}

export async function getNote(db: AppDatabase, noteId: number): Promise<NoteRow> {
  const note = await db.notes.get(noteId);
  if (!note) throw new NotFoundError(`No note with id ${noteId}: it may have been deleted.`);
  return note;
}

/** The notes that still exist among `noteIds`, in that order (a run may name notes deleted since). */
export async function findNotes(db: AppDatabase, noteIds: number[]): Promise<NoteRow[]> {
  const notes = (await db.notes.bulkGet(noteIds)) as (NoteRow | undefined)[];
  return notes.filter((note): note is NoteRow => note !== undefined);
}

/** Full notes by id (for a batch of annotation or training); throws if any is missing. */
export async function getNotes(db: AppDatabase, noteIds: number[]): Promise<NoteRow[]> {
  const notes = await db.notes.bulkGet(noteIds);
  const missing = noteIds.filter((_, index) => notes[index] === undefined);
  if (missing.length > 0) throw new NotFoundError(`No notes with ids ${missing.slice(0, 10).join(", ")}.`);
  return notes as NoteRow[];
}

/** Moves notes to a split; returns how many were changed. Throws (and changes none) if any id is unknown. */
export async function setSplit(db: AppDatabase, noteIds: number[], split: Split): Promise<number> {
  const unique = [...new Set(noteIds)];
  return inTransaction(db, "rw", [db.notes], "the split change", async () => {
    const updated = await db.notes.bulkUpdate(unique.map((key) => ({ key, changes: { split } })));
    if (updated !== unique.length) {
      const found = await db.notes.bulkGet(unique);
      const missing = unique.filter((_, index) => found[index] === undefined);
      throw new NotFoundError(`Cannot set the split: no notes with ids ${missing.slice(0, 10).join(", ")}.`);
    }
    return updated;
  });
}

function searchNeedle(search: string | undefined): string {
  return search?.trim().toLowerCase() ?? "";
}

/** The notes among `ids` (in order) whose text or external id holds `needle`, skipping `skip` matches. */
async function scanForMatches(
  db: AppDatabase,
  ids: number[],
  needle: string,
  skip: number,
  take: number,
): Promise<NoteRow[]> {
  const matches: NoteRow[] = [];
  let skipped = 0;
  await readNotesInChunks(db, ids, (notes) => {
    for (const note of notes) {
      if (!(note.text.toLowerCase().includes(needle) || note.externalId.toLowerCase().includes(needle))) continue;
      if (skipped < skip) skipped++;
      else if (matches.length < take) matches.push(note);
    }
    return matches.length < take;
  });
  return matches;
}

function summarize(note: NoteRow): NoteSummary {
  return {
    id: note.id,
    externalId: note.externalId,
    preview: note.text.slice(0, PREVIEW_CHARS * 2).replace(/\s+/g, " ").trim().slice(0, PREVIEW_CHARS),
    split: note.split,
    sourceFile: note.sourceFile,
  };
}

async function withSpanCounts(
  db: AppDatabase,
  summaries: NoteSummary[],
  origin: AnnotationOrigin | undefined,
): Promise<NoteSummary[]> {
  if (origin === undefined || summaries.length === 0) return summaries;
  // One exact lookup per note rather than anyOf: see storedNotesByHash.
  const perNote = await Promise.all(
    summaries.map((summary) => annotationsOfNote(db, summary.id).toArray()),
  );
  summaries.forEach((summary, index) => {
    // The most recently updated annotation of that origin (a note may have several runs).
    let latest: AnnotationRow | undefined;
    for (const row of perNote[index]) {
      if (row.origin === origin && (!latest || row.updatedAt >= latest.updatedAt)) latest = row;
    }
    if (latest) summary.spanCount = latest.spans.length;
  });
  return summaries;
}
