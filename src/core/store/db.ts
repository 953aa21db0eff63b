// The one place that knows Dexie. Every other module reaches IndexedDB through the
// functions in src/core/store/, which take an AppDatabase as their first argument so a
// test (or a worker) can open its own database by name.

import { Dexie, type EntityTable, type Table } from "dexie";
import type { DocumentLabels, Relation, Span } from "../corpus/types.ts";
import type { ErrorData } from "../errors.ts";
import { AppError, StorageFullError } from "../errors.ts";
import type { TaskSchema } from "../schema/types.ts";

export type Split = "pool" | "dev" | "gold";
export type AnnotationOrigin = "import" | "llm" | "human" | "model";
export type ModelKind = "demo" | "uploaded" | "trained";
export type RunKind = "annotate" | "train" | "infer" | "curve";
export type RunStatus = "pending" | "running" | "paused" | "done" | "failed" | "cancelled";

/** Timestamps are milliseconds since the epoch (Date.now()): cheap to index and sort. */
export type Millis = number;

export interface ProjectRow {
  id: string;
  name: string;
  /** BCP 47 tag of the notes' language, e.g. "ja" or "en". */
  language: string;
  schema: TaskSchema;
  createdAt: Millis;
  updatedAt: Millis;
}

export interface NoteRow {
  id: number;
  projectId: string;
  externalId: string;
  text: string;
  /** Content hash of `text`; unique within a project, which is how imports de-duplicate. */
  hash: string;
  split: Split;
  sourceFile: string;
  importId: string;
  createdAt: Millis;
}

export interface AnnotationMeta {
  /** The annotator's raw output (an LLM reply), kept for review and re-parsing. */
  raw?: string;
  /** Mentions the annotator gave that could not be placed in the text. */
  unplaced?: string[];
  /** Relations the annotator gave that are not in `relations`, each "type: from -> to (why)". */
  unplacedRelations?: string[];
  /** On a person's review (origin "human"): who reviewed, where each span came from, what was turned down. */
  review?: ReviewMeta;
}

/** One annotator's word on a span: the run that proposed it and how sure it was. */
export interface SpanSource {
  origin: AnnotationOrigin;
  runId: string;
  confidence?: number;
}

/**
 * A review, kept in the meta of its human row so rows written before reviews existed stay
 * valid (they read as an unnamed reviewer). The row's runId is `review:<reviewer>`, so two
 * reviewers of one note have two rows under the same [noteId+origin+runId] key: no index changes.
 */
export interface ReviewMeta {
  reviewer: string;
  /** Per span of the row, in order: the annotators that proposed it ([] for a span the reviewer added). */
  provenance: { sources: SpanSource[]; retypedFrom?: string }[];
  /** Candidate spans the reviewer rejected (and the old type of a retyped one), so a reload shows them as decided. */
  rejected: Span[];
  /**
   * Candidate relations the reviewer rejected, each end named by its candidate span (the
   * type before any retype): relations index a row's spans, and a rejected relation's ends
   * may be in no list of this row. Absent when none.
   */
  rejectedRelations?: RejectedRelation[];
}

/** A candidate relation a reviewer turned down, by its type and its two candidate spans. */
export interface RejectedRelation {
  type: string;
  from: Span;
  to: Span;
}

/** One row per (note, origin, runId): a run writes each note as it finishes, so it can resume. */
export interface AnnotationRow {
  id: number;
  projectId: string;
  noteId: number;
  origin: AnnotationOrigin;
  /** The run that produced the spans; "" when none (imported or hand-made). */
  runId: string;
  spans: Span[];
  /** Relations between this row's spans (indexes into `spans`). */
  relations?: Relation[];
  /** The note's document labels, where the annotator gave them. */
  labels?: DocumentLabels;
  updatedAt: Millis;
  meta?: AnnotationMeta;
}

export interface ImportRow {
  id: string;
  projectId: string;
  files: string[];
  notesAdded: number;
  duplicates: number;
  errors: ErrorData[];
  startedAt: Millis;
  finishedAt: Millis | null;
}

export interface ModelFileInfo {
  byteLength: number;
  chunkCount: number;
}

export interface ModelRow {
  id: string;
  /** Absent for models that belong to no project (the demo, an upload kept for reuse). */
  projectId?: string;
  name: string;
  kind: ModelKind;
  /** The model's config.json (or our own description of it), as parsed JSON. */
  config: unknown;
  labels: string[];
  createdAt: Millis;
  /** Totals over `files`. */
  byteLength: number;
  chunkCount: number;
  /** Per stored file (model.onnx, tokenizer.json, ...): its size and how many chunks hold it. */
  files: Record<string, ModelFileInfo>;
}

/** A slice of a model file. The bytes are never indexed: only the compound key is. */
export interface ModelChunkRow {
  modelId: string;
  fileName: string;
  index: number;
  bytes: Uint8Array;
}

export interface RunRow {
  id: string;
  projectId: string;
  kind: RunKind;
  status: RunStatus;
  config: unknown;
  progress: unknown;
  createdAt: Millis;
  updatedAt: Millis;
}

export interface EvaluationRow {
  id: number;
  projectId: string;
  runId: string;
  modelId: string;
  metrics: unknown;
  createdAt: Millis;
}

export const DEFAULT_DATABASE_NAME = "clinical-adapt";

export class AppDatabase extends Dexie {
  projects!: EntityTable<ProjectRow, "id">;
  notes!: EntityTable<NoteRow, "id">;
  annotations!: EntityTable<AnnotationRow, "id">;
  imports!: EntityTable<ImportRow, "id">;
  models!: EntityTable<ModelRow, "id">;
  modelChunks!: Table<ModelChunkRow, [string, string, number]>;
  runs!: EntityTable<RunRow, "id">;
  evaluations!: EntityTable<EvaluationRow, "id">;

  constructor(name: string = DEFAULT_DATABASE_NAME) {
    super(name, { chromeTransactionDurability: "relaxed" });
    // Only indexed properties are listed; the rest of each row is stored as is.
    // `&` marks a unique index, `++` an auto-incremented primary key, `[a+b]` a compound index.
    this.version(1).stores({
      projects: "id, updatedAt",
      notes: "++id, &[projectId+hash], [projectId+split]",
      annotations: "++id, &[noteId+origin+runId], [projectId+origin], runId",
      imports: "id, projectId",
      models: "id, projectId",
      modelChunks: "[modelId+fileName+index]",
      runs: "id, projectId",
      evaluations: "++id, projectId, runId, modelId",
    });
    // To change the schema later, keep version(1) as it is and add, below it:
    //
    //   this.version(2)
    //     .stores({ notes: "++id, &[projectId+hash], [projectId+split], newIndex" })
    //     .upgrade(async (tx) => {
    //       await tx.table("notes").toCollection().modify((note) => { note.newField ??= defaultValue; });
    //     });
    //
    // `stores` in version 2 lists only the tables whose indexes change (null deletes a
    // table); the upgrade runs once, in one transaction, when a browser with version 1
    // opens the app. Never edit a version that has shipped.
  }
}

/** Opens (creating when needed) the app's database. Tests pass a fresh name each time. */
/**
 * Rows of one project (or one note) through a compound index that starts with its id.
 * Notes and annotations have no index of their own on projectId or noteId: every index
 * costs each insert, and an import writes tens of thousands of rows. The range runs from
 * [id] (shorter arrays sort first) to [id, maxKey]; a key may not hold the same array
 * twice, so maxKey appears once.
 */
export function notesOfProject(db: AppDatabase, projectId: string) {
  return db.notes.where("[projectId+split]").between([projectId], [projectId, Dexie.maxKey]);
}

export function annotationsOfProject(db: AppDatabase, projectId: string) {
  return db.annotations.where("[projectId+origin]").between([projectId], [projectId, Dexie.maxKey]);
}

export function annotationsOfNote(db: AppDatabase, noteId: number) {
  return db.annotations
    .where("[noteId+origin+runId]")
    .between([noteId], [noteId, Dexie.maxKey]);
}

export function openDatabase(name: string = DEFAULT_DATABASE_NAME): AppDatabase {
  return new AppDatabase(name);
}

export function newId(): string {
  return crypto.randomUUID();
}

/**
 * Whether an error (as IndexedDB, Dexie or a wrapper gives it) means the quota is
 * exhausted. Dexie may pass the DOMException through, map it to Dexie.QuotaExceededError,
 * or wrap it in an AbortError / BulkError whose `inner` or `failures` hold it.
 */
export function isQuotaError(error: unknown, depth = 0): boolean {
  if (depth > 5 || error === null || typeof error !== "object") return false;
  const candidate = error as {
    name?: unknown;
    inner?: unknown;
    cause?: unknown;
    failures?: unknown;
  };
  if (candidate.name === "QuotaExceededError" || candidate.name === Dexie.errnames.QuotaExceeded) return true;
  if (isQuotaError(candidate.inner, depth + 1) || isQuotaError(candidate.cause, depth + 1)) return true;
  if (Array.isArray(candidate.failures)) return candidate.failures.some((failure) => isQuotaError(failure, depth + 1));
  return false;
}

/**
 * Runs `work` (usually a Dexie transaction) and gives its errors their proper type:
 * a quota failure becomes a StorageFullError naming `what`, and one of our AppErrors
 * thrown inside a transaction comes out as itself (Dexie wraps errors whose names match
 * its own, e.g. NotFoundError, in a DexieError with the original as `inner`).
 */
export async function withStorageErrors<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const inner = (error as { inner?: unknown } | null)?.inner;
    if (!(error instanceof AppError) && inner instanceof AppError) throw inner;
    if (isQuotaError(error)) throw new StorageFullError(what, { cause: error });
    throw error;
  }
}

/** A Dexie transaction whose errors are typed as withStorageErrors describes. */
export function inTransaction<T>(
  db: AppDatabase,
  mode: "r" | "rw",
  tables: Table[],
  what: string,
  work: () => Promise<T>,
): Promise<T> {
  return withStorageErrors(what, () => db.transaction(mode, tables, work));
}
