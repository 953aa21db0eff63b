// The extract step of one project: run any stored model over the project's notes (in the
// inference worker, each note's spans saved as it finishes), look at what it found, and
// download it as CSV or JSONL. A run the page lost (reload, crash) is shown as
// interrupted and resumes from its last saved note. A second, task model may label what the
// entity model found (attributes, relations) or label each note (a document-label model,
// which needs no entity model).
import { extractedNotes, extractionsCsv, extractionsJsonl, type ExtractedNote } from "../../core/export/extractions.ts";
import type { InferProgress, InferRunRequest, InferSummary } from "../../core/model/predict-run.ts";
import {
  DEFAULT_DATABASE_NAME,
  getProject,
  isEntityModel,
  isRunnable,
  isTaskModel,
  listModels,
  listRuns,
  noteIdsDoneByRun,
  type AppDatabase,
  type ModelRow,
  type RunRow,
  type Split,
} from "../../core/store/index.ts";
import { storedTaskOf } from "../../core/train/task-predict.ts";
import { taskName } from "../../core/train/tasks.ts";
import type { InferRequest } from "../../../workers/infer-api.ts";
import { downloadBytes } from "../download.ts";
import { inferWorker } from "../workers.ts";
import { attempt } from "./attempt.ts";
import { perProject } from "./per-project.svelte.ts";
import { chooseRuntime, type Runtime } from "./train.svelte.ts";

export type NoteChoice = Split | "all";

/** A stored attribute, relation or document-label model, with what it labels. */
export interface TaskModelChoice {
  model: ModelRow;
  /** The task in words ("Relations", 'Document label "status"'). */
  what: string;
  /** A document-label model labels notes, so it runs without an entity model. */
  needsEntities: boolean;
}

export interface ExtractRunView {
  run: RunRow;
  modelName: string;
  split: NoteChoice;
  progress: InferProgress | null;
  /** Stored as running, but no worker of this page runs it: the page was reloaded or closed. */
  interrupted: boolean;
}

const stateFor = perProject((projectId: string, db: AppDatabase) => new ExtractState(db, projectId));

export function extractStateFor(db: AppDatabase, projectId: string): ExtractState {
  return stateFor(projectId, db);
}

export class ExtractState {
  models = $state.raw<ModelRow[]>([]);
  /** The entity model; null runs the document-label model alone. */
  modelId = $state<string | null>(null);
  taskModels = $state.raw<TaskModelChoice[]>([]);
  /** The task model that labels what the entity model found; null for entities alone. */
  taskModelId = $state<string | null>(null);
  /** Document labels that allow several values: the JSONL writes them as lists. */
  private multipleLabels = new Set<string>();
  notes = $state<NoteChoice>("all");
  runs = $state.raw<ExtractRunView[]>([]);
  runtime = $state.raw<Runtime | null>(null);
  running = $state(false);
  /** The run being computed by this page (known from its first progress), and its latest progress. */
  liveRunId = $state<string | null>(null);
  progress = $state.raw<InferProgress | null>(null);
  /** The run whose results are shown. */
  shownRunId = $state<string | null>(null);
  results = $state.raw<ExtractedNote[]>([]);
  chosenNote = $state(0);
  error = $state<string | null>(null);

  private controller: AbortController | null = null;

  constructor(
    private readonly db: AppDatabase,
    readonly projectId: string,
  ) {}

  spanCount = $derived(this.results.reduce((sum, note) => sum + note.spans.length, 0));
  chosenTask = $derived(this.taskModels.find((choice) => choice.model.id === this.taskModelId) ?? null);
  /** An entity model is chosen, or a document-label model that runs alone. */
  canExtract = $derived(this.modelId !== null ? this.models.some((m) => m.id === this.modelId) : this.chosenTask !== null && !this.chosenTask.needsEntities);

  async refresh(): Promise<void> {
    await attempt(this, async () => {
      this.runtime ??= await chooseRuntime();
      const models = await listModels(this.db, this.projectId);
      this.models = models.filter(isEntityModel);
      this.taskModels = await this.taskChoices(models.filter((model) => isRunnable(model) && isTaskModel(model)));
      if (!this.taskModels.some((choice) => choice.model.id === this.taskModelId)) this.taskModelId = null;
      if (!this.models.some((model) => model.id === this.modelId) && !(this.modelId === null && this.chosenTask?.needsEntities === false)) {
        this.modelId = (this.models.find((model) => model.kind === "trained") ?? this.models[0])?.id ?? null;
      }
      const schema = (await getProject(this.db, this.projectId)).schema;
      this.multipleLabels = new Set(schema.documentLabels.filter((label) => label.multiple).map((label) => label.name));
      await this.loadRuns();
      if (this.shownRunId === null && this.runs[0]) await this.show(this.runs[0].run.id);
    });
  }

  /** Task models with the task their adaptation.json names; one this app did not train is left out. */
  private async taskChoices(models: ModelRow[]): Promise<TaskModelChoice[]> {
    const choices: TaskModelChoice[] = [];
    for (const model of models) {
      const adaptation = await storedTaskOf(this.db, model.id);
      if (adaptation) choices.push({ model, what: taskName(adaptation.task), needsEntities: adaptation.task.kind !== "document" });
    }
    return choices;
  }

  private async loadRuns(): Promise<void> {
    const names = new Map([...this.models, ...this.taskModels.map((choice) => choice.model)].map((model) => [model.id, model.name]));
    const nameOf = (id: string | undefined) => (id === undefined ? undefined : (names.get(id) ?? "a deleted model"));
    const runs = await listRuns(this.db, this.projectId, "infer");
    this.runs = await Promise.all(
      runs.map(async (run) => {
        const config = run.config as Omit<InferRunRequest, "session">;
        const live = run.id === this.liveRunId;
        return {
          run,
          modelName: [nameOf(config.modelId), nameOf(config.taskModelId)].filter((name) => name !== undefined).join(" + "),
          split: config.split ?? "all",
          progress: live ? this.progress : await this.storedProgress(run),
          interrupted: run.status === "running" && !live,
        };
      }),
    );
  }

  /**
   * A stopped run's progress, its count of notes done taken from the notes it saved: the
   * run row is updated once per chunk of notes, so after a crash it may lag behind.
   */
  private async storedProgress(run: RunRow): Promise<InferProgress | null> {
    const progress = (run.progress as InferProgress | null) ?? null;
    if (!progress || run.status === "done") return progress;
    return { ...progress, done: (await noteIdsDoneByRun(this.db, run.id)).size };
  }

  /** A new run of the chosen model over the chosen notes. */
  async extract(): Promise<void> {
    if (!this.canExtract || this.running) return;
    await this.start({
      projectId: this.projectId,
      ...(this.modelId === null ? {} : { modelId: this.modelId }),
      ...(this.taskModelId === null ? {} : { taskModelId: this.taskModelId }),
      ...(this.notes === "all" ? {} : { split: this.notes }),
    });
  }

  /** Continue an interrupted or cancelled run: the notes it saved are skipped. */
  async resume(view: ExtractRunView): Promise<void> {
    if (this.running) return;
    const config = view.run.config as Omit<InferRunRequest, "session">;
    await this.start({ ...config, runId: view.run.id });
  }

  private async start(request: InferRunRequest): Promise<void> {
    this.controller = new AbortController();
    this.running = true;
    this.progress = null;
    this.liveRunId = request.runId ?? null;
    await attempt(this, async () => {
      const runtime = (this.runtime ??= await chooseRuntime());
      const call: InferRequest = {
        ...request,
        databaseName: DEFAULT_DATABASE_NAME,
        ...(runtime.backend === "webgpu" ? { session: { executionProviders: ["webgpu", "wasm"] } } : { numThreads: runtime.numThreads }),
      };
      const summary = await inferWorker().call<InferSummary, InferProgress>("infer", call, {
        signal: this.controller!.signal,
        onProgress: (progress) => {
          this.progress = progress;
          if (this.liveRunId !== progress.runId) {
            this.liveRunId = progress.runId;
            void this.loadRuns();
          }
        },
      });
      this.shownRunId = null;
      await this.show(summary.runId);
    });
    this.running = false;
    this.liveRunId = null;
    this.controller = null;
    await attempt(this, () => this.loadRuns());
  }

  cancel(): void {
    this.controller?.abort();
  }

  /** Shows what a run found so far (a run still going shows the notes it has saved). */
  async show(runId: string): Promise<void> {
    await attempt(this, async () => {
      this.results = await extractedNotes(this.db, this.projectId, runId);
      this.shownRunId = runId;
      this.chosenNote = 0;
    });
  }

  download(format: "csv" | "jsonl"): void {
    const view = this.runs.find(({ run }) => run.id === this.shownRunId);
    const stem = `${(view?.modelName ?? "model").replace(/[^\w.-]+/g, "_")}-${view?.split ?? "all"}-found`;
    if (format === "csv") downloadBytes(`${stem}.csv`, extractionsCsv(this.results), "text/csv");
    else downloadBytes(`${stem}.jsonl`, extractionsJsonl(this.results, { multipleLabels: this.multipleLabels }), "application/jsonl");
  }
}
