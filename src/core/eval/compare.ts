// Source model against adapted model on the gold notes: the numbers the Evaluate step
// shows. Both models predict every gold note; each is scored with spanMetrics (strict and
// lenient, micro and macro, per type), and the paired bootstrap over notes puts a 95%
// interval on the strict micro F1 difference (adapted − source). Errors are listed per
// model with their note id, so the screen can show them in the note's text.
//
// Gold spans are each gold note's reference annotation: its latest "human" one, else the
// one it was imported with (as the annotate step's gold check reads them). Gold notes
// without one are left out and counted.

import type { Span } from "../corpus/types.ts";
import { AppError, CancelledError } from "../errors.ts";
import { loadStoredPredictor } from "../model/predict-run.ts";
import type { Predictor } from "../model/predict.ts";
import type { AppDatabase } from "../store/db.ts";
import { getModel } from "../store/models.ts";
import { listNoteIds } from "../store/notes.ts";
import { latestAnnotations } from "../train/run-data.ts";
import { pairedBootstrap, type PairedBootstrapResult } from "./bootstrap.ts";
import { spanMetrics, type MatchScores, type SpanError, type SpanMetrics } from "./span-metrics.ts";

export interface GoldNote {
  noteId: number;
  text: string;
  gold: Span[];
}

export interface ModelScores {
  modelId: string;
  name: string;
  strict: MatchScores;
  lenient: MatchScores;
  errorCounts: { fp: Record<string, number>; fn: Record<string, number> };
}

export interface NoteError extends Omit<SpanError, "note"> {
  noteId: number;
}

export interface Comparison {
  goldNotes: number;
  /** Gold notes without reference spans, left out. */
  skipped: number;
  types: string[];
  source: ModelScores;
  adapted: ModelScores;
  /** Strict micro F1: adapted − source, with its paired-bootstrap interval. */
  difference: PairedBootstrapResult;
  errors: { source: NoteError[]; adapted: NoteError[] };
  /** Each model's spans per gold note, for display and for checking exports against. */
  predictions: { noteId: number; source: Span[]; adapted: Span[] }[];
  createdAt: number;
}

export interface ModelRef {
  modelId: string;
  name: string;
}

/** The comparison from predictions already made (pure: the tests call it directly). */
export function compareSpans(notes: readonly GoldNote[], source: ModelRef, adapted: ModelRef, sourcePred: Span[][], adaptedPred: Span[][], skipped = 0): Comparison {
  if (notes.length === 0) throw new AppError("There are no gold notes with reference spans: import or annotate a gold set first.");
  const score = (ref: ModelRef, pred: Span[][]) => {
    const metrics = spanMetrics(notes.map((note, i) => ({ gold: note.gold, pred: pred[i] })));
    const scores = modelScores(ref, metrics);
    const errors = metrics.errors.list.map(({ note, ...error }) => ({ ...error, noteId: notes[note].noteId }));
    return { scores, errors, types: metrics.types };
  };
  const a = score(source, sourcePred);
  const b = score(adapted, adaptedPred);
  const difference = pairedBootstrap(notes.map((note, i) => ({ gold: note.gold, baseline: sourcePred[i], candidate: adaptedPred[i] })), { samples: 1000, seed: 1 });
  return {
    goldNotes: notes.length,
    skipped,
    types: [...new Set([...a.types, ...b.types])].sort(),
    source: a.scores,
    adapted: b.scores,
    difference,
    errors: { source: a.errors, adapted: b.errors },
    predictions: notes.map((note, i) => ({ noteId: note.noteId, source: sourcePred[i], adapted: adaptedPred[i] })),
    createdAt: Date.now(),
  };
}

/** The project's gold notes with their reference spans. */
export async function goldNotes(db: AppDatabase, projectId: string): Promise<{ notes: GoldNote[]; skipped: number }> {
  const ids = await listNoteIds(db, projectId, "gold");
  const { human } = await latestAnnotations(db, projectId);
  const rows = await db.notes.bulkGet(ids);
  const notes: GoldNote[] = [];
  let skipped = 0;
  for (const note of rows) {
    if (!note) continue;
    const reference = human.get(note.id);
    if (reference) notes.push({ noteId: note.id, text: note.text, gold: reference.spans });
    else skipped++;
  }
  return { notes, skipped };
}

export interface CompareProgress {
  /** "source" or "adapted": the model predicting now. */
  model: "source" | "adapted";
  done: number;
  total: number;
}

export interface CompareOptions {
  signal?: AbortSignal;
  onProgress?: (progress: CompareProgress) => void;
  /** Predictors instead of the stored models' (tests). */
  predictorFor?: (modelId: string) => Promise<Predictor>;
}

/** Both stored models over the gold notes, compared. */
export async function compareStoredModels(
  db: AppDatabase,
  projectId: string,
  sourceModelId: string,
  adaptedModelId: string,
  options: CompareOptions = {},
): Promise<Comparison> {
  const { notes, skipped } = await requireGoldNotes(db, projectId);
  const [source, adapted] = await Promise.all([getModel(db, sourceModelId), getModel(db, adaptedModelId)]);
  const sourcePred = await predictGold(db, sourceModelId, notes, options, "source");
  if (options.signal?.aborted) throw new CancelledError("evaluation");
  const adaptedPred = await predictGold(db, adaptedModelId, notes, options, "adapted");
  return compareSpans(notes, { modelId: source.id, name: source.name }, { modelId: adapted.id, name: adapted.name }, sourcePred, adaptedPred, skipped);
}

/** One stored model's scores on the gold notes (a learning curve's point). */
export async function scoreStoredModel(db: AppDatabase, projectId: string, modelId: string, options: CompareOptions = {}): Promise<ModelScores> {
  const { notes } = await requireGoldNotes(db, projectId);
  const model = await getModel(db, modelId);
  const metrics = spanMetrics((await predictGold(db, modelId, notes, options, "adapted")).map((pred, i) => ({ gold: notes[i].gold, pred })));
  return modelScores({ modelId, name: model.name }, metrics);
}

function modelScores(ref: ModelRef, metrics: SpanMetrics): ModelScores {
  return { ...ref, strict: metrics.strict, lenient: metrics.lenient, errorCounts: { fp: { ...metrics.errors.fp }, fn: { ...metrics.errors.fn } } };
}

async function requireGoldNotes(db: AppDatabase, projectId: string): Promise<{ notes: GoldNote[]; skipped: number }> {
  const gold = await goldNotes(db, projectId);
  if (gold.notes.length === 0) throw new AppError("There are no gold notes with reference spans: import or annotate a gold set first.");
  return gold;
}

async function predictGold(db: AppDatabase, modelId: string, notes: readonly GoldNote[], options: CompareOptions, which: CompareProgress["model"]): Promise<Span[][]> {
  const predictor = await (options.predictorFor ?? ((id: string) => loadStoredPredictor(db, id)))(modelId);
  try {
    let done = 0;
    return await predictor.predict(
      notes.map((note) => note.text),
      { signal: options.signal, onResult: () => options.onProgress?.({ model: which, done: ++done, total: notes.length }) },
    );
  } finally {
    await predictor.release();
  }
}
