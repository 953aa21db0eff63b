// An attribute, relation or document-label model on the gold notes: the Evaluate step's
// numbers for those tasks, from the model's own exported graph (onnx/model.onnx, the one
// the download ships) run by onnxruntime.
//
// - Gold: each gold note's reference annotation (its latest "human" one, else the imported
//   one), with its spans, relations and labels. Notes without one are left out and counted.
// - The model is given the gold entities: attributes are scored on every gold entity and
//   relations between gold entities, so the scores are the head's alone, not the NER model's
//   (the screen says so).
// - "Source": a base model predicts entities and has no head for the task, so it cannot be
//   scored on it; the comparison then holds the adapted model's scores and says why. A source
//   that is itself a model of the same task (an earlier adapted one) is scored alike.

import { AppError, CancelledError, ModelFormatError } from "../errors.ts";
import type { AppDatabase } from "../store/db.ts";
import { getModel } from "../store/models.ts";
import { listNoteIds } from "../store/notes.ts";
import { latestAnnotations, type LabelledNote } from "../train/run-data.ts";
import { predictStoredTaskModel, storedTaskOf } from "../train/task-predict.ts";
import type { TaskAdaptation } from "../train/task-run.ts";
import { sameTask, taskName } from "../train/tasks.ts";
import { type TaskComparison, type TaskModelScores, type TaskScores, scoreTask } from "./task-scores.ts";
import type { Span } from "../corpus/types.ts";
import { loadStoredPredictor } from "../model/predict-run.ts";
import type { Predictor } from "../model/predict.ts";

export type { TaskComparison, TaskModelScores };
export { isTaskComparison } from "./task-scores.ts";

/** The project's gold notes with their reference annotations (spans, relations, labels). */
export async function goldTaskNotes(db: AppDatabase, projectId: string): Promise<{ notes: LabelledNote[]; skipped: number }> {
  const ids = await listNoteIds(db, projectId, "gold");
  const { human } = await latestAnnotations(db, projectId);
  const notes: LabelledNote[] = [];
  let skipped = 0;
  for (const note of await db.notes.bulkGet(ids)) {
    if (!note) continue;
    const row = human.get(note.id);
    if (!row) {
      skipped++;
      continue;
    }
    notes.push({ noteId: note.id, text: note.text, spans: row.spans, ...(row.relations ? { relations: row.relations } : {}), ...(row.labels ? { labels: row.labels } : {}) });
  }
  return { notes, skipped };
}

export interface TaskCompareProgress {
  model: "source" | "adapted";
  done: number;
  total: number;
}

export interface TaskCompareOptions {
  signal?: AbortSignal;
  onProgress?: (progress: TaskCompareProgress) => void;
  /** An entity model whose spans the adapted attribute or relation model labels too: scores end to end. */
  entityModelId?: string;
  /** A predictor instead of the stored entity model's (tests). */
  entityPredictor?: (modelId: string) => Promise<Predictor>;
}

/** A stored task model's scores on the gold notes, given their own entities. */
async function scoreStoredTaskModel(db: AppDatabase, modelId: string, adaptation: TaskAdaptation, notes: readonly LabelledNote[]): Promise<TaskScores> {
  return scoreTask(adaptation.choice, notes, await predictStoredTaskModel(db, modelId, adaptation, notes));
}

/** The adapted task model (and the source, where it has the same task's head) on the gold notes. */
export async function compareTaskModels(
  db: AppDatabase,
  projectId: string,
  sourceModelId: string | null,
  adaptedModelId: string,
  options: TaskCompareOptions = {},
): Promise<TaskComparison> {
  const adaptedRow = await getModel(db, adaptedModelId);
  const adaptation = await storedTaskOf(db, adaptedModelId);
  if (!adaptation) {
    throw new ModelFormatError("adaptation.json", `model "${adaptedRow.name}" has no attribute, relation or document-label head that this app trained; choose a model trained for such a task.`);
  }
  const { notes, skipped } = await goldTaskNotes(db, projectId);
  if (notes.length === 0) throw new AppError("There are no gold notes with reference annotations: import or annotate a gold set first.");
  const what = taskName(adaptation.task).toLowerCase();
  const report = (model: TaskCompareProgress["model"], done: number) => options.onProgress?.({ model, done, total: 1 });

  let source: TaskModelScores | null = null;
  let sourceNote: string | null = null;
  if (sourceModelId !== null) {
    const sourceRow = await getModel(db, sourceModelId);
    const sourceTask = await storedTaskOf(db, sourceModelId);
    if (sourceTask && sameTask(sourceTask.task, adaptation.task)) {
      report("source", 0);
      source = { modelId: sourceRow.id, name: sourceRow.name, scores: await scoreStoredTaskModel(db, sourceModelId, sourceTask, notes) };
      report("source", 1);
    } else {
      sourceNote = `The source model "${sourceRow.name}" has no head for ${what} (a base model predicts entities only), so only the adapted model is scored.`;
    }
  } else {
    sourceNote = "No source model was chosen, so only the adapted model is scored.";
  }
  if (options.signal?.aborted) throw new CancelledError("evaluation");
  report("adapted", 0);
  const adapted: TaskModelScores = { modelId: adaptedRow.id, name: adaptedRow.name, scores: await scoreStoredTaskModel(db, adaptedModelId, adaptation, notes) };
  report("adapted", 1);
  const endToEnd =
    options.entityModelId !== undefined && adaptation.task.kind !== "document" ? await scoreEndToEnd(db, options.entityModelId, adaptedModelId, adaptation, notes, options) : null;
  return {
    format: "clinical-adapt/task-comparison",
    task: adaptation.task,
    choice: adaptation.choice,
    goldNotes: notes.length,
    skipped,
    givenGoldEntities: adaptation.task.kind !== "document",
    endToEnd,
    adapted,
    source,
    sourceNote,
    createdAt: Date.now(),
  };
}

/**
 * The entity model finds the gold notes' entities, the task model labels those (attributes)
 * or relates them (relations), and both are scored together against the gold: a span the
 * entity model misses or mis-bounds costs its attribute or relation too.
 */
async function scoreEndToEnd(
  db: AppDatabase,
  entityModelId: string,
  adaptedModelId: string,
  adaptation: TaskAdaptation,
  notes: readonly LabelledNote[],
  options: TaskCompareOptions,
): Promise<NonNullable<TaskComparison["endToEnd"]>> {
  const entityModel = await getModel(db, entityModelId);
  const predictor = await (options.entityPredictor ?? ((id: string) => loadStoredPredictor(db, id)))(entityModelId);
  let found: Span[][];
  try {
    found = await predictor.predict(
      notes.map((note) => note.text),
      { signal: options.signal },
    );
  } finally {
    await predictor.release();
  }
  const onFound = notes.map((note, i) => ({ text: note.text, spans: found[i] }));
  const prediction = await predictStoredTaskModel(db, adaptedModelId, adaptation, onFound);
  return { entityModelId, entityModelName: entityModel.name, scores: scoreTask(adaptation.choice, notes, prediction, found) };
}
