import { strToU8 } from "fflate";
import { afterEach, describe, expect, it } from "vitest";
import { PUBLIC_HOSTS } from "../../../src/core/annotate/models.ts";
import { CancelledError, HubError, fromErrorData, toErrorData, type HubProblem } from "../../../src/core/errors.ts";
import { createConfig } from "../../../src/core/model/config.ts";
import { readModelFolder, writeModelFolder } from "../../../src/core/model/folder.ts";
import { downloadHubModel, hubFileUrl, parseHubReference, storeHubModel, type HubFetch, type HubProgress } from "../../../src/core/model/hub.ts";
import { randomEncoderWeights } from "../../../src/core/model/random-init.ts";
import { readSafetensors, writeSafetensors } from "../../../src/core/model/safetensors.ts";
import { connectionPlan, type ConnectionPlan } from "../../../src/core/privacy/policy.ts";
import { getModelFile } from "../../../src/core/store/models.ts";
import { startHubServer, type HubServer } from "../../e2e/fixtures/hub-server.ts";
import { freshDatabase } from "../store/helpers.ts";

const APP = "http://127.0.0.1:4173";
const HF = "https://huggingface.co/";
const labels = ["O", "B-DRUG", "I-DRUG"];
const config = createConfig("bert", { vocabSize: 30, hiddenSize: 8, numLayers: 1, numHeads: 2, intermediateSize: 16, maxPositions: 16, labels });
const tokenizerJson = { version: "1.0", model: { type: "WordPiece", vocab: { "[PAD]": 0, "[UNK]": 1 } } };

/** A small token-classification model folder, as a Hub repository holds it. */
function modelFolder(): Map<string, Uint8Array> {
  return writeModelFolder(config, labels, randomEncoderWeights(config, 3), { tokenizerJson, tokenizerConfig: { do_lower_case: true } });
}

function withConfig(files: Map<string, Uint8Array>, change: (config: Record<string, unknown>) => void): Map<string, Uint8Array> {
  const json = JSON.parse(new TextDecoder().decode(files.get("config.json"))) as Record<string, unknown>;
  change(json);
  return new Map([...files, ["config.json", strToU8(JSON.stringify(json))]]);
}

/** The same weights split into two shards with their index, as a large checkpoint is saved. */
function sharded(files: Map<string, Uint8Array>): Map<string, Uint8Array> {
  const tensors = [...readSafetensors(files.get("model.safetensors")!).tensors];
  const half = Math.ceil(tensors.length / 2);
  const shards = [tensors.slice(0, half), tensors.slice(half)];
  const out = new Map([...files].filter(([path]) => path !== "model.safetensors"));
  const weightMap: Record<string, string> = {};
  shards.forEach((part, i) => {
    const name = `model-0000${i + 1}-of-00002.safetensors`;
    out.set(name, writeSafetensors(part, { metadata: { format: "pt" } }));
    for (const [tensor] of part) weightMap[tensor] = name;
  });
  out.set("model.safetensors.index.json", strToU8(JSON.stringify({ metadata: {}, weight_map: weightMap })));
  return out;
}

const planFor = (hub: string | undefined, offline = false): ConnectionPlan =>
  connectionPlan(APP, PUBLIC_HOSTS, { offline, endpoint: null, ...(hub ? { hub } : {}) });

interface FakeCall {
  url: string;
  init: RequestInit;
}

/** A fetch answering from `files` (path under the repository's resolve/main/) with the given statuses. */
function fakeHub(files: Map<string, Uint8Array>, status: Record<string, number> = {}) {
  const calls: FakeCall[] = [];
  const fetch: HubFetch = async (url, init) => {
    calls.push({ url, init });
    const file = decodeURIComponent(new URL(url).pathname.replace(/^\/[^/]+\/[^/]+\/resolve\/[^/]+\//, ""));
    if (status[file]) return new Response("no", { status: status[file] });
    const bytes = files.get(file);
    if (!bytes) return new Response("Entry not found", { status: 404 });
    return new Response(new Uint8Array(bytes), { headers: { "content-length": String(bytes.byteLength) } });
  };
  return { fetch, calls, files: () => calls.map((call) => decodeURIComponent(call.url.slice(call.url.indexOf("/resolve/main/") + 14))) };
}

async function hubError(promise: Promise<unknown>): Promise<HubError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a HubError");
    },
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(HubError);
  return error as HubError;
}

describe("what the user typed", () => {
  it.each([
    ["dslim/bert-base-NER", HF, "dslim/bert-base-NER", "main"],
    ["  dslim/bert-base-NER@v1.1 ", HF, "dslim/bert-base-NER", "v1.1"],
    ["bert-base-cased", HF, "bert-base-cased", "main"],
    ["https://huggingface.co/dslim/bert-base-NER", HF, "dslim/bert-base-NER", "main"],
    ["https://huggingface.co/dslim/bert-base-NER/tree/a1b2c3", HF, "dslim/bert-base-NER", "a1b2c3"],
    ["https://huggingface.co/dslim/bert-base-NER/resolve/main/config.json", HF, "dslim/bert-base-NER", "main"],
    ["https://huggingface.co/bert-base-cased/blob/dev/README.md", HF, "bert-base-cased", "dev"],
    ["https://mirror.hospital.example/hf/org/clinical-ner/tree/v2", "https://mirror.hospital.example/hf/", "org/clinical-ner", "v2"],
  ])("%s", (input, base, id, revision) => {
    expect(parseHubReference(input, base)).toEqual({ id, revision });
  });

  it.each([
    ["", /not a model id/],
    ["a/b/c", /not a model id/],
    ["org/na me", /not a model id/],
    ["../etc", /not a model id/],
    ["org/name@", /is not a revision/],
    ["org/name@../main", /is not a revision/],
    ["https://example.com/dslim/bert-base-NER", /not on the Hub allowed in the privacy settings \(https:\/\/huggingface\.co\/\)/],
    ["https://huggingface.co/", /not a model id/],
  ])("refuses %j", (input, message) => {
    let error: unknown;
    try {
      parseHubReference(input, HF);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(HubError);
    expect((error as HubError).reason).toBe("bad-reference");
    expect((error as HubError).message).toMatch(message);
  });

  it("puts files under <base>/<id>/resolve/<revision>/, the revision as one path segment", () => {
    expect(hubFileUrl("https://mirror.example/hf/", { id: "org/m", revision: "refs/pr/1" }, "onnx/model.onnx")).toBe(
      "https://mirror.example/hf/org/m/resolve/refs%2Fpr%2F1/onnx/model.onnx",
    );
  });
});

describe("downloading with an injected fetch", () => {
  it("fetches the config first, then the tokenizer files and the weights, without cookies or referrer", async () => {
    const hub = fakeHub(modelFolder());
    const downloaded = await downloadHubModel({ plan: planFor(HF), reference: "org/tiny-ner", fetch: hub.fetch });
    expect(hub.files()).toEqual(["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "model.safetensors"]);
    expect(hub.calls[0].url).toBe("https://huggingface.co/org/tiny-ner/resolve/main/config.json");
    expect(hub.calls.every((call) => call.init.credentials === "omit" && call.init.referrerPolicy === "no-referrer")).toBe(true);
    expect([...downloaded.files.keys()].sort()).toEqual(["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]);
    expect(readModelFolder(downloaded.files).config.labels).toEqual(labels);
  });

  it.each([
    ["not allowed", planFor(undefined), "not-allowed", /not allowed\. Allow them in the Privacy panel/],
    ["offline", planFor(HF, true), "offline", /offline mode is on/],
    // A plan whose Hub is not among its destinations (hand-made): the file URLs are refused.
    ["a Hub off the plan", { ...planFor(undefined), hub: "https://elsewhere.example/" }, "not-allowed", /is not on a host the privacy settings allow/],
  ])("sends no request when %s", async (_, plan, reason, message) => {
    const hub = fakeHub(modelFolder());
    const error = await hubError(downloadHubModel({ plan, reference: "org/tiny-ner", fetch: hub.fetch }));
    expect(error.reason).toBe(reason);
    expect(error.message).toMatch(/^org\/tiny-ner/);
    expect(error.message).toMatch(message);
    expect(hub.calls).toEqual([]);
  });

  it.each<[string, Record<string, number>, HubProblem, string, RegExp]>([
    ["a gated model", { "config.json": 401 }, "unauthorized", "config.json", /HTTP 401\): the model is gated or private/],
    ["a forbidden model", { "config.json": 403 }, "unauthorized", "config.json", /HTTP 403/],
    ["a server error", { "tokenizer.json": 500 }, "http", "tokenizer.json", /HTTP 500/],
    ["a forbidden weights file", { "model.safetensors": 403 }, "unauthorized", "model.safetensors", /gated or private/],
  ])("names the model, the file and the problem for %s", async (_, status, reason, file, message) => {
    const error = await hubError(downloadHubModel({ plan: planFor(HF), reference: "org/tiny-ner", fetch: fakeHub(modelFolder(), status).fetch }));
    expect(error.reason).toBe(reason);
    expect(error.file).toBe(file);
    expect(error.message).toMatch(new RegExp(`^org/tiny-ner, ${file.replace(".", "\\.")}: `));
    expect(error.message).toMatch(message);
  });

  it("says which file is missing: the config, the tokenizer, or any weights", async () => {
    const folder = modelFolder();
    const without = (...paths: string[]) => new Map([...folder].filter(([path]) => !paths.includes(path)));
    const noConfig = await hubError(downloadHubModel({ plan: planFor(HF), reference: "org/tiny-ner", fetch: fakeHub(without("config.json")).fetch }));
    expect([noConfig.reason, noConfig.file]).toEqual(["not-found", "config.json"]);
    expect(noConfig.message).toMatch(/HTTP 404\) at https:\/\/huggingface\.co\/org\/tiny-ner\/resolve\/main\/config\.json; check the model id and the revision "main"/);
    const noTokenizer = await hubError(downloadHubModel({ plan: planFor(HF), reference: "org/tiny-ner", fetch: fakeHub(without("tokenizer.json")).fetch }));
    expect([noTokenizer.reason, noTokenizer.file]).toEqual(["not-found", "tokenizer.json"]);
    expect(noTokenizer.message).toMatch(/only vocab\.txt/);
    const hub = fakeHub(without("model.safetensors"));
    const noWeights = await hubError(downloadHubModel({ plan: planFor(HF), reference: "org/tiny-ner", fetch: hub.fetch }));
    expect(noWeights.reason).toBe("not-found");
    expect(noWeights.message).toMatch(/model\.safetensors, model\.safetensors\.index\.json and onnx\/model\.onnx are all missing/);
    expect(hub.files().slice(-3)).toEqual(["model.safetensors", "model.safetensors.index.json", "onnx/model.onnx"]);
  });

  it("takes onnx/model.onnx when there is no safetensors", async () => {
    const onnx = new Uint8Array([8, 9, 10]);
    const folder = new Map([...modelFolder()].filter(([path]) => path !== "model.safetensors"));
    folder.set("onnx/model.onnx", onnx);
    const downloaded = await downloadHubModel({ plan: planFor(HF), reference: "org/tiny-ner", fetch: fakeHub(folder).fetch });
    expect(downloaded.files.get("onnx/model.onnx")).toEqual(onnx);
    expect(downloaded.files.has("model.safetensors")).toBe(false);
  });

  it.each([
    ["a sequence classifier", (c: Record<string, unknown>) => (c.architectures = ["BertForSequenceClassification"]), /it is a BertForSequenceClassification, whose head does not tag tokens/],
    ["a causal language model", (c: Record<string, unknown>) => (c.model_type = "gpt2"), /not an encoder this app can train.*model_type 'gpt2' is not supported/],
  ])("refuses %s after its config alone", async (_, change, message) => {
    const hub = fakeHub(withConfig(modelFolder(), change));
    const error = await hubError(downloadHubModel({ plan: planFor(HF), reference: "org/other", fetch: hub.fetch }));
    expect([error.reason, error.file]).toEqual(["not-token-classification", "config.json"]);
    expect(error.message).toMatch(message);
    expect(hub.files()).toEqual(["config.json"]);
  });

  it("accepts a plain encoder (masked LM), to train a head on", async () => {
    const folder = withConfig(modelFolder(), (c) => (c.architectures = ["BertForMaskedLM"]));
    const downloaded = await downloadHubModel({ plan: planFor(HF), reference: "org/encoder", fetch: fakeHub(folder).fetch });
    expect(downloaded.files.has("model.safetensors")).toBe(true);
  });

  it("downloads every shard a safetensors index names, and the folder reads as one checkpoint", async () => {
    const folder = modelFolder();
    const hub = fakeHub(sharded(folder));
    const downloaded = await downloadHubModel({ plan: planFor(HF), reference: "org/big-ner", fetch: hub.fetch });
    expect(hub.files().slice(-3)).toEqual(["model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]);
    const whole = readSafetensors(folder.get("model.safetensors")!).tensors;
    const read = readModelFolder(downloaded.files).weights!;
    expect([...read.keys()].sort()).toEqual([...whole.keys()].sort());
    for (const [name, tensor] of whole) expect(read.get(name)!.data).toEqual(tensor.data);
  });

  it("refuses a shard index naming a path outside the model folder", async () => {
    const files = sharded(modelFolder());
    files.set("model.safetensors.index.json", strToU8(JSON.stringify({ weight_map: { "a.weight": "../../secrets.safetensors" } })));
    const error = await hubError(downloadHubModel({ plan: planFor(HF), reference: "org/big-ner", fetch: fakeHub(files).fetch }));
    expect([error.reason, error.file]).toEqual(["bad-file", "model.safetensors.index.json"]);
  });

  it("reports progress in bytes of the Content-Length, ending at the total", async () => {
    const events: HubProgress[] = [];
    const folder = modelFolder();
    await downloadHubModel({ plan: planFor(HF), reference: "org/tiny-ner", fetch: fakeHub(folder).fetch, onProgress: (event) => events.push(event) });
    const weights = events.filter((event) => event.file === "model.safetensors");
    expect(weights.at(-1)).toEqual({ file: "model.safetensors", loaded: folder.get("model.safetensors")!.byteLength, total: folder.get("model.safetensors")!.byteLength });
    expect(events.map((event) => event.file)).toContain("config.json");
  });

  it("reports a body shorter than its Content-Length as truncated, and a refused connection as unreachable", async () => {
    const truncated: HubFetch = async () => new Response(new Uint8Array(10), { headers: { "content-length": "100" } });
    const short = await hubError(downloadHubModel({ plan: planFor(HF), reference: "org/tiny-ner", fetch: truncated }));
    expect([short.reason, short.file]).toEqual(["truncated", "config.json"]);
    expect(short.message).toMatch(/after 10 of 100 bytes/);
    const refused: HubFetch = async () => {
      throw new TypeError("Failed to fetch");
    };
    const unreachable = await hubError(downloadHubModel({ plan: planFor(HF), reference: "org/tiny-ner", fetch: refused }));
    expect(unreachable.reason).toBe("unreachable");
    expect(unreachable.message).toMatch(/Failed to fetch.*redirected to a host the privacy settings do not allow/);
  });

  it("stops on cancel in the middle of a file, and passes the signal to fetch", async () => {
    const controller = new AbortController();
    const signals: (AbortSignal | null | undefined)[] = [];
    const slow: HubFetch = async (_, init) => {
      signals.push(init.signal);
      // One chunk, then the body waits until the download is cancelled.
      const body = new ReadableStream<Uint8Array>({
        start(stream) {
          stream.enqueue(new Uint8Array(600 * 1024));
          init.signal?.addEventListener("abort", () => stream.error(new DOMException("aborted", "AbortError")));
        },
      });
      return new Response(body, { headers: { "content-length": String(2 * 1024 * 1024) } });
    };
    const download = downloadHubModel({
      plan: planFor(HF),
      reference: "org/tiny-ner",
      fetch: slow,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await expect(download).rejects.toBeInstanceOf(CancelledError);
    expect(signals).toEqual([controller.signal]);
  });

  it("crosses a worker boundary with its model id, file and reason", () => {
    const original = new HubError("org/m", "config.json", "unauthorized", "the Hub refused access");
    const rebuilt = fromErrorData(structuredClone(toErrorData(original))) as HubError;
    expect(rebuilt).toBeInstanceOf(HubError);
    expect([rebuilt.modelId, rebuilt.file, rebuilt.reason, rebuilt.message]).toEqual(["org/m", "config.json", "unauthorized", original.message]);
  });
});

describe("downloading from a real HTTP server", () => {
  let server: HubServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("follows the Hub's 302 for the weights to another port and stores the model like a dropped folder", async () => {
    const folder = modelFolder();
    server = await startHubServer({ models: { "org/tiny-ner": folder }, storage: "other-port" });
    const db = freshDatabase();
    const events: HubProgress[] = [];
    const stored = await storeHubModel(db, {
      plan: planFor(server.baseUrl),
      reference: `${server.baseUrl}org/tiny-ner`,
      fetch: globalThis.fetch.bind(globalThis),
      onProgress: (event) => events.push(event),
    });
    expect(stored.reference).toEqual({ id: "org/tiny-ner", revision: "main" });
    expect(stored.model.name).toBe("org/tiny-ner");
    expect(stored.runnable).toBe(true);
    expect(Object.keys(stored.model.files).sort()).toEqual(["config.json", "model.safetensors", "onnx/model.onnx", "tokenizer.json", "tokenizer_config.json"]);
    expect(await getModelFile(db, stored.model.id, "model.safetensors")).toEqual(folder.get("model.safetensors"));
    // The weights came from the second server, after the Hub's redirect; the rest from the Hub.
    expect(server.requests.map((request) => `${request.server} ${request.path}`)).toEqual([
      "hub /org/tiny-ner/resolve/main/config.json",
      "hub /org/tiny-ner/resolve/main/tokenizer.json",
      "hub /org/tiny-ner/resolve/main/tokenizer_config.json",
      "hub /org/tiny-ner/resolve/main/special_tokens_map.json",
      "hub /org/tiny-ner/resolve/main/model.safetensors",
      "storage /blobs/0",
    ]);
    const size = folder.get("model.safetensors")!.byteLength;
    expect(events.filter((event) => event.file === "model.safetensors").at(-1)).toEqual({ file: "model.safetensors", loaded: size, total: size });
  });

  it("answers a gated model with 401, a missing one and a missing revision with 404, each named", async () => {
    server = await startHubServer({ models: { "org/tiny-ner": modelFolder(), "org/gated": modelFolder() }, gated: ["org/gated"], storage: "other-port" });
    const plan = planFor(server.baseUrl);
    const fetch = globalThis.fetch.bind(globalThis);
    const gated = await hubError(downloadHubModel({ plan, reference: "org/gated", fetch }));
    expect([gated.reason, gated.modelId, gated.file]).toEqual(["unauthorized", "org/gated", "config.json"]);
    const missing = await hubError(downloadHubModel({ plan, reference: "org/nothing", fetch }));
    expect([missing.reason, missing.modelId, missing.file]).toEqual(["not-found", "org/nothing", "config.json"]);
    const revision = await hubError(downloadHubModel({ plan, reference: "org/tiny-ner@v9", fetch }));
    expect(revision.message).toMatch(/revision "v9"/);
    expect(server.requests.filter((request) => request.server === "storage")).toEqual([]);
  });

  it("sends nothing to a server the privacy settings do not name as the Hub", async () => {
    server = await startHubServer({ models: { "org/tiny-ner": modelFolder() }, storage: "other-port" });
    for (const plan of [planFor(undefined), planFor(server.baseUrl, true), planFor(HF)]) {
      const error = await hubError(downloadHubModel({ plan, reference: `${server.baseUrl}org/tiny-ner`, fetch: globalThis.fetch.bind(globalThis) }));
      expect(["not-allowed", "offline", "bad-reference"]).toContain(error.reason);
    }
    expect(server.requests).toEqual([]);
  });
});
