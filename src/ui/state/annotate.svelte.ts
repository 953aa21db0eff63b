// The annotate step of one project: what this machine can run, which annotator (a local
// WebLLM model, a hospital's OpenAI-compatible server with the user's consent, term
// lists), and the runs over the pool notes with their progress, failures and gold check.
// One instance per project for the page's life (`annotateStateFor`), so a run keeps going
// while the user looks at other steps.
import { judgeModel, probeGpu, type GpuReport, type Verdict } from "../../core/annotate/capability.ts";
import {
  appConfigFor,
  cachedWeightsBytes,
  catalogue,
  chooseBuild,
  deleteCachedModel,
  fetchWeightsBytes,
  importWebLlm,
  isModelCached,
  loadLocalModel,
  needsOf,
  PUBLIC_HOSTS,
  type AppConfig,
  type CatalogueEntry,
  type InitProgressReport,
  type LocalModel,
  type ModelBuild,
  type ModelHosts,
} from "../../core/annotate/models.ts";
import { chooseExamples, exampleCandidates, fewShotExamples, type ExampleCandidate } from "../../core/annotate/examples.ts";
import { EngineLostError } from "../../core/annotate/errors.ts";
import { PauseControl } from "../../core/annotate/run.ts";
import {
  backendFor,
  createAnnotationRun,
  goldCheck,
  goldNotesWithSpans,
  runConfig,
  runProgress,
  runStored,
  unplacedOfRun,
  type AnnotateRunConfig,
  type AnnotateRunProgress,
  type BackendConfig,
  type GoldCheck,
  type RunUnplaced,
} from "../../core/annotate/store-run.ts";
import type { TermList } from "../../core/annotate/terms.ts";
import { termListsFromText, withCue, type TermText } from "../../core/annotate/term-text.ts";
import type { TaskSchema } from "../../core/schema/types.ts";
import type { Span } from "../../core/corpus/types.ts";
import {
  DEFAULT_DATABASE_NAME,
  countNotes,
  findNotes,
  isEntityModel,
  listModels,
  listRuns,
  noteIdsDoneByRun,
  type AppDatabase,
  type ModelRow,
  type RunRow,
} from "../../core/store/index.ts";
import type { PredictRequest, ReleaseRequest } from "../../../workers/infer-api.ts";
import { inferWorker, llmWorker } from "../workers.ts";
import { policyAllows } from "../csp.ts";
import { allowEndpointForNextLoad } from "./privacy.svelte.ts";
import { perProject } from "./per-project.svelte.ts";
import { attempt } from "./attempt.ts";

export type BackendKind = "webllm" | "endpoint" | "terms" | "model";

export interface RunView {
  run: RunRow;
  config: AnnotateRunConfig;
  progress: AnnotateRunProgress;
  /** Being worked on by this page right now. */
  live: boolean;
  /** Stored as running or paused but no loop on this page: the page was reloaded or closed. */
  interrupted: boolean;
  /** Mentions and relations the annotator gave that are not in the stored rows, per note. */
  unplaced: RunUnplaced;
}

export interface FailedNote {
  noteId: number;
  externalId: string;
  error: string;
}

const HOSTS_KEY = "annotate:model-hosts";
const ENDPOINT_KEY = "annotate:endpoint";
/** Consent given just before the reload that put the endpoint in the page's policy (this tab only). */
const CONSENT_KEY = "annotate:consent-across-reload";
const termsKey = (projectId: string) => `annotate:terms:${projectId}`;

function readJson<T>(key: string, fallback: T): T {
  try {
    const text = globalThis.localStorage?.getItem(key);
    return text ? { ...fallback, ...(JSON.parse(text) as T) } : fallback;
  } catch {
    return fallback;
  }
}

function writeJson(key: string, value: unknown): void {
  try {
    globalThis.localStorage?.setItem(key, JSON.stringify(value));
  } catch {
    // Private mode or full storage: the settings last as long as the page.
  }
}

/** The address that receives note text for an endpoint base URL (what openAiEndpoint POSTs to). */
export function completionsUrl(baseUrl: string): string {
  return `${baseUrl.trim().replace(/\/+$/, "")}/chat/completions`;
}

/** The source-model annotator: one note's text through a stored model in the inference worker. */
async function predictWithModel(modelId: string, text: string): Promise<Span[]> {
  const request: PredictRequest = { databaseName: DEFAULT_DATABASE_NAME, modelId, texts: [text] };
  const [spans] = await inferWorker().call<Span[][]>("predict", request);
  return spans;
}

async function releaseModel(modelId: string): Promise<void> {
  const request: ReleaseRequest = { databaseName: DEFAULT_DATABASE_NAME, modelId };
  await inferWorker().call("release", request);
}

const stateFor = perProject((projectId: string, db: AppDatabase, schema: () => TaskSchema) => new AnnotateState(db, projectId, schema));

export function annotateStateFor(db: AppDatabase, projectId: string, schema: () => TaskSchema): AnnotateState {
  return stateFor(projectId, db, schema);
}

export class AnnotateState {
  // What this machine offers.
  gpu = $state.raw<GpuReport | null>(null);
  entries = $state.raw<CatalogueEntry[]>([]);

  backend = $state<BackendKind>("webllm");

  // Local model (WebLLM).
  family = $state("Qwen2.5 3B Instruct");
  hosts = $state<ModelHosts>(readJson(HOSTS_KEY, { ...PUBLIC_HOSTS }));
  cached = $state<boolean | null>(null);
  /** Every build of the catalogue found in the browser's cache, with its weights' size. */
  cachedModels = $state.raw<{ build: ModelBuild; bytes?: number }[]>([]);
  cacheProblem = $state<string | null>(null);
  weightsBytes = $state<number | undefined>(undefined);
  loadProgress = $state.raw<InitProgressReport | null>(null);
  loading = $state(false);
  local = $state.raw<LocalModel | null>(null);

  // OpenAI-compatible endpoint: off until the user turns it on, silent until they consent.
  endpointEnabled = $state(false);
  endpointUrl = $state(readJson(ENDPOINT_KEY, { url: "http://localhost:8000/v1", model: "" }).url);
  endpointModel = $state(readJson(ENDPOINT_KEY, { url: "", model: "" }).model);
  /** The server holds answers to a JSON schema (structured output). */
  endpointStructured = $state(readJson<{ structured?: boolean }>(ENDPOINT_KEY, {}).structured ?? false);
  /** Never stored: typed again after a reload. */
  apiKey = $state("");
  /** The base URL the user agreed to send notes to; consent lapses when the URL changes. */
  consentedUrl = $state<string | null>(null);

  // Term lists, per entity type, as typed (with attribute cues).
  terms = $state<Record<string, TermText>>({});

  // The source model as annotator (self-training baseline): a stored model that can run.
  models = $state.raw<ModelRow[]>([]);
  sourceModelId = $state<string | null>(null);

  /** The backend is an LLM with a prompt (WebLLM or a server). */
  usesPrompt = $derived(this.backend === "webllm" || this.backend === "endpoint");

  // Few-shot examples (LLM backends): reviewed or imported pool notes, chosen to show the most types.
  exampleCount = $state(2);
  candidates = $state.raw<ExampleCandidate[]>([]);

  // Answers per note: one greedy answer, or self-consistency over several samples.
  samples = $state(1);
  temperature = $state(0.7);
  threshold = $state(0.5);

  // Runs.
  runs = $state.raw<RunView[]>([]);
  progress = $state.raw<AnnotateRunProgress | null>(null);
  activeRunId = $state<string | null>(null);
  paused = $state(false);
  failed = $state.raw<FailedNote[]>([]);
  poolCount = $state(0);
  goldCount = $state(0);
  goldChecks = $state.raw<Record<string, GoldCheck>>({});
  /** The last note a run stored, so the user can look at it. */
  lastNoteId = $state<number | null>(null);
  error = $state<string | null>(null);

  private controller: AbortController | null = null;
  private cacheRefresh = 0;
  private pause: PauseControl | null = null;
  private worker: Worker | null = null;

  constructor(
    private readonly db: AppDatabase,
    readonly projectId: string,
    private readonly schema: () => TaskSchema,
  ) {
    this.terms = readJson<Record<string, TermText>>(termsKey(projectId), {});
    // Consent the user gave just before the page reloaded to let the server in.
    const carried = globalThis.sessionStorage?.getItem(CONSENT_KEY);
    if (carried && carried === this.endpointUrl.trim() && policyAllows(completionsUrl(carried))) {
      globalThis.sessionStorage?.removeItem(CONSENT_KEY);
      this.backend = "endpoint";
      this.endpointEnabled = true;
      this.consentedUrl = carried;
    }
  }

  examples = $derived(this.usesPrompt ? chooseExamples(this.candidates, Math.max(0, Math.floor(this.exampleCount || 0))) : []);
  /** Why the sampling settings cannot be used, or null. */
  samplingProblem = $derived.by(() => {
    if (!Number.isInteger(this.samples) || this.samples < 1 || this.samples > 10) return "Samples must be a whole number from 1 to 10.";
    if (this.samples === 1) return null;
    if (!(this.temperature > 0 && this.temperature <= 2)) return "With several samples the temperature must be above 0 (answers would all be the same) and at most 2.";
    if (!(this.threshold > 0 && this.threshold <= 1)) return "The share of samples must be above 0 and at most 1.";
    return null;
  });

  /** The run's sampling parameters. */
  private parameters(): AnnotateRunConfig["parameters"] {
    return this.samples > 1 ? { samples: this.samples, temperature: this.temperature, threshold: this.threshold } : { temperature: 0 };
  }

  /** What a new run annotates: the pool without the examples' notes. */
  notesToAnnotate = $derived(Math.max(0, this.poolCount - this.examples.length));

  entry = $derived(this.entries.find((entry) => entry.family === this.family) ?? null);
  shaderF16 = $derived(this.gpu?.adapter?.features.includes("shader-f16") ?? false);
  build = $derived<ModelBuild | null>(this.entry ? chooseBuild(this.entry, this.shaderF16) : null);
  verdict = $derived<Verdict | null>(
    this.gpu && this.entry && this.build
      ? judgeModel(this.gpu, needsOf(this.entry, this.build, this.cached ? 0 : this.weightsBytes))
      : null,
  );
  consentGiven = $derived(this.endpointEnabled && this.consentedUrl !== null && this.consentedUrl === this.endpointUrl.trim());
  running = $derived(this.activeRunId !== null);

  async init(): Promise<void> {
    await this.attempt(async () => {
      const [gpu, webllm] = await Promise.all([probeGpu(), importWebLlm()]);
      this.gpu = gpu;
      this.entries = catalogue(webllm.prebuiltAppConfig.model_list);

      await Promise.all([this.refreshRuns(), this.refreshCache(), this.refreshModels()]);
    });
  }

  /** Runs an action; a failure is shown instead of lost. */
  private attempt<T>(action: () => Promise<T>): Promise<T | undefined> {
    return attempt(this, action);
  }

  // --- Local model ------------------------------------------------------------------------

  private appConfig(build = this.build): AppConfig {
    if (!build) throw new Error("Choose a model first.");
    return appConfigFor([build.record], $state.snapshot(this.hosts));
  }

  saveHosts(): void {
    writeJson(HOSTS_KEY, $state.snapshot(this.hosts));
    // The page's Content-Security-Policy names the hosts it started with: a new one needs a reload.
    if (!policyAllows(this.hosts.weightsBaseUrl) || !policyAllows(this.hosts.libsBaseUrl)) return location.reload();
    this.cached = null;
    this.weightsBytes = undefined;
    void this.refreshCache();
  }

  /** What the browser's cache holds: the chosen build, and every build of the catalogue. A cache that cannot be read is said so. */
  async refreshCache(): Promise<void> {
    // Refreshes overlap (the step shown again, a load or delete ending): only the latest one's answer is kept.
    const refresh = ++this.cacheRefresh;
    try {
      const builds = this.entries.flatMap((entry) => [entry.f16, entry.f32]).filter((build): build is ModelBuild => build !== undefined);
      const found: { build: ModelBuild; bytes?: number }[] = [];
      for (const build of builds) {
        const appConfig = this.appConfig(build);
        if (await isModelCached(build.id, appConfig)) found.push({ build, bytes: await cachedWeightsBytes(appConfig.model_list[0]) });
      }
      if (refresh !== this.cacheRefresh) return;
      this.cachedModels = found;
      this.cached = this.build ? found.some((item) => item.build.id === this.build!.id) : null;
      this.cacheProblem = null;
    } catch (error) {
      if (refresh !== this.cacheRefresh) return;
      this.cached = null;
      this.cacheProblem = `The browser's model cache cannot be read here (${(error as Error).message}).`;
    }
  }

  /** Asks the configured host for the weights' size (tensor-cache.json). */
  async checkSize(): Promise<void> {
    await this.attempt(async () => {
      this.weightsBytes = await fetchWeightsBytes(this.appConfig().model_list[0]);
      if (this.weightsBytes === undefined) throw new Error(`The host did not give the size of ${this.build?.id}: is the weights address right?`);
    });
  }

  /** Loads the chosen build, or `build` (a resumed run's own). */
  async loadModel(build = this.build): Promise<void> {
    if (!build || this.loading) return;
    const modelId = build.id;
    this.loading = true;
    this.loadProgress = null;
    await this.attempt(async () => {
      await this.unloadModel();
      this.worker = llmWorker();
      this.local = await loadLocalModel({
        worker: this.worker,
        modelId,
        appConfig: this.appConfig(build),
        hosts: $state.snapshot(this.hosts),
        onProgress: (report) => (this.loadProgress = report),
      });
    });
    this.loading = false;
    await this.refreshCache();
  }

  async unloadModel(): Promise<void> {
    const local = this.local;
    this.local = null;
    this.loadProgress = null;
    await local?.unload().catch(() => undefined);
    this.worker?.terminate();
    this.worker = null;
  }

  /** Deletes a build's weights, library and config from the browser's cache (the chosen build by default). */
  async deleteCache(build = this.build): Promise<void> {
    if (!build) return;
    await this.attempt(async () => {
      if (this.local?.modelId === build.id) await this.unloadModel();
      await deleteCachedModel(build.id, this.appConfig(build));
      await this.refreshCache();
    });
  }

  // --- Endpoint and terms -------------------------------------------------------------------

  /** Remembers the server's address, model name and structured output (never the API key). */
  private saveEndpoint(): void {
    writeJson(ENDPOINT_KEY, { url: this.endpointUrl.trim(), model: this.endpointModel.trim(), structured: this.endpointStructured });
  }

  setStructured(structured: boolean): void {
    this.endpointStructured = structured;
    this.saveEndpoint();
  }

  setConsent(given: boolean): void {
    this.consentedUrl = given ? this.endpointUrl.trim() : null;
    this.saveEndpoint();
    if (given && !policyAllows(completionsUrl(this.endpointUrl))) {
      // Not in the page's policy yet: allow it (Privacy), carry the consent, reload.
      try {
        allowEndpointForNextLoad(this.endpointUrl);
        globalThis.sessionStorage?.setItem(CONSENT_KEY, this.endpointUrl.trim());
        location.reload();
      } catch (error) {
        this.consentedUrl = null;
        this.error = error instanceof Error ? error.message : String(error);
      }
    }
  }

  setEndpointEnabled(enabled: boolean): void {
    this.endpointEnabled = enabled;
    if (!enabled) this.consentedUrl = null;
  }

  setTerms(type: string, field: "terms" | "patterns", value: string): void {
    this.saveTerms(type, { ...this.termText(type), [field]: value });
  }

  /** The cue words (or the window) that set `attribute = value` on the type's matches. */
  setCue(type: string, attribute: string, value: string, field: "words" | "window", text: string): void {
    this.saveTerms(type, withCue(this.termText(type), attribute, value, { [field]: text }));
  }

  removeCue(type: string, attribute: string, value: string): void {
    this.saveTerms(type, withCue(this.termText(type), attribute, value, { words: "", window: "" }));
  }

  private termText(type: string): TermText {
    return this.terms[type] ?? { terms: "", patterns: "" };
  }

  private saveTerms(type: string, text: TermText): void {
    this.terms = { ...this.terms, [type]: text };
    writeJson(termsKey(this.projectId), $state.snapshot(this.terms));
  }

  /** The typed lists; throws TermListError on a bad pattern or a cue the schema does not allow. */
  termLists(): TermList[] {
    return termListsFromText(this.schema(), $state.snapshot(this.terms));
  }

  private backendConfig(): BackendConfig {
    switch (this.backend) {
      case "webllm":
        if (!this.local) throw new Error("Load the model first.");
        return { kind: "webllm", modelId: this.local.modelId, weightsBaseUrl: this.hosts.weightsBaseUrl, libsBaseUrl: this.hosts.libsBaseUrl };
      case "endpoint":
        if (!this.endpointEnabled) throw new Error("Turn the server on first.");
        return {
          kind: "endpoint",
          url: this.endpointUrl.trim(),
          model: this.endpointModel.trim(),
          consentedUrl: this.consentGiven ? this.consentedUrl! : "",
          consentedAt: Date.now(),
          ...(this.endpointStructured ? { structured: true } : {}),
        };
      case "terms":
        return { kind: "terms", lists: this.termLists() };
      case "model": {
        const model = this.models.find((item) => item.id === this.sourceModelId);
        if (!model) throw new Error("Choose the model first.");
        return { kind: "model", modelId: model.id, model: model.name };
      }
    }
  }

  async refreshModels(): Promise<void> {
    this.models = (await listModels(this.db, this.projectId)).filter(isEntityModel);
    if (!this.models.some((model) => model.id === this.sourceModelId)) {
      this.sourceModelId = (this.models.find((model) => model.kind === "demo") ?? this.models[0])?.id ?? null;
    }
  }

  canStart = $derived(
    !this.running &&
      (this.backend === "webllm"
        ? this.local !== null
        : this.backend === "endpoint"
          ? this.consentGiven
          : this.backend === "model"
            ? this.sourceModelId !== null
            : true) &&
      !(this.usesPrompt && this.samplingProblem),
  );

  // --- Runs -------------------------------------------------------------------------------------

  /** The notes that could be examples: they change with reviews and imports, so they are read when the step is shown. */
  async refreshExamples(): Promise<void> {
    await this.attempt(async () => {
      this.candidates = await exampleCandidates(this.db, this.projectId);
    });
  }

  async refreshRuns(): Promise<void> {
    const [rows, pool, gold] = await Promise.all([
      listRuns(this.db, this.projectId, "annotate"),
      countNotes(this.db, this.projectId, { split: "pool" }),
      goldNotesWithSpans(this.db, this.projectId),
    ]);
    this.poolCount = pool;
    this.goldCount = gold;
    this.runs = await Promise.all(
      rows.map(async (run) => {
        const live = run.id === this.activeRunId;
        const interrupted = !live && (run.status === "running" || run.status === "paused" || run.status === "pending");
        const progress = runProgress(run);
        // The page stopped between storing a note and recording it: count what is stored.
        if (interrupted) progress.done = (await noteIdsDoneByRun(this.db, run.id)).size;
        const unplaced = await unplacedOfRun(this.db, run.id);
        return { run, config: run.config as AnnotateRunConfig, progress, live, interrupted, unplaced };
      }),
    );
    const checks: Record<string, GoldCheck> = {};
    for (const view of this.runs) {
      if (view.config.purpose === "gold-check" && view.config.checks && view.run.status === "done") {
        checks[view.config.checks] = await goldCheck(this.db, this.projectId, view.run.id);
      }
    }
    this.goldChecks = checks;
    const shown = this.runs.find((view) => view.run.id === this.activeRunId) ?? this.runs.find((view) => view.config.purpose === "pool");
    if (shown && !this.activeRunId) this.progress = shown.progress;
    await this.refreshFailed(shown);
  }

  private async refreshFailed(view: RunView | undefined): Promise<void> {
    const failures = view?.progress.failures ?? {};
    const ids = Object.keys(failures).map(Number);
    const notes = ids.length ? await findNotes(this.db, ids) : [];
    const names = new Map(notes.map((note) => [note.id, note.externalId]));
    this.failed = ids.map((noteId) => ({ noteId, externalId: names.get(noteId) ?? String(noteId), error: failures[noteId].message }));
  }

  /** Starts a run over the pool notes with the chosen annotator. */
  async start(): Promise<void> {
    if (this.running) return;
    await this.attempt(async () => {
      const backend = this.backendConfig();
      const examples = await fewShotExamples(this.db, this.examples.map((example) => example.noteId));
      const config = runConfig(this.schema(), backend, { parameters: this.usesPrompt ? this.parameters() : {}, examples });
      const run = await createAnnotationRun(this.db, this.projectId, config);
      await this.execute(run.id, config);
    });
  }

  /** Continues a run that was interrupted (reload), paused or cancelled. */
  async resume(runId: string): Promise<void> {
    const view = this.runs.find((item) => item.run.id === runId);
    if (!view || this.running) return;
    await this.attempt(() => this.execute(runId, view.config));
  }

  async retryFailed(runId: string): Promise<void> {
    const view = this.runs.find((item) => item.run.id === runId);
    if (!view || this.running) return;
    const only = new Set(Object.keys(view.progress.failures).map(Number));
    await this.attempt(() => this.execute(runId, view.config, only));
  }

  /** Runs the pool run's annotator on the gold notes, as a separate run, and scores it. */
  async checkAgainstGold(poolRunId: string): Promise<void> {
    const view = this.runs.find((item) => item.run.id === poolRunId);
    if (!view || this.running) return;
    await this.attempt(async () => {
      // The same prompt as the pool run: its examples too (pool notes, never gold).
      const examples = await fewShotExamples(this.db, view.config.examples ?? []);
      const config = runConfig(this.schema(), view.config.backend, { parameters: view.config.parameters, purpose: "gold-check", checks: poolRunId, examples });
      const run = await createAnnotationRun(this.db, this.projectId, config);
      await this.execute(run.id, config);
    });
  }

  private async execute(runId: string, config: AnnotateRunConfig, only?: Set<number>): Promise<void> {
    const wanted = config.backend;
    if (wanted.kind === "webllm" && this.local?.modelId !== wanted.modelId) {
      // A resumed run uses its own model, from the hosts it was started with.
      const entry = this.entries.find((item) => item.f16?.id === wanted.modelId || item.f32?.id === wanted.modelId);
      if (!entry) throw new Error(`${wanted.modelId} is not in the catalogue.`);
      this.family = entry.family;
      this.hosts = { weightsBaseUrl: wanted.weightsBaseUrl, libsBaseUrl: wanted.libsBaseUrl };
      await this.loadModel(entry.f16?.id === wanted.modelId ? entry.f16 : entry.f32);
      if (this.local?.modelId !== wanted.modelId) throw new Error(this.error ?? `Could not load ${wanted.modelId}.`);
    }
    const backend = backendFor(config, { localModel: this.local ?? undefined, apiKey: this.apiKey, predictWithModel });
    this.controller = new AbortController();
    this.pause = new PauseControl();
    this.paused = false;
    this.activeRunId = runId;
    await this.refreshRuns();
    try {
      await runStored({
        db: this.db,
        runId,
        schema: this.schema(),
        backend,
        signal: this.controller.signal,
        pause: this.pause,
        only,
        onProgress: (progress, noteId) => {
          this.progress = progress;
          if (noteId !== undefined && !progress.failures[noteId]) this.lastNoteId = noteId;
        },
      });
    } catch (error) {
      // WebLLM unloaded the model (the GPU was lost): forget it, so Resume loads it again.
      if (error instanceof EngineLostError) await this.unloadModel();
      throw error;
    } finally {
      this.activeRunId = null;
      this.controller = null;
      this.pause = null;
      this.paused = false;
      if (wanted.kind === "model") await releaseModel(wanted.modelId);
      await this.refreshRuns();
    }
  }

  togglePause(): void {
    if (!this.pause) return;
    if (this.pause.paused) this.pause.resume();
    else this.pause.pause();
    this.paused = this.pause.paused;
  }

  cancel(): void {
    this.pause?.resume();
    this.controller?.abort();
  }
}
