// Which notes a training run learns from and which it is scored on, read from the store.
//
// Choices:
// - Training notes are POOL notes only. Gold notes are the evaluation set and dev notes the
//   early-stopping set; neither is ever a training example, whatever the source chosen.
// - "llm": a note's latest machine annotation (origin "llm", any annotate run). "human": its
//   latest reference annotation (origin "human", else the one it was imported with).
//   "both": the human one where a note has it, else the LLM one (a person's word wins).
// - Dev: dev notes with reference spans. A project without any holds out every tenth
//   training note (at least one, when there are five or more) so early stopping still has
//   a signal; the screen says which it is.

import type { DocumentLabels, Relation, Span } from "../corpus/types.ts";
import { seededRandom } from "../eval/bootstrap.ts";
import type { AnnotationRow, AppDatabase, RunRow } from "../store/db.ts";
import { listAnnotations } from "../store/annotations.ts";
import { countNotes, listNoteIds } from "../store/notes.ts";
import { listRuns } from "../store/runs.ts";

export type TrainingSource = "llm" | "human" | "both";

export interface AnnotatorProvenance {
  runId: string;
  /** "endpoint", "webllm", "terms", or "human". */
  backend: string;
  /** The LLM's name (endpoint model or WebLLM model id) when there is one. */
  model?: string;
  promptHash?: string;
  notes: number;
}

export interface TrainingPlan {
  /** Pool notes whose annotation of the chosen source is used, in id order. */
  trainNoteIds: number[];
  /** Notes scored after each epoch. */
  devNoteIds: number[];
  devKind: "dev" | "held-out" | "none";
  counts: {
    poolNotes: number;
    llmNotes: number;
    humanNotes: number;
    goldNotesExcluded: number;
    devNotesExcluded: number;
    trainSpans: number;
  };
  annotators: AnnotatorProvenance[];
  /** Set when the run learns from a drawn subset of the training notes (counts describe the whole pool). */
  subset?: TrainingSubset & { of: number };
}

export interface TrainingSubset {
  limit: number;
  seed: number;
}

function latestByNote(rows: readonly AnnotationRow[], keep: (row: AnnotationRow) => boolean): Map<number, AnnotationRow> {
  const best = new Map<number, AnnotationRow>();
  for (const row of rows) {
    if (!keep(row)) continue;
    const current = best.get(row.noteId);
    if (!current || row.updatedAt > current.updatedAt || (row.updatedAt === current.updatedAt && row.id > current.id)) best.set(row.noteId, row);
  }
  return best;
}

/** Reference (human, else imported) and LLM annotations of a project's notes, latest per note. */
export async function latestAnnotations(db: AppDatabase, projectId: string): Promise<{ human: Map<number, AnnotationRow>; llm: Map<number, AnnotationRow> }> {
  const [humanRows, importRows, llmRows] = await Promise.all([
    listAnnotations(db, projectId, "human"),
    listAnnotations(db, projectId, "import"),
    listAnnotations(db, projectId, "llm"),
  ]);
  const human = latestByNote(importRows, (row) => row.runId === "");
  for (const [noteId, row] of latestByNote(humanRows, () => true)) human.set(noteId, row);
  return { human, llm: latestByNote(llmRows, () => true) };
}

/** The annotation a source takes for a note, if any. */
export function pickAnnotation(source: TrainingSource, human: AnnotationRow | undefined, llm: AnnotationRow | undefined): AnnotationRow | undefined {
  if (source === "human") return human;
  if (source === "llm") return llm;
  return human ?? llm;
}

export async function planTraining(db: AppDatabase, projectId: string, source: TrainingSource): Promise<TrainingPlan> {
  const [poolIds, devIds, goldCount, { human, llm }, runs] = await Promise.all([
    listNoteIds(db, projectId, "pool"),
    listNoteIds(db, projectId, "dev"),
    countNotes(db, projectId, { split: "gold" }),
    latestAnnotations(db, projectId),
    listRuns(db, projectId, "annotate"),
  ]);
  const used: number[] = [];
  const byRun = new Map<string, number>();
  let trainSpans = 0;
  for (const noteId of poolIds) {
    const row = pickAnnotation(source, human.get(noteId), llm.get(noteId));
    if (!row) continue;
    used.push(noteId);
    trainSpans += row.spans.length;
    const key = row.origin === "llm" ? row.runId : "human";
    byRun.set(key, (byRun.get(key) ?? 0) + 1);
  }
  let devNoteIds = devIds.filter((id) => human.has(id));
  let devKind: TrainingPlan["devKind"] = devNoteIds.length > 0 ? "dev" : "none";
  let trainNoteIds = used;
  if (devKind === "none" && used.length >= 5) {
    devNoteIds = used.filter((_, i) => i % 10 === 9 || (used.length < 10 && i === used.length - 1));
    const held = new Set(devNoteIds);
    trainNoteIds = used.filter((id) => !held.has(id));
    devKind = "held-out";
  }
  return {
    trainNoteIds,
    devNoteIds,
    devKind,
    counts: {
      poolNotes: poolIds.length,
      llmNotes: poolIds.filter((id) => llm.has(id)).length,
      humanNotes: poolIds.filter((id) => human.has(id)).length,
      goldNotesExcluded: goldCount,
      devNotesExcluded: devIds.length,
      trainSpans,
    },
    annotators: [...byRun].map(([runId, notes]) => annotatorOf(runId, notes, runs)),
  };
}

function annotatorOf(runId: string, notes: number, runs: readonly RunRow[]): AnnotatorProvenance {
  if (runId === "human") return { runId: "", backend: "human", notes };
  const config = runs.find((run) => run.id === runId)?.config as
    | { backend?: { kind: string; model?: string; modelId?: string }; promptHash?: string }
    | undefined;
  const backend = config?.backend;
  const model = backend?.model ?? backend?.modelId;
  return {
    runId,
    backend: backend?.kind ?? "unknown",
    ...(model ? { model } : {}),
    ...(config?.promptHash ? { promptHash: config.promptHash } : {}),
    notes,
  };
}

/**
 * The plan with only `limit` of its training notes, drawn by a seeded shuffle. One seed
 * shuffles one way whatever the limit, so a learning curve's smaller sets lie inside its
 * larger ones, as when an annotator goes on annotating. Dev notes stay as they are.
 */
export function subsetOfPlan(plan: TrainingPlan, subset: TrainingSubset | undefined): TrainingPlan {
  if (!subset) return plan;
  const order = [...plan.trainNoteIds];
  const random = seededRandom(subset.seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const trainNoteIds = order.slice(0, Math.max(0, subset.limit)).sort((a, b) => a - b);
  return { ...plan, trainNoteIds, subset: { ...subset, of: plan.trainNoteIds.length } };
}

/** A note with the annotation a source takes for it: spans, and the relations and document labels of the same row. */
export interface LabelledNote {
  noteId: number;
  text: string;
  spans: Span[];
  relations?: Relation[];
  labels?: DocumentLabels;
}

/** Text and annotations of the given notes under a source; dev notes take their reference annotations. */
export async function labelledNotes(
  db: AppDatabase,
  projectId: string,
  noteIds: readonly number[],
  source: TrainingSource | "reference",
): Promise<LabelledNote[]> {
  const { human, llm } = await latestAnnotations(db, projectId);
  const notes = await db.notes.bulkGet([...noteIds]);
  const out: LabelledNote[] = [];
  notes.forEach((note) => {
    if (!note) return;
    const row = source === "reference" ? human.get(note.id) : pickAnnotation(source, human.get(note.id), llm.get(note.id));
    out.push({ noteId: note.id, text: note.text, spans: row?.spans ?? [], ...(row?.relations ? { relations: row.relations } : {}), ...(row?.labels ? { labels: row.labels } : {}) });
  });
  return out;
}
