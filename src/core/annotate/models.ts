// The local models a user may pick, where their files come from, and the one adapter
// module that reaches WebLLM (loaded lazily: it is 7 MB of JavaScript).
//
// Catalogue: instruction-tuned models from WebLLM's `prebuiltAppConfig` that follow an
// extraction prompt, each in a q4f16 build (needs shader-f16) and a q4f32 build. The
// "-1k" builds are left out: a 1,024-token context cannot hold the schema, the guideline
// and a note.
//
// Hosts: WebLLM fetches weights from `record.model` (Hugging Face) and the compiled model
// library from `record.model_lib` (GitHub). The app never uses those addresses as they
// are: every record is rewritten onto the hosts the user configured (a hospital mirrors
// the files on its intranet), and `checkHosts` refuses an app config with any other host.
// A mirror keeps Hugging Face's layout: `<weights base>/<repo>/resolve/main/<file>` and
// `<library base>/<file>.wasm`.

import type { AppConfig, InitProgressReport, ModelRecord } from "@mlc-ai/web-llm";
import { AppError } from "../errors.ts";
import { webLlmEngine, type ChatEngine, type WebLlmLike } from "./chat.ts";
import { CONTEXT_OVERFLOW, EngineLostError, PromptTooLongError } from "./errors.ts";
import type { ModelNeeds } from "./capability.ts";

export type { AppConfig, InitProgressReport, ModelRecord };

export interface ModelFamily {
  /** What the user reads: "Qwen2.5 3B Instruct". */
  name: string;
  id: RegExp;
  note: string;
}

/** The families offered, smallest first. Each `id` matches the q4f16_1 and q4f32_1 builds only. */
export const FAMILIES: readonly ModelFamily[] = [
  { name: "Qwen2.5 1.5B Instruct", id: /^Qwen2\.5-1\.5B-Instruct-q4f(16|32)_1-MLC$/, note: "fast; weakest" },
  { name: "Qwen3 1.7B", id: /^Qwen3-1\.7B-q4f(16|32)_1-MLC$/, note: "fast; thinks before answering unless told not to" },
  { name: "Gemma-2 2B it", id: /^gemma-2-2b-it-q4f(16|32)_1-MLC$/, note: "small; good multilingual" },
  { name: "Qwen2.5 3B Instruct", id: /^Qwen2\.5-3B-Instruct-q4f(16|32)_1-MLC$/, note: "a good default on a laptop GPU" },
  { name: "Llama-3.2 3B Instruct", id: /^Llama-3\.2-3B-Instruct-q4f(16|32)_1-MLC$/, note: "English notes" },
  { name: "Phi-3.5 mini instruct", id: /^Phi-3\.5-mini-instruct-q4f(16|32)_1-MLC$/, note: "3.8B; English notes" },
  { name: "Qwen3 4B", id: /^Qwen3-4B-q4f(16|32)_1-MLC$/, note: "stronger; needs a 4 GB GPU" },
  { name: "Qwen2.5 7B Instruct", id: /^Qwen2\.5-7B-Instruct-q4f(16|32)_1-MLC$/, note: "strong; needs a 6 GB GPU" },
  { name: "Qwen3 8B", id: /^Qwen3-8B-q4f(16|32)_1-MLC$/, note: "strong; needs a 6-7 GB GPU" },
  { name: "Llama-3.1 8B Instruct", id: /^Llama-3\.1-8B-Instruct-q4f(16|32)_1-MLC$/, note: "strong; needs a 5-6 GB GPU" },
];

export interface ModelBuild {
  id: string;
  quant: "q4f16" | "q4f32";
  vramMB?: number;
  lowResource: boolean;
  bufferBytes?: number;
  contextWindow?: number;
  record: ModelRecord;
}

export interface CatalogueEntry {
  family: string;
  note: string;
  f16?: ModelBuild;
  f32?: ModelBuild;
}

function build(record: ModelRecord): ModelBuild {
  return {
    id: record.model_id,
    quant: record.model_id.includes("q4f16") ? "q4f16" : "q4f32",
    vramMB: record.vram_required_MB,
    lowResource: record.low_resource_required ?? false,
    bufferBytes: record.buffer_size_required_bytes,
    contextWindow: record.overrides?.context_window_size,
    record,
  };
}

/** The families found in WebLLM's model list, in FAMILIES order (a family WebLLM dropped is left out). */
export function catalogue(modelList: readonly ModelRecord[]): CatalogueEntry[] {
  const entries: CatalogueEntry[] = [];
  for (const family of FAMILIES) {
    const entry: CatalogueEntry = { family: family.name, note: family.note };
    for (const record of modelList) {
      if (!family.id.test(record.model_id)) continue;
      const built = build(record);
      entry[built.quant === "q4f16" ? "f16" : "f32"] = built;
    }
    if (entry.f16 || entry.f32) entries.push(entry);
  }
  return entries;
}

/** The build to use: q4f16 when the GPU has shader-f16 (smaller, faster), else q4f32. */
export function chooseBuild(entry: CatalogueEntry, shaderF16: boolean): ModelBuild {
  const chosen = shaderF16 ? (entry.f16 ?? entry.f32) : (entry.f32 ?? entry.f16);
  if (!chosen) throw new AppError(`No build of ${entry.family} in WebLLM's model list.`);
  return chosen;
}

export function needsOf(entry: CatalogueEntry, chosen: ModelBuild, downloadBytes?: number): ModelNeeds {
  return {
    modelId: chosen.id,
    vramMB: chosen.vramMB,
    f16: chosen.quant === "q4f16",
    lowResource: chosen.lowResource,
    bufferBytes: chosen.bufferBytes,
    downloadBytes,
    f32Alternative: entry.f32?.id,
  };
}

// --- Hosts -----------------------------------------------------------------------------

export interface ModelHosts {
  /** Folder holding one sub-folder per model repository (Hugging Face layout). */
  weightsBaseUrl: string;
  /** Folder holding the compiled model libraries (`*.wasm`). */
  libsBaseUrl: string;
}

/** WebLLM's public hosts, shown as the starting values so the user sees where files would come from. */
export const PUBLIC_HOSTS: ModelHosts = {
  weightsBaseUrl: "https://huggingface.co/mlc-ai/",
  libsBaseUrl: "https://raw.githubusercontent.com/mlc-ai/binary-mlc-llm-libs/main/web-llm-models/v0_2_86/base/",
};

export class ModelHostError extends AppError {
  override name = "ModelHostError";
}

/** An absolute http(s) folder URL ending in "/"; WebLLM needs absolute URLs. */
export function normalizeBaseUrl(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new ModelHostError(`The ${what} "${value}" is not an absolute URL: write it in full, e.g. https://models.hospital.example/webllm/.`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ModelHostError(`The ${what} must start with https:// or http://, not ${url.protocol}`);
  }
  url.search = "";
  url.hash = "";
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url.href;
}

function lastSegment(url: string): string {
  const parts = new URL(url).pathname.split("/").filter(Boolean);
  // A model URL may already end in resolve/<revision>.
  const resolveAt = parts.lastIndexOf("resolve");
  const name = resolveAt > 0 ? parts[resolveAt - 1] : parts[parts.length - 1];
  if (!name) throw new ModelHostError(`Cannot tell the file or repository name in ${url}.`);
  return name;
}

/** The record with its weights and library on the configured hosts. */
export function rewriteRecord(record: ModelRecord, hosts: ModelHosts): ModelRecord {
  const weights = normalizeBaseUrl(hosts.weightsBaseUrl, "weights address");
  const libs = normalizeBaseUrl(hosts.libsBaseUrl, "model library address");
  return {
    ...record,
    model: new URL(`${encodeURIComponent(lastSegment(record.model))}/resolve/main/`, weights).href,
    model_lib: new URL(encodeURIComponent(lastSegment(record.model_lib)), libs).href,
  };
}

/** An app config holding only the chosen records, rewritten onto the configured hosts. */
export function appConfigFor(records: readonly ModelRecord[], hosts: ModelHosts, cacheBackend: "cache" | "indexeddb" = "cache"): AppConfig {
  const appConfig: AppConfig = { model_list: records.map((record) => rewriteRecord(record, hosts)), cacheBackend };
  checkHosts(appConfig, hosts);
  return appConfig;
}

/** The origins the app may fetch model files from. */
export function allowedOrigins(hosts: ModelHosts): Set<string> {
  return new Set([
    new URL(normalizeBaseUrl(hosts.weightsBaseUrl, "weights address")).origin,
    new URL(normalizeBaseUrl(hosts.libsBaseUrl, "model library address")).origin,
  ]);
}

/** Throws unless every URL of the app config is absolute and on a configured host. */
export function checkHosts(appConfig: AppConfig, hosts: ModelHosts): void {
  const allowed = allowedOrigins(hosts);
  for (const record of appConfig.model_list) {
    for (const url of [record.model, record.model_lib]) {
      let origin: string;
      try {
        origin = new URL(url).origin;
      } catch {
        throw new ModelHostError(`${record.model_id}: "${url}" is not an absolute URL.`);
      }
      if (!allowed.has(origin)) {
        throw new ModelHostError(`${record.model_id}: ${url} is not on a host you configured (${[...allowed].join(", ")}).`);
      }
    }
  }
}

/**
 * Bytes of a model's weights, from its tensor-cache.json on the configured host (the
 * shards' sizes; the library and tokenizer add a few MB). Undefined when the host does not
 * answer: the size is then shown as unknown.
 */
export async function fetchWeightsBytes(record: ModelRecord, doFetch: typeof fetch = globalThis.fetch.bind(globalThis)): Promise<number | undefined> {
  for (const name of ["tensor-cache.json", "ndarray-cache.json"]) {
    try {
      const response = await doFetch(new URL(name, record.model).href);
      if (!response.ok) continue;
      const json = (await response.json()) as { records?: { nbytes?: number }[] };
      if (!Array.isArray(json.records)) continue;
      return json.records.reduce((sum, shard) => sum + (shard.nbytes ?? 0), 0);
    } catch {
      // Try the older name, then give up.
    }
  }
  return undefined;
}

/** The Cache Storage bucket where WebLLM keeps model weights (with their tensor-cache.json). */
export const WEIGHTS_CACHE = "webllm/model";

/** The weights' size of a cached model, from the tensor-cache.json WebLLM keeps beside them; undefined when it is not there. */
export async function cachedWeightsBytes(record: ModelRecord, storage: CacheStorage = globalThis.caches): Promise<number | undefined> {
  const cache = await storage.open(WEIGHTS_CACHE);
  return fetchWeightsBytes(record, async (url) => (await cache.match(String(url))) ?? new Response(null, { status: 404 }));
}

// --- WebLLM -----------------------------------------------------------------------------

/** The part of `@mlc-ai/web-llm` the app uses; a test passes its own. */
export interface WebLlmModule {
  prebuiltAppConfig: AppConfig;
  CreateWebWorkerMLCEngine(
    worker: unknown,
    modelId: string,
    engineConfig: { appConfig: AppConfig; initProgressCallback?: (report: InitProgressReport) => void },
  ): Promise<WebLlmLike & { unload(): Promise<void> }>;
  hasModelInCache(modelId: string, appConfig: AppConfig): Promise<boolean>;
  deleteModelAllInfoInCache(modelId: string, appConfig: AppConfig): Promise<void>;
}

export function importWebLlm(): Promise<WebLlmModule> {
  return import("@mlc-ai/web-llm") as unknown as Promise<WebLlmModule>;
}

/** WebLLM's worker rejects with strings; this names the model and keeps the text. */
export class WebLlmError extends AppError {
  override name = "WebLlmError";
}

/** WebLLM's words when its model is gone: unloaded (ModelNotLoadedError), or the GPU device lost. */
const MODEL_GONE = /model not loaded|device (?:was )?lost/i;

/** The worker's rejections (strings over the message channel) as typed errors that name the model. */
function asError(error: unknown, modelId: string): Error {
  const text = error instanceof Error ? error.message : String(error);
  if (CONTEXT_OVERFLOW.test(text)) return new PromptTooLongError(`${modelId}: ${text}`, { cause: error });
  if (MODEL_GONE.test(text)) {
    return new EngineLostError(`${modelId} is no longer loaded (${text.split("\n")[0]}). Load it again and resume the run: the notes already done are kept.`, { cause: error });
  }
  if (error instanceof Error) return error;
  return new WebLlmError(`${modelId}: ${text}`);
}

export interface LocalModel {
  modelId: string;
  engine: ChatEngine;
  /** The build's context window in tokens, as its record says (WebLLM's default applies where it says nothing). */
  contextTokens?: number;
  unload(): Promise<void>;
}

export interface LoadOptions {
  /** The Worker running workers/llm.worker.ts (WebWorkerMLCEngineHandler). */
  worker: unknown;
  modelId: string;
  appConfig: AppConfig;
  hosts: ModelHosts;
  onProgress?: (report: InitProgressReport) => void;
  webllm?: WebLlmModule;
}

/** Downloads (or reads from the cache) and loads a model in the worker; the result speaks the ChatEngine shape. */
export async function loadLocalModel(options: LoadOptions): Promise<LocalModel> {
  checkHosts(options.appConfig, options.hosts);
  const webllm = options.webllm ?? (await importWebLlm());
  let engine: Awaited<ReturnType<WebLlmModule["CreateWebWorkerMLCEngine"]>>;
  try {
    engine = await webllm.CreateWebWorkerMLCEngine(options.worker, options.modelId, {
      appConfig: options.appConfig,
      initProgressCallback: options.onProgress,
    });
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    const record = options.appConfig.model_list.find((item) => item.model_id === options.modelId);
    if (record && /request failed|failed to fetch|networkerror|\b404\b/i.test(text)) {
      throw new WebLlmError(
        `${options.modelId} could not be downloaded from ${record.model} (${text}). ` +
          `Check the weights address, that the host serves the files in Hugging Face's layout, and that it allows this site (CORS).`,
        { cause: error },
      );
    }
    throw asError(error, options.modelId);
  }
  const guarded: WebLlmLike = {
    chat: {
      completions: {
        create: (request) => engine.chat.completions.create(request).catch((error: unknown) => Promise.reject(asError(error, options.modelId))),
      },
    },
    interruptGenerate: () => engine.interruptGenerate?.(),
  };
  const contextTokens = options.appConfig.model_list.find((item) => item.model_id === options.modelId)?.overrides?.context_window_size;
  return { modelId: options.modelId, engine: webLlmEngine(guarded), ...(contextTokens ? { contextTokens } : {}), unload: () => engine.unload() };
}

export async function isModelCached(modelId: string, appConfig: AppConfig, webllm?: WebLlmModule): Promise<boolean> {
  return (webllm ?? (await importWebLlm())).hasModelInCache(modelId, appConfig);
}

/**
 * Deletes what WebLLM keeps of a model: weights, library, tokenizer and config, and the
 * weights' tensor-cache.json, which WebLLM 0.2.86 leaves behind when it deletes the shards.
 */
export async function deleteCachedModel(modelId: string, appConfig: AppConfig, webllm?: WebLlmModule, storage: CacheStorage = globalThis.caches): Promise<void> {
  await (webllm ?? (await importWebLlm())).deleteModelAllInfoInCache(modelId, appConfig);
  const record = appConfig.model_list.find((item) => item.model_id === modelId);
  if (record) await (await storage.open(WEIGHTS_CACHE)).delete(new URL("tensor-cache.json", record.model).href);
}
