// A training run of any task, as the training worker starts and resumes it: entities go to
// run.ts, attributes, relations and document labels to task-run.ts; the run row's config
// says which a stored run is.
import type { AppDatabase, RunRow } from "../store/db.ts";
import { getRun } from "../store/runs.ts";
import { type TrainRunConfig, type TrainRunOptions, type TrainRunRequest, type TrainSummary, runTraining, startTrainingRun } from "./run.ts";
import { runTaskTraining, startTaskRun } from "./task-run.ts";
import { isTaskRequest, isTaskRun } from "./tasks.ts";

export function startRun(db: AppDatabase, request: TrainRunRequest): Promise<RunRow> {
  return isTaskRequest(request) ? startTaskRun(db, request) : startTrainingRun(db, request);
}

export async function continueRun(db: AppDatabase, runId: string, options: TrainRunOptions = {}): Promise<TrainSummary> {
  const run = await getRun(db, runId);
  return isTaskRun(run.config as TrainRunConfig) ? runTaskTraining(db, runId, options) : runTraining(db, runId, options);
}
