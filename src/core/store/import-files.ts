// The import a user starts by dropping files: read, decode and parse them in batches, and
// store each batch in one transaction. Batches keep memory bounded (a batch's bytes are
// dropped once it is stored) and make 20,000 small files cost a few hundred transactions
// instead of 20,000. A file that cannot be parsed becomes an error and the others go on;
// when storage runs out, the batch is retried file by file so that only the files that
// did not fit are rolled back, each named in its own message.
import { parseFiles, type ParseFilesOptions, type FileSummary } from "../corpus/detect.ts";
import { contentHash } from "../corpus/hash.ts";
import { stripExtension } from "../corpus/file-names.ts";
import type { InputFile, ParsedNote } from "../corpus/types.ts";
import { CancelledError, InputFileError, StorageFullError, type ErrorData } from "../errors.ts";
import type { AppDatabase, Split } from "./db.ts";
import { beginImport, finishImport } from "./imports.ts";
import { importNotes, type DuplicateNote } from "./notes.ts";

/** A file not read yet: a browser File, or bytes a test or the demo made. */
export interface FileSource {
  name: string;
  size: number;
  read(): Promise<Uint8Array>;
}

export interface ImportProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  notesAdded: number;
  duplicates: number;
  errors: number;
  elapsedMs: number;
}

export interface ImportReport extends ImportProgress {
  importId: string;
  /** The first MAX_LISTED duplicates; `duplicates` counts them all. */
  duplicateList: DuplicateNote[];
  errorList: ErrorData[];
  warnings: string[];
  perFile: FileSummary[];
}

export interface ImportFilesOptions extends ParseFilesOptions {
  split?: Split;
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
  /** A batch closes when it holds this many bytes or files, whichever comes first. */
  batchBytes?: number;
  batchFiles?: number;
}

const MAX_LISTED = 1000;

export async function importFiles(
  db: AppDatabase,
  projectId: string,
  sources: FileSource[],
  options: ImportFilesOptions = {},
): Promise<ImportReport> {
  const started = performance.now();
  const record = await beginImport(db, projectId, sources.map((source) => source.name));
  const report: ImportReport = {
    importId: record.id,
    filesDone: 0,
    filesTotal: sources.length,
    bytesDone: 0,
    bytesTotal: sources.reduce((sum, source) => sum + source.size, 0),
    notesAdded: 0,
    duplicates: 0,
    errors: 0,
    elapsedMs: 0,
    duplicateList: [],
    errorList: [],
    warnings: [],
    perFile: [],
  };
  const progress = (): ImportProgress => {
    const { duplicateList, errorList, warnings, perFile, importId, ...counts } = report;
    return { ...counts, elapsedMs: performance.now() - started };
  };

  // While one batch is being stored, the next is read and parsed: IndexedDB works in the
  // browser's storage process, so the worker would otherwise sit idle.
  const parse = async (batch: FileSource[]) => {
    const unreadable: InputFileError[] = [];
    const files = await Promise.all(batch.map((source) => readSource(source, unreadable)));
    const parsed = parseFiles(files.filter((file): file is InputFile => file !== undefined), options);
    parsed.errors.push(...unreadable);
    return { batch, parsed };
  };
  const pending = batches(sources, options.batchBytes ?? 8 << 20, options.batchFiles ?? 2000);
  const nextParsed = () => {
    const { value, done } = pending.next();
    return done ? undefined : parse(value);
  };
  try {
    for (let next = nextParsed(); next !== undefined; ) {
      if (options.signal?.aborted) throw new CancelledError("import");
      const { batch, parsed } = await next;
      next = nextParsed();
      report.warnings.push(...parsed.warnings);
      report.perFile.push(...parsed.perFile);
      for (const error of parsed.errors) addError(report, error.toData());
      await storeBatch(db, projectId, report, parsed.notes, options.split);
      report.filesDone += batch.length;
      report.bytesDone += batch.reduce((sum, source) => sum + source.size, 0);
      options.onProgress?.(progress());
    }
  } finally {
    // Even a cancelled or failed import records what it stored and why it stopped.
    await finishImport(db, record.id, report.errorList);
  }
  report.elapsedMs = performance.now() - started;
  return report;
}

async function storeBatch(
  db: AppDatabase,
  projectId: string,
  report: ImportReport,
  notes: ParsedNote[],
  split: Split | undefined,
): Promise<void> {
  const hashed = notes.map((note) => ({ note, hash: contentHash(note.text) }));
  try {
    addResult(report, await importNotes(db, projectId, report.importId, hashed, { split }));
  } catch (error) {
    if (!(error instanceof StorageFullError)) throw error;
    const files = [...new Set(notes.map((note) => note.sourceFile))];
    if (files.length === 1) {
      addError(report, { ...error.toData(), file: files[0] });
      return;
    }
    for (const file of files) {
      await storeBatch(db, projectId, report, notes.filter((note) => note.sourceFile === file), split);
    }
  }
}

function addResult(report: ImportReport, result: Awaited<ReturnType<typeof importNotes>>): void {
  report.notesAdded += result.added;
  report.duplicates += result.duplicates.length;
  const room = MAX_LISTED - report.duplicateList.length;
  if (room > 0) report.duplicateList.push(...result.duplicates.slice(0, room));
}

function addError(report: ImportReport, error: ErrorData): void {
  report.errors += 1;
  if (report.errorList.length < MAX_LISTED) report.errorList.push(error);
}

/**
 * Groups sources into batches in name order, keeping a brat `.txt` with its `.ann`, so a
 * pair is always parsed together.
 */
function* batches(sources: FileSource[], maxBytes: number, maxFiles: number): Generator<FileSource[]> {
  const key = (source: FileSource) => `${stripExtension(source.name)}\u0000${source.name}`;
  const sorted = [...sources].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  let batch: FileSource[] = [];
  let bytes = 0;
  for (let index = 0; index < sorted.length; index++) {
    const source = sorted[index];
    const next = sorted[index + 1];
    batch.push(source);
    bytes += source.size;
    const pairContinues = next !== undefined && stripExtension(next.name) === stripExtension(source.name);
    if ((bytes >= maxBytes || batch.length >= maxFiles) && !pairContinues) {
      yield batch;
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * A dropped file can become unreadable before we get to it (moved, deleted, permission
 * withdrawn): that file gets an error naming it, and the others still import.
 */
async function readSource(source: FileSource, unreadable: InputFileError[]): Promise<InputFile | undefined> {
  try {
    return { name: source.name, bytes: await source.read() };
  } catch (error) {
    if (!(error instanceof Error) || !["NotReadableError", "NotFoundError", "SecurityError"].includes(error.name)) throw error;
    unreadable.push(new InputFileError(source.name, `could not be read (${error.message}); it may have been moved or deleted since it was dropped`));
    return undefined;
  }
}

/** A source over bytes already in memory (tests, the demo, fetched files). */
export function bytesSource(name: string, bytes: Uint8Array | string): FileSource {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  return { name, size: data.byteLength, read: async () => data };
}
