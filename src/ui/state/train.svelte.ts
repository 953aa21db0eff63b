// The train step of one project: the base model (the demo's, or one the user uploads), the
// training notes and their counts, hyperparameters, the backend this machine trains on, and
// the runs with their live progress (loss curve, dev F1 per epoch, tokens/s, time left).
// One instance per project for the page's life (`trainStateFor`), so a run keeps going while
// the user looks at other steps. The work happens in the training worker. When the GPU is
// lost mid-run, the run goes on from its last checkpoint on WebAssembly in a fresh training
// worker: onnxruntime-web in the old one is stuck on the lost device (src/core/train/run.ts).
import { DeviceLostError } from "../../core/errors.ts";
import { probeGpu } from "../../core/annotate/capability.ts";
import { parseConfig } from "../../core/model/config.ts";
import { listParams } from "../../core/model/names.ts";
import { DEFAULT_DATABASE_NAME, listModels, listRuns, type AppDatabase, type ModelRow, type RunRow } from "../../core/store/index.ts";
import type { Backend } from "../../core/train/ort-session.ts";
import { planTraining, type TrainingPlan, type TrainingSource } from "../../core/train/run-data.ts";
import {
  defaultHyperparameters,
  discardTrainingRun,
  type DevPoint,
  type Hyperparameters,
  type LossPoint,
  type TrainProgress,
  type TrainProgressEvent,
  type TrainRunConfig,
  type TrainSummary,
} from "../../core/train/run.ts";
import { sameTask, type TrainTask } from "../../core/train/tasks.ts";
import type { RuntimeChoice, TrainCall } from "../../../workers/train-api.ts";
import { ensureDemoModel } from "../demo.ts";
import { replaceTrainWorker, trainWorker } from "../workers.ts";
import { HubDownloadState } from "./hub-download.svelte.ts";
import { perProject } from "./per-project.svelte.ts";
import { attempt } from "./attempt.ts";

export interface Runtime extends RuntimeChoice {
  /** Why this backend, in words. */
  reason: string;
  webgpuUsable: boolean;
}

export interface TrainRunView {
  run: RunRow;
  config: TrainRunConfig;
  progress: TrainProgress | null;
  live: boolean;
  /** Stored as running but no loop on this page: the page was reloaded or closed. */
  interrupted: boolean;
}

/** onnxruntime-web threads on WebAssembly: up to 4 when the page is cross-origin isolated, else 1. */
export function wasmThreads(): number {
  return globalThis.crossOriginIsolated === true ? Math.max(1, Math.min(4, navigator.hardwareConcurrency ?? 1)) : 1;
}

/** WebGPU when a hardware adapter is there; else WebAssembly, threaded when the page is isolated. */
export async function chooseRuntime(): Promise<Runtime> {
  const gpu = await probeGpu().catch(() => null);
  const adapter = gpu?.adapter ?? null;
  const isolated = globalThis.crossOriginIsolated === true;
  const threads = wasmThreads();
  if (adapter && !adapter.software) {
    return { backend: "webgpu", reason: `WebGPU on ${adapter.vendor || "this GPU"}${adapter.architecture ? ` (${adapter.architecture})` : ""}`, webgpuUsable: true };
  }
  const why = adapter?.software
    ? `WebGPU here is a software adapter (${adapter.vendor || "?"} ${adapter.architecture || ""}), slower than the CPU`
    : gpu?.webgpu
      ? "this browser gives no WebGPU adapter"
      : "this browser has no WebGPU";
  return {
    backend: "wasm",
    numThreads: threads,
    reason: `${why}; WebAssembly with ${threads} thread${threads === 1 ? "" : "s"}${isolated ? "" : " (the page is not cross-origin isolated)"}`,
    webgpuUsable: adapter !== null,
  };
}

function parameterCount(model: ModelRow): number {
  try {
    return listParams(parseConfig(model.config), "token").reduce((sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1), 0);
  } catch {
    return 0;
  }
}

/** A model that can be trained from: it has a config and weights, and is not a run's unfinished output. */
export function isTrainable(model: ModelRow): boolean {
  return "config.json" in model.files && ("model.safetensors" in model.files || "model.safetensors.index.json" in model.files) && !("checkpoint.safetensors" in model.files) && (model.kind !== "trained" || "onnx/model.onnx" in model.files);
}

const stateFor = perProject((projectId: string, db: AppDatabase) => new TrainState(db, projectId));

export function trainStateFor(db: AppDatabase, projectId: string): TrainState {
  return stateFor(projectId, db);
}

export class TrainState {
  models = $state.raw<ModelRow[]>([]);
  baseModelId = $state<string | null>(null);
  source = $state<TrainingSource>("llm");
  /** What the next run trains: entities, or a head the project's schema defines. */
  task = $state.raw<TrainTask>({ kind: "entities" });
  minConfidence = $state(0);
  weightByConfidence = $state(true);
  hyper = $state<Hyperparameters>(defaultHyperparameters(0));
  plan = $state.raw<TrainingPlan | null>(null);
  runtime = $state.raw<Runtime | null>(null);
  /** "auto" takes the runtime's choice. */
  backendChoice = $state<"auto" | Backend>("auto");
  runs = $state.raw<TrainRunView[]>([]);
  progress = $state.raw<TrainProgressEvent | null>(null);
  losses = $state.raw<LossPoint[]>([]);
  dev = $state.raw<DevPoint[]>([]);
  activeRunId = $state<string | null>(null);
  pausing = $state(false);
  uploading = $state(false);
  demoMissing = $state<string | null>(null);
  error = $state<string | null>(null);
  ready = $state(false);

  /** The "From Hugging Face" download; what it stores becomes the base model. */
  readonly hub = new HubDownloadState((modelId) => this.useDownloaded(modelId));

  private controller: AbortController | null = null;

  constructor(
    private readonly db: AppDatabase,
    readonly projectId: string,
  ) {}

  running = $derived(this.activeRunId !== null);
  baseModel = $derived(this.models.find((model) => model.id === this.baseModelId) ?? null);
  backend = $derived<Backend>(this.backendChoice === "auto" ? (this.runtime?.backend ?? "wasm") : this.backendChoice);
  canStart = $derived(!this.running && this.baseModel !== null && (this.plan?.trainNoteIds.length ?? 0) > 0);

  async init(): Promise<void> {
    await this.attempt(async () => {
      try {
        await ensureDemoModel(this.db);
        this.demoMissing = null;
      } catch (error) {
        this.demoMissing = error instanceof Error ? error.message : String(error);
      }
      const [runtime] = await Promise.all([chooseRuntime(), this.refreshModels(), this.refreshRuns()]);
      this.runtime = runtime;
      await this.refreshPlan();
    });
    this.ready = true;
  }

  private attempt<T>(action: () => Promise<T>): Promise<T | undefined> {
    return attempt(this, action);
  }

  async refreshModels(): Promise<void> {
    this.models = (await listModels(this.db, this.projectId)).filter(isTrainable);
    if (!this.baseModel) this.chooseBase((this.models.find((model) => model.kind === "demo") ?? this.models.at(-1) ?? null)?.id ?? null);
  }

  chooseBase(modelId: string | null): void {
    this.baseModelId = modelId;
    const model = this.models.find((item) => item.id === modelId);
    if (model) this.hyper = defaultHyperparameters(parameterCount(model));
  }

  async refreshPlan(): Promise<void> {
    this.plan = await planTraining(this.db, this.projectId, this.source);
  }

  chooseTask(task: TrainTask): void {
    if (!sameTask(task, this.task)) this.task = task;
  }

  async setSource(source: TrainingSource): Promise<void> {
    this.source = source;
    await this.attempt(() => this.refreshPlan());
  }

  async refreshRuns(): Promise<void> {
    const rows = (await listRuns(this.db, this.projectId, "train")).filter((run) => !(run.config as TrainRunConfig).curveRunId);
    this.runs = rows.map((run) => {
      const live = run.id === this.activeRunId;
      return {
        run,
        config: run.config as TrainRunConfig,
        progress: (run.progress ?? null) as TrainProgress | null,
        live,
        interrupted: !live && (run.status === "running" || run.status === "pending"),
      };
    });
    // Show the newest run's curve when nothing runs here.
    if (!this.activeRunId) {
      const shown = this.runs[0]?.progress;
      if (shown) {
        const { losses, dev, ...rest } = shown;
        this.progress = rest;
        this.losses = losses;
        this.dev = dev;
      }
    }
  }

  /** Uploads a model: a dropped folder's files, or one .zip. */
  async upload(files: { name: string; file: File }[]): Promise<void> {
    if (files.length === 0) return;
    this.uploading = true;
    await this.attempt(async () => {
      const name = files.length === 1 ? files[0].name.replace(/\.zip$/i, "") : (files[0].name.split("/")[0] || "Uploaded model");
      const stored = await trainWorker().call<{ modelId: string }>("storeModel", { databaseName: DEFAULT_DATABASE_NAME, files, name });
      await this.refreshModels();
      this.chooseBase(stored.modelId);
    });
    this.uploading = false;
  }

  /** A model just downloaded becomes the base model; false when it cannot be trained from. */
  private async useDownloaded(modelId: string): Promise<boolean> {
    await this.refreshModels();
    if (!this.models.some((model) => model.id === modelId)) return false;
    this.chooseBase(modelId);
    return true;
  }

  async start(): Promise<void> {
    if (!this.canStart || !this.baseModelId) return;
    await this.execute({
      request: {
        projectId: this.projectId,
        baseModelId: this.baseModelId,
        source: this.source,
        minConfidence: this.minConfidence,
        weightByConfidence: this.weightByConfidence,
        hyper: $state.snapshot(this.hyper),
        ...(this.task.kind === "entities" ? {} : { task: this.task }),
      },
    });
  }

  /** Continues an interrupted, paused or cancelled run from its last checkpoint. */
  async resume(runId: string): Promise<void> {
    if (this.running) return;
    await this.execute({ runId });
  }

  private async execute(what: { request: NonNullable<Extract<TrainCall, { request: unknown }>["request"]> } | { runId: string }): Promise<void> {
    this.controller = new AbortController();
    this.pausing = false;
    this.activeRunId = "runId" in what ? what.runId : "";
    this.losses = [];
    this.dev = [];
    this.progress = null;
    const runtime: RuntimeChoice = { backend: this.backend, ...(this.backend === "wasm" ? { numThreads: this.runtime?.numThreads ?? 1 } : {}) };
    const train = (call: TrainCall) =>
      trainWorker().call<TrainSummary, TrainProgressEvent>("train", call, { signal: this.controller!.signal, onProgress: (event) => this.onProgress(event) });
    await this.attempt(async () => {
      try {
        try {
          await train({ databaseName: DEFAULT_DATABASE_NAME, ...runtime, ...what });
        } catch (error) {
          // The run recorded the loss and stays resumable: on WebAssembly, in a fresh worker.
          if (!(error instanceof DeviceLostError) || runtime.backend !== "webgpu" || !this.activeRunId) throw error;
          replaceTrainWorker(error);
          // Nor is the next run trusted to a GPU that was just lost; the user may pick it again.
          this.backendChoice = "wasm";
          await train({ databaseName: DEFAULT_DATABASE_NAME, backend: "wasm", numThreads: wasmThreads(), runId: this.activeRunId });
        }
      } finally {
        this.activeRunId = null;
        this.controller = null;
        this.pausing = false;
        await this.refreshRuns();
        await this.refreshModels();
      }
    });
  }

  private onProgress(event: TrainProgressEvent): void {
    if (this.activeRunId === "") {
      this.activeRunId = event.runId;
      void this.refreshRuns();
    }
    const { point, devPoint, losses, dev, ...rest } = event;
    if (losses) this.losses = losses;
    if (dev) this.dev = dev;
    if (point) this.losses = [...this.losses, point];
    if (devPoint) this.dev = [...this.dev, devPoint];
    this.progress = rest;
  }

  /** Stops at the next step with a checkpoint; Resume goes on from it. */
  async pause(): Promise<void> {
    if (!this.activeRunId) return;
    this.pausing = true;
    await this.attempt(() => trainWorker().call("pause", { runId: this.activeRunId }));
  }

  cancel(): void {
    this.controller?.abort();
  }

  async discard(runId: string): Promise<void> {
    if (this.activeRunId === runId) return;
    await this.attempt(async () => {
      await discardTrainingRun(this.db, runId);
      await this.refreshRuns();
    });
  }
}
