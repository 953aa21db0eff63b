// The Evaluate step for attribute, relation and document-label models: which trained task
// model to score on the gold notes (by default the latest finished task run's), against its
// run's base model as the source (which has no head for the task, so the comparison says
// so and holds the adapted model's scores), computed in the training worker and stored as
// an evaluation, so the model card of the download shows it.
import type { TaskComparison, TaskCompareProgress } from "../../core/eval/task-compare.ts";
import { isTaskComparison } from "../../core/eval/task-scores.ts";
import { DEFAULT_DATABASE_NAME, isEntityModel, isRunnable, isTaskModel, listEvaluations, listModels, listRuns, type AppDatabase, type ModelRow } from "../../core/store/index.ts";
import type { TrainRunConfig } from "../../core/train/run.ts";
import { isTaskRun } from "../../core/train/tasks.ts";
import { trainWorker } from "../workers.ts";
import { attempt } from "./attempt.ts";
import { perProject } from "./per-project.svelte.ts";

const stateFor = perProject((projectId: string, db: AppDatabase) => new TaskEvaluateState(db, projectId));

export function taskEvaluateStateFor(db: AppDatabase, projectId: string): TaskEvaluateState {
  return stateFor(projectId, db);
}

export class TaskEvaluateState {
  models = $state.raw<ModelRow[]>([]);
  modelId = $state<string | null>(null);
  /** Entity models whose spans an attribute or relation model can label for end-to-end scores. */
  entityModels = $state.raw<ModelRow[]>([]);
  /** "" for none: scores on the gold entities only. */
  entityModelId = $state("");
  comparison = $state.raw<TaskComparison | null>(null);
  progress = $state.raw<TaskCompareProgress | null>(null);
  running = $state(false);
  error = $state<string | null>(null);
  /** Each task model's run: its base model (the source) and run id. */
  private runs = new Map<string, { runId: string; baseModelId: string }>();

  constructor(
    private readonly db: AppDatabase,
    readonly projectId: string,
  ) {}

  private attempt<T>(action: () => Promise<T>): Promise<T | undefined> {
    return attempt(this, action);
  }

  async refresh(): Promise<void> {
    await this.attempt(async () => {
      const models = await listModels(this.db, this.projectId);
      this.models = models.filter((model) => model.kind === "trained" && isRunnable(model) && isTaskModel(model));
      this.entityModels = models.filter((model) => isRunnable(model) && isEntityModel(model));
      if (this.entityModelId !== "" && !this.entityModels.some((model) => model.id === this.entityModelId)) this.entityModelId = "";
      const done = (await listRuns(this.db, this.projectId, "train")).filter((run) => run.status === "done" && isTaskRun(run.config as TrainRunConfig));
      this.runs = new Map(done.map((run) => [(run.config as TrainRunConfig).modelId, { runId: run.id, baseModelId: (run.config as TrainRunConfig).baseModelId }]));
      const known = (id: string | null) => id !== null && this.models.some((model) => model.id === id);
      if (!known(this.modelId)) {
        const latest = done.map((run) => (run.config as TrainRunConfig).modelId).find(known);
        this.modelId = latest ?? this.models.at(-1)?.id ?? null;
      }
      await this.showStored();
    });
  }

  async choose(modelId: string): Promise<void> {
    this.modelId = modelId;
    this.comparison = null;
    await this.attempt(() => this.showStored());
  }

  /** The latest stored evaluation of the chosen model, if any. */
  private async showStored(): Promise<void> {
    if (!this.modelId || this.comparison?.adapted.modelId === this.modelId) return;
    this.comparison =
      (await listEvaluations(this.db, this.projectId))
        .filter((row) => row.modelId === this.modelId)
        .map((row) => row.metrics)
        .filter(isTaskComparison)
        .at(-1) ?? null;
  }

  async evaluate(): Promise<void> {
    const modelId = this.modelId;
    if (!modelId || this.running) return;
    this.running = true;
    this.progress = null;
    const run = this.runs.get(modelId);
    await this.attempt(async () => {
      this.comparison = await trainWorker().call<TaskComparison, TaskCompareProgress>(
        "compareTask",
        {
          databaseName: DEFAULT_DATABASE_NAME,
          projectId: this.projectId,
          sourceModelId: run?.baseModelId ?? null,
          adaptedModelId: modelId,
          ...(this.entityModelId ? { entityModelId: this.entityModelId } : {}),
          ...(run ? { runId: run.runId } : {}),
        },
        { onProgress: (progress) => (this.progress = progress) },
      );
    });
    this.running = false;
  }
}
