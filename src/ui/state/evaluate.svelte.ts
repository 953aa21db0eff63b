// The evaluate and download steps of one project: which source and adapted models to
// compare on the gold notes (by default the latest finished training run's base and
// result), the comparison itself (computed in the training worker, stored as an
// evaluation), its error list with the notes' text, and the model .zip download.
import type { Comparison, CompareProgress, NoteError } from "../../core/eval/compare.ts";
import { storedModelBundle } from "../../core/export/model-bundle.ts";
import {
  DEFAULT_DATABASE_NAME,
  findNotes,
  isRunnable,
  isTaskModel,
  listEvaluations,
  listModels,
  listRuns,
  type AppDatabase,
  type ModelRow,
} from "../../core/store/index.ts";
import type { TrainRunConfig } from "../../core/train/run.ts";
import { isTaskRun } from "../../core/train/tasks.ts";
import pkg from "../../../package.json";
import { downloadBytes } from "../download.ts";
import { trainWorker } from "../workers.ts";
import { perProject } from "./per-project.svelte.ts";
import { attempt } from "./attempt.ts";

export const APP_VERSION: string = (pkg as { version: string }).version;

export type ErrorKindFilter = "all" | "fp" | "fn" | "boundary" | "type";

const stateFor = perProject((projectId: string, db: AppDatabase) => new EvaluateState(db, projectId));

export function evaluateStateFor(db: AppDatabase, projectId: string): EvaluateState {
  return stateFor(projectId, db);
}

export class EvaluateState {
  models = $state.raw<ModelRow[]>([]);
  sourceId = $state<string | null>(null);
  adaptedId = $state<string | null>(null);
  /** The train run that made the adapted model, when known. */
  runId = $state<string | null>(null);
  comparison = $state.raw<Comparison | null>(null);
  progress = $state.raw<CompareProgress | null>(null);
  running = $state(false);
  /** Gold note id → its external id and text, for the error list. */
  notes = $state.raw<Map<number, { externalId: string; text: string }>>(new Map());
  errorModel = $state<"adapted" | "source">("adapted");
  errorKind = $state<ErrorKindFilter>("all");
  downloading = $state<string | null>(null);
  /** Also put the int8 graph (onnx/model_quantized.onnx) in the download. */
  int8 = $state(false);
  downloaded = $state.raw<{ modelId: string; fileName: string; files: { path: string; bytes: number }[] } | null>(null);
  error = $state<string | null>(null);

  private controller: AbortController | null = null;

  constructor(
    private readonly db: AppDatabase,
    readonly projectId: string,
  ) {}

  errors = $derived.by<NoteError[]>(() => {
    const list = this.comparison?.errors[this.errorModel] ?? [];
    switch (this.errorKind) {
      case "all":
        return list;
      case "fp":
        return list.filter((e) => e.side === "pred" && e.kind === "spurious");
      case "fn":
        return list.filter((e) => e.side === "gold" && e.kind === "missed");
      case "boundary":
        return list.filter((e) => e.kind === "boundary" || e.kind === "boundary+type");
      case "type":
        return list.filter((e) => e.kind === "type" || e.kind === "boundary+type");
    }
  });

  /** The models that predict entities: the ones this comparison takes (the download lists all). */
  entityModels = $derived(this.models.filter((model) => !isTaskModel(model)));
  trainedModels = $derived(this.entityModels.filter((model) => model.kind === "trained"));

  private attempt<T>(action: () => Promise<T>): Promise<T | undefined> {
    return attempt(this, action);
  }

  async refresh(): Promise<void> {
    await this.attempt(async () => {
      this.models = (await listModels(this.db, this.projectId)).filter(isRunnable);
      const runs = (await listRuns(this.db, this.projectId, "train")).filter(
        (run) => run.status === "done" && !(run.config as TrainRunConfig).curveRunId && !isTaskRun(run.config as TrainRunConfig),
      );
      const latest = runs[0];
      const known = (id: string | null) => id !== null && this.entityModels.some((model) => model.id === id);
      if (latest && (!known(this.adaptedId) || !this.comparison)) {
        const config = latest.config as TrainRunConfig;
        if (known(config.modelId)) {
          this.adaptedId = config.modelId;
          this.runId = latest.id;
          if (known(config.baseModelId)) this.sourceId = config.baseModelId;
        }
      }
      if (!known(this.sourceId)) this.sourceId = this.entityModels.find((model) => model.kind !== "trained")?.id ?? this.entityModels[0]?.id ?? null;
      if (!known(this.adaptedId)) this.adaptedId = this.trainedModels[0]?.id ?? null;
      if (!this.comparison) {
        const stored = (await listEvaluations(this.db, this.projectId))
          .map((row) => row.metrics as Comparison)
          .filter((c) => c?.adapted?.modelId === this.adaptedId && c?.source?.modelId === this.sourceId)
          .at(-1);
        if (stored) await this.show(stored);
      }
    });
  }

  private async show(comparison: Comparison): Promise<void> {
    const ids = comparison.predictions.map((p) => p.noteId);
    const notes = await findNotes(this.db, ids);
    this.notes = new Map(notes.map((note) => [note.id, { externalId: note.externalId, text: note.text }]));
    this.comparison = comparison;
  }

  async evaluate(): Promise<void> {
    if (!this.sourceId || !this.adaptedId || this.running) return;
    this.running = true;
    this.progress = null;
    this.controller = new AbortController();
    await this.attempt(async () => {
      const comparison = await trainWorker().call<Comparison, CompareProgress>(
        "compare",
        {
          databaseName: DEFAULT_DATABASE_NAME,
          projectId: this.projectId,
          sourceModelId: this.sourceId,
          adaptedModelId: this.adaptedId,
          ...(this.runId ? { runId: this.runId } : {}),
        },
        { signal: this.controller!.signal, onProgress: (progress) => (this.progress = progress) },
      );
      await this.show(comparison);
    });
    this.running = false;
    this.controller = null;
  }

  cancel(): void {
    this.controller?.abort();
  }

  /** Builds the model's .zip in the page (fflate) and saves it. */
  async download(modelId: string): Promise<void> {
    this.downloading = modelId;
    await this.attempt(async () => {
      const bundle = await storedModelBundle(this.db, modelId, { appVersion: APP_VERSION, int8: this.int8 });
      downloadBytes(bundle.fileName, bundle.bytes, "application/zip");
      this.downloaded = { modelId, fileName: bundle.fileName, files: [...bundle.files].map(([path, bytes]) => ({ path, bytes: bytes.byteLength })) };
    });
    this.downloading = null;
  }
}
