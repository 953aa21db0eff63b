// The learning curve of one project, on the Evaluate step: F1 on the gold notes against the
// number of annotated training notes, trained on request in the training worker with the
// Train step's settings (base model, notes, hyperparameters). The newest curve is shown;
// one the page lost (reload, crash) or a cancelled one resumes where it stopped.
import { planTraining } from "../../core/train/run-data.ts";
import type { TrainTask } from "../../core/train/tasks.ts";
import { curveSizes, type CurveConfig, type CurveProgress, type CurveResult } from "../../core/train/curve.ts";
import { DEFAULT_DATABASE_NAME, listRuns, type AppDatabase, type RunRow } from "../../core/store/index.ts";
import type { CurveCall, RuntimeChoice } from "../../../workers/train-api.ts";
import { replaceTrainWorker, trainWorker } from "../workers.ts";
import { DeviceLostError } from "../../core/errors.ts";
import { attempt } from "./attempt.ts";
import { perProject } from "./per-project.svelte.ts";
import { trainStateFor, wasmThreads, type TrainState } from "./train.svelte.ts";

const stateFor = perProject((projectId: string, db: AppDatabase) => new CurveState(db, projectId));

export function curveStateFor(db: AppDatabase, projectId: string): CurveState {
  return stateFor(projectId, db);
}

export class CurveState {
  /** Sizes as the user typed them: "5, 10, 25, all". */
  sizesText = $state("");
  /** Training notes under the Train step's choice of notes. */
  available = $state(0);
  run = $state.raw<RunRow | null>(null);
  result = $state.raw<CurveResult | null>(null);
  progress = $state.raw<CurveProgress | null>(null);
  running = $state(false);
  error = $state<string | null>(null);

  readonly train: TrainState;
  private controller: AbortController | null = null;

  constructor(
    private readonly db: AppDatabase,
    readonly projectId: string,
  ) {
    this.train = trainStateFor(db, projectId);
  }

  config = $derived((this.run?.config ?? null) as CurveConfig | null);
  /** What the shown curve trains: the stored curve's task, else what a new one would train (the Train step's). */
  task = $derived.by<TrainTask>(() => (this.config ? (this.config.task ?? { kind: "entities" }) : this.train.task));
  /** Stored as running, but not by this page: the page was reloaded or closed. */
  interrupted = $derived(!this.running && this.run?.status === "running");
  canResume = $derived(!this.running && (this.interrupted || this.run?.status === "cancelled" || this.run?.status === "failed"));

  async refresh(): Promise<void> {
    await attempt(this, async () => {
      if (!this.train.ready) await this.train.init();
      this.available = (await planTraining(this.db, this.projectId, this.train.source)).trainNoteIds.length;
      if (this.sizesText === "") this.sizesText = curveSizes(this.available).map((n) => (n === this.available ? "all" : String(n))).join(", ");
      if (!this.running) await this.loadLatest();
    });
  }

  private async loadLatest(): Promise<void> {
    this.run = (await listRuns(this.db, this.projectId, "curve"))[0] ?? null;
    this.result = (this.run?.progress as CurveResult | null) ?? null;
    if (this.result?.error) this.error = this.result.error.message;
  }

  /** "5, 10, all" → [5, 10, available]; a word that is not a number is kept for the core to name. */
  parsedSizes(): number[] {
    return this.sizesText
      .split(/[\s,;]+/)
      .filter((part) => part !== "")
      .map((part) => (part.toLowerCase() === "all" ? this.available : Number(part)));
  }

  async start(): Promise<void> {
    const train = this.train;
    if (!train.baseModelId) return;
    await this.execute({
      request: {
        projectId: this.projectId,
        baseModelId: train.baseModelId,
        source: train.source,
        minConfidence: train.minConfidence,
        weightByConfidence: train.weightByConfidence,
        hyper: $state.snapshot(train.hyper),
        sizes: this.parsedSizes(),
        seed: train.hyper.seed,
        ...(train.task.kind === "entities" ? {} : { task: $state.snapshot(train.task) }),
      },
    });
  }

  async resume(): Promise<void> {
    if (this.run) await this.execute({ curveRunId: this.run.id });
  }

  cancel(): void {
    this.controller?.abort();
  }

  private async execute(what: { request: Extract<CurveCall, { request: unknown }>["request"] } | { curveRunId: string }): Promise<void> {
    if (this.running || this.train.running) return;
    this.running = true;
    this.progress = null;
    this.controller = new AbortController();
    const backend = this.train.backend;
    const runtime: RuntimeChoice = { backend, ...(backend === "wasm" ? { numThreads: this.train.runtime?.numThreads ?? 1 } : {}) };
    const curve = (call: CurveCall) =>
      trainWorker().call<CurveResult, CurveProgress>("curve", call, {
        signal: this.controller!.signal,
        onProgress: (progress) => {
          this.progress = progress;
          this.result = progress.result;
          if (this.run?.id !== progress.curveRunId) void attempt(this, () => this.loadLatest());
        },
      });
    await attempt(this, async () => {
      try {
        this.result = await curve({ databaseName: DEFAULT_DATABASE_NAME, ...runtime, ...what });
      } catch (error) {
        // As the Train step does: on WebAssembly, in a fresh worker, from the point's checkpoint.
        const curveRunId = this.progress?.curveRunId ?? ("curveRunId" in what ? what.curveRunId : undefined);
        if (!(error instanceof DeviceLostError) || runtime.backend !== "webgpu" || !curveRunId) throw error;
        replaceTrainWorker(error);
        this.train.backendChoice = "wasm";
        this.result = await curve({ databaseName: DEFAULT_DATABASE_NAME, backend: "wasm", numThreads: wasmThreads(), curveRunId });
      }
    });
    this.running = false;
    this.controller = null;
    await attempt(this, () => this.loadLatest());
  }
}
