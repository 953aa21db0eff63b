// Runs (annotate, train, infer) and the evaluations they produce. A run's row holds its
// config and progress so a reload can show it and resume it.

import { NotFoundError } from "../errors.ts";
import {
  newId,
  inTransaction,
  withStorageErrors,
  type AppDatabase,
  type EvaluationRow,
  type RunKind,
  type RunRow,
  type RunStatus,
} from "./db.ts";

export async function createRun(
  db: AppDatabase,
  input: { projectId: string; kind: RunKind; config: unknown; progress?: unknown },
): Promise<RunRow> {
  const now = Date.now();
  const run: RunRow = {
    id: newId(),
    projectId: input.projectId,
    kind: input.kind,
    status: "pending",
    config: input.config,
    progress: input.progress ?? null,
    createdAt: now,
    updatedAt: now,
  };
  await withStorageErrors(`the ${input.kind} run`, () => db.runs.add(run));
  return run;
}

export async function getRun(db: AppDatabase, runId: string): Promise<RunRow> {
  const run = await db.runs.get(runId);
  if (!run) throw new NotFoundError(`No run with id ${runId}: it may have been deleted.`);
  return run;
}

export async function updateRun(
  db: AppDatabase,
  runId: string,
  changes: { status?: RunStatus; progress?: unknown },
): Promise<RunRow> {
  return inTransaction(db, "rw", [db.runs], "the run's progress", async () => {
    const run = await getRun(db, runId);
    const updated: RunRow = { ...run, ...changes, updatedAt: Date.now() };
    await db.runs.put(updated);
    return updated;
  });
}

/** A project's runs, newest first, optionally of one kind. */
export async function listRuns(db: AppDatabase, projectId: string, kind?: RunKind): Promise<RunRow[]> {
  const runs = await db.runs.where("projectId").equals(projectId).toArray();
  return runs.filter((run) => kind === undefined || run.kind === kind).sort((a, b) => b.createdAt - a.createdAt);
}

export async function addEvaluation(
  db: AppDatabase,
  input: { projectId: string; runId: string; modelId: string; metrics: unknown },
): Promise<EvaluationRow> {
  const row: Omit<EvaluationRow, "id"> = { ...input, createdAt: Date.now() };
  const id = await withStorageErrors("the evaluation", () => db.evaluations.add(row as EvaluationRow));
  return { ...row, id: id as number };
}

/** A project's evaluations, oldest first. */
export async function listEvaluations(db: AppDatabase, projectId: string): Promise<EvaluationRow[]> {
  const rows = await db.evaluations.where("projectId").equals(projectId).toArray();
  return rows.sort((a, b) => a.createdAt - b.createdAt || a.id - b.id);
}
