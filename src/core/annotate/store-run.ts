// An annotation run against the store: what a run is (its record), how it walks the
// project's notes, where each result goes, and how a run is checked against gold.
//
// Choices:
// - A run annotates the project's POOL notes only. Gold and dev notes are never sent to
//   an annotator by a pool run: they are not in the note list it reads.
// - Every result is written as soon as its note is done, with origin "llm" whatever the
//   backend (LLM, term lists, or the source model for a self-training baseline): all are
//   the annotate step's machine annotations, which training reads as its "LLM" source; the
//   run's config names the backend. (Origin "model" is the Extract step's output.) The row's
//   runId is the run's id, so `noteIdsDoneByRun` tells a resumed run what to skip, and the
//   [noteId+origin+runId] upsert means a note done twice still has one row.
// - Failures (note id -> error) live in the run's progress record, written at once, so the
//   failed list and its retry button survive a reload.
// - Gold check: the SAME backend and prompt run on the gold notes as a separate run
//   (purpose "gold-check", split "gold", its own run id), and F1 per type compares those
//   annotations with the gold spans; where the schema has them, attribute, relation and
//   document-label scores too (src/core/eval). Its rows are never training data: training
//   reads pool runs, and the rows are on gold notes. The pool run's own output cannot be
//   scored, since pool notes have no gold.
// - Rows carry the annotator's relations (indexes into the row's spans) when the schema has
//   relation types, and its labels when it has document labels; relations the annotator gave
//   but that could not be placed are listed in the row's meta (unplacedRelations).

import type { Span } from "../corpus/types.ts";
import { AppError, toErrorData, type ErrorData } from "../errors.ts";
import { attributeMetrics, type AttributeScores } from "../eval/attribute-metrics.ts";
import { labelMetrics, type LabelScores } from "../eval/label-metrics.ts";
import { relationMetrics, type RelationMetrics } from "../eval/relation-metrics.ts";
import { spanMetrics, type Scores } from "../eval/span-metrics.ts";
import type { TaskSchema } from "../schema/types.ts";
import {
  annotationsOfNote,
  annotationsOfRun,
  createRun,
  findNotes,
  getNotes,
  getProject,
  getRun,
  listNoteIds,
  noteIdsDoneByRun,
  putAnnotation,
  updateRun,
  type AnnotationOrigin,
  type AnnotationRow,
  type AppDatabase,
  type RunRow,
  type RunStatus,
  type Split,
} from "../store/index.ts";
import { annotateNote, type AnnotatorBackend, type LlmOptions, type NoteAnnotation, type NoteInput } from "./annotator.ts";
import { openAiEndpoint, type ChatEngine } from "./chat.ts";
import { EngineLostError } from "./errors.ts";
import { CONSTRAINED_FORMAT, DEFAULT_FORMAT, SCHEMA_FORMAT, type FormatName } from "./format.ts";
import { evaluationNoteIds, fewShotExamples } from "./examples.ts";
import { promptHash, type FewShotExample } from "./prompt.ts";
import { runAnnotation, type PauseControl, type RunProgress, type RunSummary } from "./run.ts";
import type { TermList } from "./terms.ts";

export type BackendConfig =
  | { kind: "webllm"; modelId: string; weightsBaseUrl: string; libsBaseUrl: string }
  /** `consentedUrl` is the address the user agreed to send note text to; it must equal `url`. */
  | {
      kind: "endpoint";
      url: string;
      model: string;
      consentedUrl: string;
      consentedAt: number;
      /** The server holds answers to a JSON schema (structured output: vLLM, llama.cpp, OpenAI): ask for grouped-json with its schema. */
      structured?: boolean;
    }
  | { kind: "terms"; lists: TermList[] }
  /** The source model's own predictions as labels (self-training); `model` is its name, for provenance. */
  | { kind: "model"; modelId: string; model: string };

export interface AnnotateRunConfig {
  purpose: "pool" | "gold-check";
  split: Split;
  backend: BackendConfig;
  origin: AnnotationOrigin;
  format: FormatName;
  /** Decoding held to the format's grammar (WebLLM); absent for runs that send none. */
  grammar?: boolean;
  /** Ids of the pool notes shown to the model as few-shot examples; a run does not annotate them. */
  examples?: number[];
  /** Hash of the prompt template (schema, guideline, format); absent for term lists. */
  promptHash?: string;
  parameters: Pick<LlmOptions, "temperature" | "samples" | "threshold" | "seed" | "maxTokens" | "chunkChars">;
  /** For a gold check: the pool run whose backend it repeats. */
  checks?: string;
}

export interface AnnotateRunProgress {
  done: number;
  total: number;
  failed: number;
  tokensPerSecond: number;
  etaSeconds?: number;
  /** Note id -> why it failed; a retry that succeeds removes the entry. */
  failures: Record<string, ErrorData>;
}

export class ConsentError extends AppError {
  override name = "ConsentError";
}

/**
 * The format a backend is asked for, and whether its grammar goes along: WebLLM's decoding
 * is held to type-rows' grammar; a server with structured output to grouped-json's JSON
 * schema (servers spell grammars differently, JSON schemas alike); the cheapest lines,
 * unconstrained, otherwise.
 */
export function formatFor(backend: BackendConfig): { format: FormatName; grammar: boolean } {
  if (backend.kind === "webllm") return { format: CONSTRAINED_FORMAT, grammar: true };
  if (backend.kind === "endpoint" && backend.structured) return { format: SCHEMA_FORMAT, grammar: false };
  return { format: DEFAULT_FORMAT, grammar: false };
}

export interface RunConfigOptions {
  parameters?: AnnotateRunConfig["parameters"];
  purpose?: AnnotateRunConfig["purpose"];
  /** For a gold check: the pool run it repeats. */
  checks?: string;
  /** Few-shot examples for the prompt (pool notes with reviewed or imported annotations; examples.ts). */
  examples?: readonly FewShotExample[];
}

export function runConfig(schema: TaskSchema, backend: BackendConfig, options: RunConfigOptions = {}): AnnotateRunConfig {
  if (backend.kind === "endpoint") assertConsent(backend);
  const purpose = options.purpose ?? "pool";
  const { format, grammar } = formatFor(backend);
  const llm = backend.kind === "webllm" || backend.kind === "endpoint";
  const examples = llm ? (options.examples ?? []) : [];
  return {
    purpose,
    split: purpose === "pool" ? "pool" : "gold",
    backend,
    origin: "llm",
    format,
    ...(grammar ? { grammar } : {}),
    ...(examples.length > 0 ? { examples: examples.map((example) => Number(example.id)) } : {}),
    ...(llm ? { promptHash: promptHash({ schema, format, grammar, examples }) } : {}),
    parameters: options.parameters ?? {},
    ...(options.checks ? { checks: options.checks } : {}),
  };
}

export function assertConsent(backend: Extract<BackendConfig, { kind: "endpoint" }>): void {
  if (!backend.consentedUrl || backend.consentedUrl !== backend.url) {
    throw new ConsentError(`Note text is sent to ${backend.url} only after you agree to it: tick the box that names this address.`);
  }
}

export async function createAnnotationRun(db: AppDatabase, projectId: string, config: AnnotateRunConfig): Promise<RunRow> {
  const examples = new Set(config.examples ?? []);
  const total = (await listNoteIds(db, projectId, config.split)).filter((id) => !examples.has(id)).length;
  const progress: AnnotateRunProgress = { done: 0, total, failed: 0, tokensPerSecond: 0, failures: {} };
  return createRun(db, { projectId, kind: "annotate", config, progress });
}

export interface BackendDeps {
  /** The loaded WebLLM model, if any, and its context window where its record gives one. */
  localModel?: { modelId: string; engine: ChatEngine; contextTokens?: number };
  /** Kept in memory only: never written to the run record. */
  apiKey?: string;
  fetch?: typeof fetch;
  /** Runs a stored model on one note's text (in the inference worker, in the app). */
  predictWithModel?: (modelId: string, text: string) => Promise<Span[]>;
}

/** The annotator backend a run's config describes. Refuses an endpoint without consent for its exact URL. */
export function backendFor(config: AnnotateRunConfig, deps: BackendDeps): AnnotatorBackend {
  const backend = config.backend;
  const llmOptions: LlmOptions = { ...config.parameters };
  switch (backend.kind) {
    case "terms":
      return { kind: "terms", lists: backend.lists };
    case "endpoint":
      assertConsent(backend);
      return {
        kind: "llm",
        engine: openAiEndpoint(backend.url, { model: backend.model, apiKey: deps.apiKey || undefined, fetch: deps.fetch }),
        options: llmOptions,
      };
    case "webllm":
      if (deps.localModel?.modelId !== backend.modelId) throw new AppError(`Load ${backend.modelId} before running.`);
      return { kind: "llm", engine: deps.localModel.engine, options: { ...llmOptions, contextTokens: deps.localModel.contextTokens } };
    case "model": {
      const predict = deps.predictWithModel;
      if (!predict) throw new AppError(`No way to run the model "${backend.model}" here.`);
      return { kind: "model", predict: (text) => predict(backend.modelId, text) };
    }
  }
}

function progressOf(run: RunRow): AnnotateRunProgress {
  const stored = run.progress as Partial<AnnotateRunProgress> | null;
  return { done: 0, total: 0, failed: 0, tokensPerSecond: 0, ...stored, failures: { ...(stored?.failures ?? {}) } };
}

export function runProgress(run: RunRow): AnnotateRunProgress {
  return progressOf(run);
}

export interface StoredRunOptions {
  db: AppDatabase;
  runId: string;
  schema: TaskSchema;
  backend: AnnotatorBackend;
  signal?: AbortSignal;
  pause?: PauseControl;
  onProgress?: (progress: AnnotateRunProgress, noteId?: number) => void;
  /** Only these notes (a retry of failures). */
  only?: ReadonlySet<number>;
  /** Notes read per database request. */
  batch?: number;
}

function plainSpans(result: NoteAnnotation): Span[] {
  return result.spans.map(({ start, end, type, confidence, attributes }) => ({
    start,
    end,
    type,
    ...(confidence !== undefined ? { confidence } : {}),
    ...(attributes && Object.keys(attributes).length > 0 ? { attributes: { ...attributes } } : {}),
  }));
}

function rawText(result: NoteAnnotation): string | undefined {
  if (result.raw.length === 0) return undefined;
  return result.raw.length === 1 ? result.raw[0].content : JSON.stringify(result.raw);
}

/**
 * Runs (or resumes) a stored run: notes already written by this run are skipped, each
 * result is stored as it comes, failures go to the run record. Returns the run's summary.
 */
export async function runStored(options: StoredRunOptions): Promise<RunSummary> {
  const { db, runId } = options;
  const run = await getRun(db, runId);
  const config = run.config as AnnotateRunConfig;
  const done = await noteIdsDoneByRun(db, runId);
  // The examples' notes: read now (a note moved to gold or dev since is refused), and not annotated by the run.
  const exampleIds = new Set(config.examples ?? []);
  const examples = exampleIds.size > 0 ? await fewShotExamples(db, [...exampleIds]) : undefined;
  const forbiddenIds = examples ? await evaluationNoteIds(db, run.projectId) : undefined;
  const allIds = (await listNoteIds(db, run.projectId, config.split)).filter((id) => !exampleIds.has(id));
  const ids = options.only ? allIds.filter((id) => options.only!.has(id)) : allIds;
  const progress = progressOf(run);
  progress.total = allIds.length;
  progress.done = allIds.filter((id) => done.has(id)).length;
  const batch = options.batch ?? 20;

  async function* notes(): AsyncIterable<NoteInput> {
    for (let at = 0; at < ids.length; at += batch) {
      // Skip done notes without reading their text.
      const todo = ids.slice(at, at + batch).filter((id) => !done.has(id));
      if (todo.length === 0) continue;
      for (const note of await getNotes(db, todo)) yield { id: String(note.id), text: note.text };
    }
  }

  // Once per note (after it is stored or failed): cheap next to an LLM call, and a reload
  // then finds the record within one note of the rows.
  const persist = (status?: RunStatus) =>
    updateRun(db, runId, { progress: { ...progress, failures: { ...progress.failures } }, ...(status ? { status } : {}) });
  await persist("running");

  const runOptions = {
    notes: notes(),
    annotate: (note: NoteInput, signal?: AbortSignal) =>
      annotateNote(note, { schema: options.schema, backend: options.backend, signal, format: config.format, grammar: config.grammar, examples, forbiddenIds }),
    // The generator skips done notes; this catches a note written meanwhile (another tab).
    isDone: (id: string) => done.has(Number(id)),
    save: async (id: string, result: NoteAnnotation) => {
      const noteId = Number(id);
      const unplaced = result.unplaced.map((item) => `${item.mention.type}: ${item.mention.text}`);
      const unplacedRelations = result.unplacedRelations.map((item) => `${item.type}: ${item.from} -> ${item.to} (${item.reason})`);
      const raw = rawText(result);
      await putAnnotation(db, {
        noteId,
        origin: config.origin,
        runId,
        spans: plainSpans(result),
        ...(options.schema.relationTypes.length > 0 ? { relations: result.relations.map((relation) => ({ ...relation })) } : {}),
        ...(options.schema.documentLabels.length > 0 ? { labels: result.labels } : {}),
        meta: { ...(raw !== undefined ? { raw } : {}), ...(unplaced.length ? { unplaced } : {}), ...(unplacedRelations.length ? { unplacedRelations } : {}) },
      });
      done.add(noteId);
      progress.done++;
      if (progress.failures[id]) {
        delete progress.failures[id];
        progress.failed = Object.keys(progress.failures).length;
        await persist();
      }
    },
    saveFailure: async (id: string, error: ErrorData) => {
      progress.failures[id] = error;
      progress.failed = Object.keys(progress.failures).length;
      await persist();
    },
    tokensOf: (result: NoteAnnotation) => result.usage.completionTokens,
    signal: options.signal,
    pause: options.pause,
    onProgress: (step: RunProgress) => {
      progress.tokensPerSecond = step.tokensPerSecond;
      progress.etaSeconds = step.etaSeconds;
      options.onProgress?.({ ...progress, failures: { ...progress.failures } }, step.noteId === undefined ? undefined : Number(step.noteId));
      void persist().catch(() => undefined);
    },
  };

  let summary: RunSummary;
  try {
    // Done notes never reach the loop, so its total (for time left) is what is left to do.
    summary = await runAnnotation({ ...runOptions, total: ids.filter((id) => !done.has(id)).length });
  } catch (error) {
    // A storage failure (disk full) stops the run, a lost engine pauses it (it resumes once
    // the model is back); the notes saved so far stay either way.
    const status: RunStatus = error instanceof EngineLostError ? "paused" : "failed";
    await updateRun(db, runId, { status, progress: { ...progress, error: toErrorData(error) } }).catch(() => undefined);
    throw error;
  }
  const finished = !summary.cancelled && progress.done + progress.failed >= progress.total;
  await persist(summary.cancelled ? "cancelled" : finished ? "done" : "paused");
  return summary;
}

// --- What a run could not place ------------------------------------------------------------

/** One note's mentions and relations that the annotator gave but that are not in its row. */
export interface UnplacedOfNote {
  noteId: number;
  externalId: string;
  /** "type: words", as the row's meta lists them. */
  mentions: string[];
  /** "type: from -> to (why)". */
  relations: string[];
}

export interface RunUnplaced {
  mentions: number;
  relations: number;
  /** Notes with anything unplaced, in note id order. */
  notes: UnplacedOfNote[];
}

/** The run's unplaced mentions and relations, per note, from its rows' meta. */
export async function unplacedOfRun(db: AppDatabase, runId: string): Promise<RunUnplaced> {
  const rows = await annotationsOfRun(db, runId, (row) => (row.meta?.unplaced?.length ?? 0) + (row.meta?.unplacedRelations?.length ?? 0) > 0);
  rows.sort((a, b) => a.noteId - b.noteId);
  const names = new Map((await findNotes(db, rows.map((row) => row.noteId))).map((note) => [note.id, note.externalId]));
  const notes = rows.map((row) => ({
    noteId: row.noteId,
    externalId: names.get(row.noteId) ?? String(row.noteId),
    mentions: row.meta?.unplaced ?? [],
    relations: row.meta?.unplacedRelations ?? [],
  }));
  const count = (pick: (note: UnplacedOfNote) => string[]) => notes.reduce((sum, note) => sum + pick(note).length, 0);
  return { mentions: count((note) => note.mentions), relations: count((note) => note.relations), notes };
}

// --- Gold check --------------------------------------------------------------------------

export interface GoldCheck {
  /** Gold notes that have both reference spans and the check run's spans. */
  notes: number;
  perType: Record<string, Scores>;
  micro: Scores;
  types: string[];
  /** Per attribute name, when the schema's entity types have attributes. */
  attributes?: Record<string, AttributeScores>;
  /** Strict relation scores, when the schema has relation types. */
  relations?: RelationMetrics;
  /** Per document label, when the schema has labels (over the gold notes that give the label). */
  labels?: Record<string, LabelScores>;
}

/**
 * F1 per type of a gold-check run against the gold spans: for each gold note, the latest
 * "human" annotation if there is one, else the imported one. Attributes, relations and
 * labels are scored on the same notes, against the same reference rows.
 */
export async function goldCheck(db: AppDatabase, projectId: string, checkRunId: string): Promise<GoldCheck> {
  const schema = (await getProject(db, projectId)).schema;
  const goldIds = await listNoteIds(db, projectId, "gold");
  const pairs: { gold: AnnotationRow; pred: AnnotationRow }[] = [];
  for (const noteId of goldIds) {
    const rows = await annotationsOfNote(db, noteId).toArray();
    const pred = rows.find((row) => row.runId === checkRunId);
    const reference =
      latest(rows.filter((row) => row.origin === "human")) ?? latest(rows.filter((row) => row.origin === "import" && row.runId === ""));
    if (pred && reference) pairs.push({ gold: reference, pred });
  }
  const spanPairs = pairs.map(({ gold, pred }) => ({ gold: gold.spans, pred: pred.spans }));
  const metrics = spanMetrics(spanPairs);
  const check: GoldCheck = { notes: pairs.length, perType: metrics.strict.perType, micro: metrics.strict.micro, types: metrics.types };
  if (schema.entityTypes.some((type) => (type.attributes ?? []).length > 0)) check.attributes = attributeMetrics(spanPairs, schema.entityTypes);
  if (schema.relationTypes.length > 0) {
    const side = (row: AnnotationRow) => ({ spans: row.spans, relations: row.relations ?? [] });
    check.relations = relationMetrics(pairs.map(({ gold, pred }) => ({ gold: side(gold), pred: side(pred) })), schema.relationTypes);
  }
  if (schema.documentLabels.length > 0) {
    check.labels = labelMetrics(pairs.map(({ gold, pred }) => ({ gold: gold.labels ?? {}, pred: pred.labels ?? {} })), schema.documentLabels);
  }
  return check;
}

function latest<T extends { updatedAt: number }>(rows: T[]): T | undefined {
  return rows.reduce<T | undefined>((best, row) => (!best || row.updatedAt >= best.updatedAt ? row : best), undefined);
}

/** How many gold notes have reference annotations (the check is offered only when some do). */
export async function goldNotesWithSpans(db: AppDatabase, projectId: string): Promise<number> {
  let count = 0;
  for (const noteId of await listNoteIds(db, projectId, "gold")) {
    const rows = await annotationsOfNote(db, noteId).toArray();
    if (rows.some((row) => row.origin === "human" || (row.origin === "import" && row.runId === ""))) count++;
  }
  return count;
}
