// A public model from a Hugging Face Hub (huggingface.co, or a hospital's mirror with the
// same layout, `<base>/<id>/resolve/<revision>/<file>`) into the store, as if the user had
// dropped its folder: the files are fetched, read by readModelFolder and stored by
// storeModelFolder.
//
// Only what the privacy settings allow: the Hub must be allowed there (plan.hub) and every
// file URL on an origin of the plan, checked before the first request. Requests carry no
// cookie and no referrer, so only public files come back and the Hub learns a model id and
// file names, nothing else. The fetch function is a parameter: tests pass their own.

import { CancelledError, HubError, ModelFormatError, type HubProblem } from "../errors.ts";
import { planAllows, type ConnectionPlan } from "../privacy/policy.ts";
import type { AppDatabase } from "../store/db.ts";
import { parseConfig, type EncoderConfig } from "./config.ts";
import { readModelFolder } from "./folder.ts";
import { storeModelFolder, type StoredModel } from "./load.ts";

export type HubFetch = (url: string, init: RequestInit) => Promise<Response>;

export interface HubReference {
  /** "dslim/bert-base-NER", or a legacy one-part id ("bert-base-cased"). */
  id: string;
  revision: string;
}

export interface HubProgress {
  file: string;
  /** Bytes of this file received so far. */
  loaded: number;
  /** Its size from Content-Length; null when the server did not say. */
  total: number | null;
}

export interface HubDownload {
  /** The plan in force: it says whether downloads are allowed and from which Hub. */
  plan: ConnectionPlan;
  /** What the user typed: an id, id@revision, or a URL on the Hub. */
  reference: string;
  fetch: HubFetch;
  signal?: AbortSignal;
  onProgress?: (progress: HubProgress) => void;
}

export interface DownloadedModel extends HubReference {
  /** Every file, by path relative to the model folder (what readModelFolder takes). */
  files: Map<string, Uint8Array>;
}

const DEFAULT_REVISION = "main";
const CONFIG = "config.json";
const TOKENIZER = "tokenizer.json";
const OPTIONAL = ["tokenizer_config.json", "special_tokens_map.json"];
const SAFETENSORS = "model.safetensors";
const SAFETENSORS_INDEX = "model.safetensors.index.json";
const ONNX = "onnx/model.onnx";
/** Progress is reported at most once per this many bytes (and at each file's end). */
const PROGRESS_STEP = 512 * 1024;

// --- What the user typed -------------------------------------------------------------------

const ID_PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const URL_MARKERS = new Set(["resolve", "tree", "blob"]);

function badReference(input: string, problem: string): HubError {
  return new HubError(input.trim() || "(empty)", undefined, "bad-reference", problem);
}

function checkId(input: string, parts: string[]): string {
  if (parts.length < 1 || parts.length > 2 || !parts.every((part) => ID_PART.test(part) && !part.includes(".."))) {
    throw badReference(input, "not a model id: write it as organisation/name (e.g. dslim/bert-base-NER), optionally with @revision, or paste the model's URL");
  }
  return parts.join("/");
}

function checkRevision(input: string, revision: string): string {
  if (!revision || /\s/.test(revision) || revision.split("/").some((part) => part === "" || part === "." || part === "..")) {
    throw badReference(input, `"${revision}" is not a revision (a branch, tag or commit)`);
  }
  return revision;
}

/**
 * The model id and revision in `input`: "org/name", "org/name@revision", or a URL under
 * `hubBaseUrl` ("<base>/org/name", ".../tree/<revision>", ".../resolve/<revision>/<file>").
 */
export function parseHubReference(input: string, hubBaseUrl: string): HubReference {
  const text = input.trim();
  if (/^https?:\/\//i.test(text)) return parseHubUrl(text, hubBaseUrl);
  const at = text.indexOf("@");
  const id = checkId(input, (at < 0 ? text : text.slice(0, at)).split("/"));
  return { id, revision: at < 0 ? DEFAULT_REVISION : checkRevision(input, text.slice(at + 1)) };
}

function parseHubUrl(text: string, hubBaseUrl: string): HubReference {
  const url = new URL(text);
  const base = new URL(hubBaseUrl);
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname)) {
    throw badReference(
      text,
      `not on the Hub allowed in the privacy settings (${base.href}); to download from that server, set it as the Hub address in the Privacy panel`,
    );
  }
  let parts: string[];
  try {
    parts = url.pathname.slice(base.pathname.length).split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    throw badReference(text, "the URL's path is not valid percent-encoding");
  }
  const marker = parts.findIndex((part, index) => index > 0 && URL_MARKERS.has(part));
  if (marker < 0) return { id: checkId(text, parts), revision: DEFAULT_REVISION };
  return { id: checkId(text, parts.slice(0, marker)), revision: checkRevision(text, parts[marker + 1] ?? "") };
}

/** Where one file of the model lives: `<base>/<id>/resolve/<revision>/<file>`. */
export function hubFileUrl(hubBaseUrl: string, reference: HubReference, file: string): string {
  const path = [...reference.id.split("/"), "resolve", reference.revision, ...file.split("/")].map(encodeURIComponent).join("/");
  return new URL(path, hubBaseUrl).href;
}

// --- Downloading ---------------------------------------------------------------------------

/** The Hub base the plan allows, or why there is none; nothing is requested either way. */
function allowedHub(plan: ConnectionPlan, modelId: string): string {
  if (plan.offline) {
    throw new HubError(modelId, undefined, "offline", "offline mode is on in the Privacy panel, so nothing is downloaded. Turn it off there to download a model.");
  }
  if (plan.hub === null) {
    throw new HubError(
      modelId,
      undefined,
      "not-allowed",
      "downloads from Hugging Face are not allowed. Allow them in the Privacy panel, which names the hosts that will be contacted.",
    );
  }
  return plan.hub;
}

class Downloader {
  constructor(
    private readonly options: HubDownload,
    private readonly base: string,
    private readonly reference: HubReference,
  ) {}

  private fail(file: string, reason: HubProblem, problem: string): HubError {
    return new HubError(this.reference.id, file, reason, problem);
  }

  /** The file's bytes; any failure (a 404 included) is an error naming the file. */
  get(file: string): Promise<Uint8Array> {
    return this.fetchFile(file, true) as Promise<Uint8Array>;
  }

  /** The file's bytes, or null when the Hub has no such file (404). */
  getOptional(file: string): Promise<Uint8Array | null> {
    return this.fetchFile(file, false);
  }

  private async fetchFile(file: string, required: boolean): Promise<Uint8Array | null> {
    const url = hubFileUrl(this.base, this.reference, file);
    if (!planAllows(this.options.plan, url)) {
      throw this.fail(file, "not-allowed", `${url} is not on a host the privacy settings allow`);
    }
    const response = await this.request(file, url);
    if (!response.ok) {
      // The error page is not needed; releasing it frees the connection at once.
      await response.body?.cancel();
      if (response.status === 404 && !required) return null;
      this.checkStatus(file, url, response);
    }
    return this.readBody(file, response);
  }

  private async request(file: string, url: string): Promise<Response> {
    const { signal } = this.options;
    if (signal?.aborted) throw new CancelledError(`download of ${this.reference.id}`);
    try {
      // No cookie and no login: only public files. No referrer: the Hub need not learn the app's address.
      return await this.options.fetch(url, { signal, credentials: "omit", referrerPolicy: "no-referrer", redirect: "follow" });
    } catch (error) {
      throw this.networkError(file, error, url);
    }
  }

  private networkError(file: string, error: unknown, url: string): Error {
    if (this.options.signal?.aborted) return new CancelledError(`download of ${this.reference.id}`);
    const detail = error instanceof Error ? error.message : String(error);
    return this.fail(
      file,
      "unreachable",
      `could not be fetched from ${url} (${detail}). The server may be down, or it redirected to a host the privacy settings do not allow.`,
    );
  }

  /** Throws the error for a response that is not ok. */
  private checkStatus(file: string, url: string, response: Response): never {
    const { status } = response;
    if (status === 401 || status === 403) {
      throw this.fail(
        file,
        "unauthorized",
        `the Hub refused access (HTTP ${status}): the model is gated or private, or does not exist. Only public models can be downloaded; this app sends no login.`,
      );
    }
    if (status === 404) {
      throw this.fail(file, "not-found", `not found (HTTP 404) at ${url}; check the model id and the revision "${this.reference.revision}"`);
    }
    throw this.fail(file, "http", `the server answered HTTP ${status} ${response.statusText} for ${url}`);
  }

  private async readBody(file: string, response: Response): Promise<Uint8Array> {
    const header = Number(response.headers.get("content-length"));
    const total = Number.isFinite(header) && header > 0 ? header : null;
    const sink = new ByteSink(total);
    const report = () => this.options.onProgress?.({ file, loaded: sink.length, total });
    try {
      if (!response.body) sink.push(new Uint8Array(await response.arrayBuffer()));
      else {
        const reader = response.body.getReader();
        let reported = 0;
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
          sink.push(chunk.value);
          if (sink.length - reported >= PROGRESS_STEP) {
            reported = sink.length;
            report();
          }
        }
      }
    } catch (error) {
      throw this.networkError(file, error, response.url);
    }
    report();
    if (total !== null && sink.length < total) {
      throw this.fail(file, "truncated", `the connection closed after ${sink.length} of ${total} bytes; try again`);
    }
    return sink.bytes();
  }
}

/** Received bytes in one buffer: sized by Content-Length when known, so a 400 MB file is not copied twice. */
class ByteSink {
  private buffer: Uint8Array;
  length = 0;

  constructor(expected: number | null) {
    this.buffer = new Uint8Array(expected ?? 1 << 16);
  }

  push(chunk: Uint8Array): void {
    if (this.length + chunk.byteLength > this.buffer.byteLength) {
      const grown = new Uint8Array(Math.max(this.length + chunk.byteLength, this.buffer.byteLength * 2));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(chunk, this.length);
    this.length += chunk.byteLength;
  }

  bytes(): Uint8Array {
    return this.length === this.buffer.byteLength ? this.buffer : this.buffer.slice(0, this.length);
  }
}

/** Classes a checkpoint may be saved as and still be a token tagger or an encoder to put one on. */
const ENCODER_ARCHITECTURE = /(ForTokenClassification|Model|ForMaskedLM|ForPreTraining)$/;

/** Refuses, before the weights are downloaded, a config this app cannot train as a token tagger. */
function checkTokenClassification(modelId: string, bytes: Uint8Array): void {
  let config: EncoderConfig;
  try {
    config = parseConfig(new TextDecoder().decode(bytes), "config.json");
  } catch (error) {
    if (!(error instanceof ModelFormatError)) throw error;
    throw new HubError(modelId, "config.json", "not-token-classification", `not an encoder this app can train for token classification: ${error.problem}`);
  }
  const other = config.architectures.filter((name) => !ENCODER_ARCHITECTURE.test(name));
  if (other.length > 0) {
    throw new HubError(
      modelId,
      "config.json",
      "not-token-classification",
      `not a token-classification model: it is a ${other.join(", ")}, whose head does not tag tokens. Pick a …ForTokenClassification model or a plain encoder.`,
    );
  }
}

/** The shard files a model.safetensors.index.json names (plain relative names only). */
function shardNames(modelId: string, bytes: Uint8Array): string[] {
  let index: unknown;
  try {
    index = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new HubError(modelId, SAFETENSORS_INDEX, "bad-file", `not valid JSON (${(error as Error).message})`);
  }
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
    throw new HubError(modelId, SAFETENSORS_INDEX, "bad-file", "has no weight_map object");
  }
  const shards = [...new Set(Object.values(weightMap as Record<string, unknown>))];
  for (const shard of shards) {
    if (typeof shard !== "string" || !/^[\w.-]+\.safetensors$/.test(shard)) {
      throw new HubError(modelId, SAFETENSORS_INDEX, "bad-file", `names the shard ${JSON.stringify(shard)}, which is not a .safetensors file name`);
    }
  }
  return shards as string[];
}

/** The weights: model.safetensors, else its shards, else onnx/model.onnx. */
async function downloadWeights(downloader: Downloader, modelId: string, files: Map<string, Uint8Array>): Promise<void> {
  const single = await downloader.getOptional(SAFETENSORS);
  if (single) return void files.set(SAFETENSORS, single);
  const index = await downloader.getOptional(SAFETENSORS_INDEX);
  if (index) {
    files.set(SAFETENSORS_INDEX, index);
    for (const shard of shardNames(modelId, index)) files.set(shard, await downloader.get(shard));
    return;
  }
  const onnx = await downloader.getOptional(ONNX);
  if (onnx) return void files.set(ONNX, onnx);
  throw new HubError(
    modelId,
    SAFETENSORS,
    "not-found",
    `the model has no weights this app can read: ${SAFETENSORS}, ${SAFETENSORS_INDEX} and ${ONNX} are all missing ` +
      `(a model saved only as pytorch_model.bin must be converted to safetensors first)`,
  );
}

/**
 * Downloads a model's files: config.json (checked first, so a model of another kind costs
 * one small request), the tokenizer files, then the weights. Nothing is requested unless
 * the plan allows the Hub and every file URL.
 */
export async function downloadHubModel(options: HubDownload): Promise<DownloadedModel> {
  const base = allowedHub(options.plan, options.reference.trim() || "(no model id)");
  const reference = parseHubReference(options.reference, base);
  const downloader = new Downloader(options, base, reference);
  const files = new Map<string, Uint8Array>();
  const config = await downloader.get(CONFIG);
  checkTokenClassification(reference.id, config);
  files.set(CONFIG, config);
  const tokenizer = await downloader.getOptional(TOKENIZER);
  if (!tokenizer) {
    throw new HubError(
      reference.id,
      TOKENIZER,
      "not-found",
      "missing (HTTP 404): this app needs the fast tokenizer file tokenizer.json, and the model has none (older models ship only vocab.txt). " +
        "Save the tokenizer with transformers (AutoTokenizer.from_pretrained(...).save_pretrained(folder)) and drop the folder instead.",
    );
  }
  files.set(TOKENIZER, tokenizer);
  for (const file of OPTIONAL) {
    const bytes = await downloader.getOptional(file);
    if (bytes) files.set(file, bytes);
  }
  await downloadWeights(downloader, reference.id, files);
  return { ...reference, files };
}

/** The name a downloaded model is stored under: its id, and the revision unless it is main. */
export function hubModelName(reference: HubReference): string {
  return reference.revision === DEFAULT_REVISION ? reference.id : `${reference.id}@${reference.revision}`;
}

/** Downloads the model and stores it like a dropped folder (readModelFolder, storeModelFolder). */
export async function storeHubModel(db: AppDatabase, options: HubDownload, projectId?: string): Promise<StoredModel & { reference: HubReference }> {
  const downloaded = await downloadHubModel(options);
  const stored = await storeModelFolder(db, readModelFolder(downloaded.files), { name: hubModelName(downloaded), kind: "uploaded", projectId });
  return { ...stored, reference: { id: downloaded.id, revision: downloaded.revision } };
}
