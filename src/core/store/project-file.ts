// A whole project in one file, to move it to another machine or keep a backup: gzip-
// compressed JSON lines. The first line is a header (format name, version); then the
// project, every note, every annotation. Notes come before annotations, so a reader can
// map old note ids to new ones as it goes. Both directions stream: one line (or one
// batch of rows) in memory at a time besides the compressed file itself.

import { Gunzip, Gzip } from "fflate";
import { contentHash } from "../corpus/hash.ts";
import type { DocumentLabels, Relation, Span } from "../corpus/types.ts";
import { InputFileError } from "../errors.ts";
import type { TaskSchema } from "../schema/types.ts";
import { schemaProblems } from "../schema/validate.ts";
import {
  annotationsOfProject,
  newId,
  inTransaction,
  type AnnotationMeta,
  type AnnotationOrigin,
  type AnnotationRow,
  type AppDatabase,
  type ImportRow,
  type NoteRow,
  type ProjectRow,
  type Split,
} from "./db.ts";
import { listNoteIds, readNotesInChunks } from "./notes.ts";
import { getProject } from "./projects.ts";

export const PROJECT_FILE_FORMAT = "clinical-adapt-project";
export const PROJECT_FILE_VERSION = 1;
export const PROJECT_FILE_EXTENSION = ".project.jsonl.gz";

interface HeaderLine {
  format: typeof PROJECT_FILE_FORMAT;
  version: number;
  exportedAt: string;
  notes: number;
  annotations: number;
}
interface ProjectLine {
  kind: "project";
  name: string;
  language: string;
  schema: TaskSchema;
  createdAt: number;
}
interface NoteLine {
  kind: "note";
  id: number;
  externalId: string;
  text: string;
  hash: string;
  split: Split;
  sourceFile: string;
}
interface AnnotationLine {
  kind: "annotation";
  noteId: number;
  origin: AnnotationOrigin;
  runId: string;
  spans: Span[];
  relations?: Relation[];
  labels?: DocumentLabels;
  updatedAt: number;
  meta?: AnnotationMeta;
}

/** A file name for a project's export, e.g. "Discharge summaries.project.jsonl.gz". */
export function projectFileName(project: Pick<ProjectRow, "name">): string {
  const safe = project.name.replace(/[\\/:*?"<>|\u0000-\u001f]+/g, "_").trim() || "project";
  return safe + PROJECT_FILE_EXTENSION;
}

/** Writes the project, its notes (with splits) and annotations to one compressed file. */
export async function exportProjectFile(db: AppDatabase, projectId: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const gzip = new Gzip({ level: 6 }, (chunk) => chunks.push(chunk));
  const encoder = new TextEncoder();
  let pending = "";
  // Compression is synchronous, so it can run inside the read transaction: the file is
  // one consistent snapshot even if another tab writes meanwhile.
  const write = (line: object) => {
    pending += JSON.stringify(line) + "\n";
    if (pending.length >= 1 << 16) {
      gzip.push(encoder.encode(pending));
      pending = "";
    }
  };

  await inTransaction(db, "r", [db.projects, db.notes, db.annotations], "reading the project", async () => {
    const project = await getProject(db, projectId);
    const noteIds = await listNoteIds(db, projectId);
    const annotationIds = await annotationsOfProject(db, projectId).primaryKeys();
    const header: HeaderLine = {
      format: PROJECT_FILE_FORMAT,
      version: PROJECT_FILE_VERSION,
      exportedAt: new Date().toISOString(),
      notes: noteIds.length,
      annotations: annotationIds.length,
    };
    write(header);
    const projectLine: ProjectLine = {
      kind: "project",
      name: project.name,
      language: project.language,
      schema: project.schema,
      createdAt: project.createdAt,
    };
    write(projectLine);
    // Rows are read a chunk at a time by key (not with a cursor): memory stays at one chunk.
    const writeNotes = (notes: NoteRow[]) => {
      for (const note of notes) {
        const line: NoteLine = {
          kind: "note",
          id: note.id,
          externalId: note.externalId,
          text: note.text,
          hash: note.hash,
          split: note.split,
          sourceFile: note.sourceFile,
        };
        write(line);
      }
    };
    await readNotesInChunks(db, noteIds, writeNotes, EXPORT_CHUNK);
    for (let start = 0; start < annotationIds.length; start += EXPORT_CHUNK) {
      const chunk = annotationIds.slice(start, start + EXPORT_CHUNK);
      const annotations = (await db.annotations.bulkGet(chunk)) as AnnotationRow[];
      for (const annotation of annotations) {
        const line: AnnotationLine = {
          kind: "annotation",
          noteId: annotation.noteId,
          origin: annotation.origin,
          runId: annotation.runId,
          spans: annotation.spans,
          updatedAt: annotation.updatedAt,
        };
        if (annotation.relations !== undefined) line.relations = annotation.relations;
        if (annotation.labels !== undefined) line.labels = annotation.labels;
        if (annotation.meta !== undefined) line.meta = annotation.meta;
        write(line);
      }
    }
  });
  gzip.push(encoder.encode(pending), true);
  return concat(chunks);
}

export interface ImportProjectOptions {
  /** Name for the new project; the exported name by default. */
  name?: string;
}

const SPLITS: readonly string[] = ["pool", "dev", "gold"];
const ORIGINS: readonly string[] = ["import", "llm", "human", "model"];
const BATCH_ROWS = 1000;
const EXPORT_CHUNK = 500;

/**
 * Reads a project file into a NEW project (new ids; note ids in annotations remapped) in
 * one transaction: a damaged file or a full disk leaves nothing behind.
 */
export async function importProjectFile(
  db: AppDatabase,
  bytes: Uint8Array,
  fileName: string,
  options: ImportProjectOptions = {},
): Promise<ProjectRow> {
  if (bytes.byteLength < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    throw new InputFileError(
      fileName,
      `is not a project file (expected a gzip-compressed ${PROJECT_FILE_EXTENSION} file exported by this app)`,
    );
  }
  return inTransaction(db, "rw", [db.projects, db.notes, db.annotations, db.imports], fileName, async () => {
    const now = Date.now();
    const importRow: ImportRow = {
      id: newId(),
      projectId: "",
      files: [fileName],
      notesAdded: 0,
      duplicates: 0,
      errors: [],
      startedAt: now,
      finishedAt: null,
    };
    let project: ProjectRow | undefined;
    const newNoteIds = new Map<number, number>();
    const hashes = new Set<string>();
    const noteLengths = new Map<number, number>(); // old note id -> text length, to check spans
    let sawHeader = false;
    let noteBatch: { oldId: number; row: Omit<NoteRow, "id"> }[] = [];
    let annotationBatch: Omit<AnnotationRow, "id">[] = [];

    const flushNotes = async () => {
      const rows = noteBatch.map((item) => item.row) as NoteRow[];
      const ids = (await db.notes.bulkAdd(rows, { allKeys: true })) as number[];
      noteBatch.forEach((item, index) => newNoteIds.set(item.oldId, ids[index]));
      importRow.notesAdded += ids.length;
      noteBatch = [];
    };
    const flushAnnotations = async () => {
      await db.annotations.bulkAdd(annotationBatch as AnnotationRow[]);
      annotationBatch = [];
    };

    let lineNumber = 0;
    for (const text of gunzipLines(bytes, fileName)) {
      lineNumber++;
      if (text.trim() === "") continue;
      const fail = (problem: string) => new InputFileError(fileName, problem, lineNumber);
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text);
      } catch {
        throw fail(sawHeader ? "is not valid JSON" : "is not a project file (the first line is not JSON)");
      }
      if (typeof line !== "object" || line === null || Array.isArray(line)) throw fail("is not a JSON object");

      if (!sawHeader) {
        sawHeader = true;
        if (line.format !== PROJECT_FILE_FORMAT) {
          throw fail(`is not a project file (the header should name the format "${PROJECT_FILE_FORMAT}")`);
        }
        if (typeof line.version !== "number" || line.version > PROJECT_FILE_VERSION) {
          throw fail(
            `was written by a newer version of the app (format version ${String(line.version)}; ` +
              `this app reads up to ${PROJECT_FILE_VERSION})`,
          );
        }
        continue;
      }

      switch (line.kind) {
        case "project": {
          if (project) throw fail("holds a second project; a project file holds one");
          if (typeof line.name !== "string" || typeof line.language !== "string" || !isSchema(line.schema)) {
            throw fail("the project needs a name, a language and a schema");
          }
          const [problem] = schemaProblems(line.schema);
          if (problem) throw fail(`the project's schema is not usable: ${problem.message}`);
          project = {
            id: newId(),
            name: options.name ?? line.name,
            language: line.language,
            schema: line.schema,
            createdAt: now,
            updatedAt: now,
          };
          importRow.projectId = project.id;
          await db.projects.add(project);
          break;
        }
        case "note": {
          if (!project) throw fail("a note comes before the project line");
          const note = line as unknown as NoteLine;
          if (
            typeof note.id !== "number" ||
            typeof note.externalId !== "string" ||
            typeof note.text !== "string" ||
            typeof note.sourceFile !== "string" ||
            !SPLITS.includes(note.split)
          ) {
            throw fail("a note needs id, externalId, text, hash, sourceFile and a split (pool, dev or gold)");
          }
          if (noteLengths.has(note.id)) throw fail(`note id ${note.id} appears twice`);
          noteLengths.set(note.id, note.text.length);
          // The hash is computed again: an edited backup must not break de-duplication.
          const hash = contentHash(note.text);
          if (hashes.has(hash)) throw fail(`note "${note.externalId}" repeats the text of an earlier note`);
          hashes.add(hash);
          noteBatch.push({
            oldId: note.id,
            row: {
              projectId: project.id,
              externalId: note.externalId,
              text: note.text,
              hash,
              split: note.split,
              sourceFile: note.sourceFile,
              importId: importRow.id,
              createdAt: now,
            },
          });
          if (noteBatch.length >= BATCH_ROWS) await flushNotes();
          break;
        }
        case "annotation": {
          if (!project) throw fail("an annotation comes before the project line");
          // Only await real work: a Dexie transaction survives awaits of its own requests,
          // not long chains of awaits that issue none (it would commit under us).
          if (noteBatch.length > 0) await flushNotes();
          const annotation = line as unknown as AnnotationLine;
          if (
            typeof annotation.noteId !== "number" ||
            !ORIGINS.includes(annotation.origin) ||
            typeof annotation.runId !== "string" ||
            !Array.isArray(annotation.spans)
          ) {
            throw fail("an annotation needs noteId, origin (import, llm, human or model), runId and spans");
          }
          const noteId = newNoteIds.get(annotation.noteId);
          if (noteId === undefined) {
            throw fail(`an annotation refers to note ${annotation.noteId}, which is not in the file`);
          }
          const length = noteLengths.get(annotation.noteId)!;
          annotation.spans.forEach((span: Partial<Span>, index) => {
            const { start, end, type } = span ?? {};
            if (!Number.isInteger(start) || !Number.isInteger(end) || typeof type !== "string" || type === "") {
              throw fail(`span ${index + 1} of an annotation of note ${annotation.noteId} needs whole-number start and end and a type`);
            }
            if (start! < 0 || start! >= end! || end! > length) {
              throw fail(`span ${index + 1} (${start}–${end}) of an annotation of note ${annotation.noteId} is not inside its ${length} characters`);
            }
          });
          const problem = relationsAndLabelsProblem(annotation);
          if (problem) throw fail(`an annotation of note ${annotation.noteId}: ${problem}`);
          const row: Omit<AnnotationRow, "id"> = {
            projectId: project.id,
            noteId,
            origin: annotation.origin,
            runId: annotation.runId,
            spans: annotation.spans,
            updatedAt: typeof annotation.updatedAt === "number" ? annotation.updatedAt : now,
          };
          if (annotation.relations !== undefined) row.relations = annotation.relations;
          if (annotation.labels !== undefined) row.labels = annotation.labels;
          if (annotation.meta !== undefined) row.meta = annotation.meta;
          annotationBatch.push(row);
          if (annotationBatch.length >= BATCH_ROWS) await flushAnnotations();
          break;
        }
        default:
          throw fail(`has an unknown kind ${JSON.stringify(line.kind)}`);
      }
    }
    if (!sawHeader) throw new InputFileError(fileName, "is empty: it holds no project");
    if (!project) throw new InputFileError(fileName, "holds no project line");
    if (noteBatch.length > 0) await flushNotes();
    if (annotationBatch.length > 0) await flushAnnotations();
    importRow.finishedAt = Date.now();
    await db.imports.add(importRow);
    return project;
  });
}

/** The decompressed file, line by line, decompressing a slice at a time. */
function* gunzipLines(bytes: Uint8Array, fileName: string): Generator<string> {
  const STEP = 1 << 18;
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let carry = "";
  let ready: string[] = [];
  const gunzip = new Gunzip((chunk, final) => {
    const parts = (carry + decoder.decode(chunk, { stream: !final })).split("\n");
    carry = parts.pop() ?? "";
    for (const part of parts) ready.push(part);
    if (final && carry !== "") {
      ready.push(carry);
      carry = "";
    }
  });
  for (let offset = 0; offset < bytes.byteLength; offset += STEP) {
    try {
      gunzip.push(bytes.subarray(offset, offset + STEP), offset + STEP >= bytes.byteLength);
    } catch (error) {
      throw new InputFileError(fileName, `is damaged or not a project file (${(error as Error).message})`);
    }
    const lines = ready;
    ready = [];
    yield* lines;
  }
}

/** Relations must point at spans of their own annotation, and labels map names to lists of values. */
function relationsAndLabelsProblem({ spans, relations, labels }: AnnotationLine): string | undefined {
  if (relations !== undefined) {
    if (!Array.isArray(relations)) return "relations is not a list";
    const isSpanIndex = (index: unknown) => Number.isInteger(index) && (index as number) >= 0 && (index as number) < spans.length;
    const bad = relations.findIndex((r) => typeof r?.type !== "string" || !isSpanIndex(r.from) || !isSpanIndex(r.to));
    if (bad >= 0) return `relation ${bad + 1} needs a type and from/to indexes into its ${spans.length} spans`;
  }
  if (labels !== undefined) {
    if (typeof labels !== "object" || labels === null || Array.isArray(labels)) return "labels is not an object";
    const bad = Object.entries(labels).find(([, values]) => !Array.isArray(values) || values.some((v) => typeof v !== "string"));
    if (bad) return `label "${bad[0]}" is not a list of values`;
  }
  return undefined;
}

function isSchema(value: unknown): value is TaskSchema {
  if (typeof value !== "object" || value === null) return false;
  const schema = value as Partial<TaskSchema>;
  return (
    Array.isArray(schema.entityTypes) &&
    Array.isArray(schema.relationTypes) &&
    Array.isArray(schema.documentLabels) &&
    typeof schema.guideline === "string"
  );
}

function concat(chunks: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const chunk of chunks) length += chunk.byteLength;
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined;
}
