// The extract step of one project: run any stored model over the project's notes (in the
// inference worker, each note's spans saved as it finishes), look at what it found, and
// download it as CSV or JSONL. A run the page lost (reload, crash) is shown as
// interrupted and resumes from its last saved note.
import { extractedNotes, extractionsCsv, extractionsJsonl, type ExtractedNote } from "../../core/export/extractions.ts";
import type { InferProgress, InferRunRequest, InferSummary } from "../../core/model/predict-run.ts";
import { DEFAULT_DATABASE_NAME, isEntityModel, listModels, listRuns, noteIdsDoneByRun, type AppDatabase, type ModelRow, type RunRow, type Split } from "../../core/store/index.ts";
import type { InferRequest } from "../../../workers/infer-api.ts";
import { downloadBytes } from "../download.ts";
import { inferWorker } from "../workers.ts";
import { attempt } from "./attempt.ts";
import { perProject } from "./per-project.svelte.ts";
import { chooseRuntime, type Runtime } from "./train.svelte.ts";

export type NoteChoice = Split | "all";

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
  modelId = $state<string | null>(null);
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

  async refresh(): Promise<void> {
    await attempt(this, async () => {
      this.runtime ??= await chooseRuntime();
      this.models = (await listModels(this.db, this.projectId)).filter(isEntityModel);
      if (!this.models.some((model) => model.id === this.modelId)) {
        this.modelId = (this.models.find((model) => model.kind === "trained") ?? this.models[0])?.id ?? null;
      }
      await this.loadRuns();
      if (this.shownRunId === null && this.runs[0]) await this.show(this.runs[0].run.id);
    });
  }

  private async loadRuns(): Promise<void> {
    const names = new Map(this.models.map((model) => [model.id, model.name]));
    const runs = await listRuns(this.db, this.projectId, "infer");
    this.runs = await Promise.all(
      runs.map(async (run) => {
        const config = run.config as Omit<InferRunRequest, "session">;
        const live = run.id === this.liveRunId;
        return {
          run,
          modelName: names.get(config.modelId) ?? "a deleted model",
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
    if (!this.modelId || this.running) return;
    await this.start({ projectId: this.projectId, modelId: this.modelId, ...(this.notes === "all" ? {} : { split: this.notes }) });
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
    else downloadBytes(`${stem}.jsonl`, extractionsJsonl(this.results), "application/jsonl");
  }
}
