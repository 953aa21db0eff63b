// The annotate step in a real browser: what the capability check says about WebGPU is
// what the browser itself says; a real OpenAI-compatible server on 127.0.0.1 receives
// nothing before the user consents for its URL, then annotates the demo's pool notes,
// the spans show in the note view, a reload mid-run resumes without any note stored
// twice, and the gold check shows F1 per type.
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { openApp, screenshot, storedRecords, type OpenBrowser } from "./browser.ts";
import { setNumber } from "./demo-steps.ts";
import { startFakeLlmServer, startModelHost, type FakeLlmServer, type ModelHost } from "./fixtures/openai-server.ts";

const TYPES = ["Chemical", "Disease"];
const read = (file: string) => readFileSync(`public/demo/${file}`, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { id: string; text: string; entities?: { text: string; type: string }[] });
const POOL = read("notes-pool.jsonl");
const GOLD = read("notes-gold.jsonl");

/** What the server "knows": most gold entities (it misses DM2 and COPD) and some pool words. */
const LEXICON: Record<string, string> = {
  ...Object.fromEntries(GOLD.flatMap((note) => note.entities ?? []).filter((entity) => !["DM2", "COPD"].includes(entity.text)).map((entity) => [entity.text, entity.type])),
  myalgia: "Disease",
  atorvastatin: "Chemical",
  sertraline: "Chemical",
  depression: "Disease",
  insomnia: "Disease",
  morphine: "Chemical",
  stomatitis: "Disease",
  Pain: "Disease",
};

let open: OpenBrowser | undefined;
let server: FakeLlmServer | undefined;
let host: ModelHost | undefined;
afterEach(async () => {
  await open?.close();
  await server?.close();
  await host?.close();
  open = undefined;
  server = undefined;
  host = undefined;
});

async function toAnnotateStep(page: Page) {
  await expect.poll(() => page.getByTestId("project-name").textContent(), { timeout: 30_000 }).toContain("Demo");
  await page.getByTestId("step-annotate").click();
  await page.getByTestId("annotate-panel").waitFor();
}

async function chooseServer(page: Page, url: string) {
  await page.getByTestId("backend-endpoint").check();
  await page.getByTestId("endpoint-enabled").check();
  await page.getByTestId("endpoint-url").fill(url);
  await page.getByTestId("endpoint-model").fill("lexicon-7b");
}

/** Consents; the first time for a server the page reloads to let it in, and comes back consented. */
async function consent(page: Page) {
  await Promise.all([page.waitForEvent("load"), page.getByTestId("consent-checkbox").click()]);
  await toAnnotateStep(page);
  await expect.poll(() => page.getByTestId("consent-checkbox").isChecked()).toBe(true);
}

/** A run's rows of the annotations table in IndexedDB, read by the page itself. */
async function storedRows(page: Page, runId: string): Promise<{ noteId: number; origin: string; spans: unknown[] }[]> {
  const rows = await storedRecords<{ noteId: number; origin: string; runId: string; spans: unknown[] }>(page, "annotations");
  return rows.filter((row) => row.runId === runId).map(({ noteId, origin, spans }) => ({ noteId, origin, spans }));
}

async function latestRunId(page: Page): Promise<string> {
  const row = page.getByTestId("run-list").locator("tbody tr[data-run-id]").first();
  await row.waitFor();
  return (await row.getAttribute("data-run-id"))!;
}

describe("annotation in a real browser", () => {
  it("reports WebGPU, the adapter, shader-f16 and the limits as the browser gives them", async () => {
    open = await openApp();
    const { page } = open;
    await toAnnotateStep(page);
    await page.getByTestId("verdict").waitFor({ timeout: 30_000 });
    const truth = await page.evaluate(async () => {
      const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
      if (!gpu) return null;
      const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
      if (!adapter) return { adapter: null };
      return {
        adapter: { vendor: adapter.info.vendor, architecture: adapter.info.architecture, description: adapter.info.description },
        f16: adapter.features.has("shader-f16"),
        maxBuffer: adapter.limits.maxBufferSize,
        maxBinding: adapter.limits.maxStorageBufferBindingSize,
      };
    });
    console.log("WebGPU in this Chromium:", JSON.stringify(truth));
    expect(truth?.adapter, "this Chromium should offer WebGPU on SwiftShader").toBeTruthy();
    const shown = (id: string) => page.getByTestId(id).textContent();
    expect(await shown("webgpu")).toBe("available");
    expect(await shown("adapter-vendor")).toBe(truth!.adapter!.vendor || "?");
    expect(await shown("adapter-architecture")).toBe(truth!.adapter!.architecture || "?");
    expect(await shown("shader-f16")).toBe(truth!.f16 ? "yes" : "no");
    expect(Number(await page.getByTestId("max-buffer").getAttribute("data-bytes"))).toBe(truth!.maxBuffer);
    expect(Number(await page.getByTestId("max-binding").getAttribute("data-bytes"))).toBe(truth!.maxBinding);

    // Here that is SwiftShader, a CPU fallback: the UI must say so and warn that a model
    // would crawl (and must not on a machine with a real GPU).
    const software = /swiftshader|llvmpipe/i.test(`${truth!.adapter!.vendor} ${truth!.adapter!.architecture} ${truth!.adapter!.description}`);
    expect(await page.getByTestId("adapter-software").count()).toBe(software ? 1 : 0);
    const verdict = page.getByTestId("verdict");
    expect(await verdict.locator("li[data-kind=software]").count()).toBe(software ? 1 : 0);
    // The build offered follows shader-f16, and the verdict agrees with it.
    const build = (await shown("model-build")) ?? "";
    expect(build).toContain(truth!.f16 ? "q4f16" : "q4f32");
    expect(await verdict.locator("li[data-kind=no-shader-f16]").count()).toBe(0);
    await screenshot(page, "annotate-capability");
    expect(open.errors).toEqual([]);
  });

  it("sends nothing before consent; after it, annotates the pool notes and shows the spans and the gold F1", async () => {
    server = await startFakeLlmServer(LEXICON, TYPES);
    open = await openApp();
    const { page } = open;
    await toAnnotateStep(page);
    await expect.poll(() => page.getByTestId("pool-scope").textContent()).toContain(`${POOL.length} pool notes`);
    expect(await page.getByTestId("pool-scope").textContent()).toMatch(/Gold and dev notes are never annotated/);

    // Off by default: no address, no consent box.
    await page.getByTestId("backend-endpoint").check();
    expect(await page.getByTestId("endpoint-enabled").isChecked()).toBe(false);
    expect(await page.getByTestId("consent").count()).toBe(0);
    expect(await page.getByTestId("start-run").isDisabled()).toBe(true);

    await chooseServer(page, server.baseUrl);
    expect(await page.getByTestId("consent-url").textContent()).toBe(`${server.baseUrl}/chat/completions`);
    expect(await page.getByTestId("consent").textContent()).toContain(`I agree to send the notes' text to ${server.baseUrl}/chat/completions`);
    expect(await page.getByTestId("consent-checkbox").isChecked()).toBe(false);
    expect(await page.getByTestId("start-run").isDisabled()).toBe(true);
    await screenshot(page, "annotate-consent");
    await page.waitForTimeout(500);
    expect(server.requests, "the server must hear nothing before consent").toEqual([]);

    // Consent lapses when the address changes.
    await consent(page);
    expect(await page.getByTestId("start-run").isEnabled()).toBe(true);
    await page.getByTestId("endpoint-url").fill(`${server.baseUrl}/other`);
    expect(await page.getByTestId("consent-checkbox").isChecked()).toBe(false);
    expect(await page.getByTestId("start-run").isDisabled()).toBe(true);
    await page.getByTestId("endpoint-url").fill(server.baseUrl);
    expect(server.requests).toEqual([]);

    await page.getByTestId("consent-checkbox").check();
    await page.getByTestId("start-run").click();
    await expect.poll(() => page.getByTestId("notes-done").textContent(), { timeout: 60_000 }).toBe(String(POOL.length));
    expect(await page.getByTestId("notes-total").textContent()).toBe(String(POOL.length));
    expect(await page.getByTestId("failed-count").textContent()).toBe("0");
    expect(await page.getByTestId("tokens-per-second").textContent()).toMatch(/^[\d.]+ tokens\/s$/);
    const runId = await latestRunId(page);
    await expect.poll(() => page.locator(`tr[data-run-id="${runId}"]`).getAttribute("data-status")).toBe("done");

    // Only pool notes were sent, each once.
    expect([...server.notes()].sort()).toEqual(POOL.map((note) => note.text).sort());
    expect(server.requests.filter((request) => request.method === "POST").every((request) => request.url === "/v1/chat/completions")).toBe(true);
    const rows = await storedRows(page, runId);
    expect(rows).toHaveLength(POOL.length);
    expect(rows.every((row) => row.origin === "llm")).toBe(true);

    // The gold check: same server, gold notes, separate run; F1 per type on screen.
    await page.locator(`tr[data-run-id="${runId}"]`).getByTestId("gold-check").click();
    const f1 = page.getByTestId("gold-f1");
    await f1.waitFor({ timeout: 60_000 });
    // The server misses DM2 and COPD (Disease), and finds every Chemical.
    expect(await f1.locator(".score[data-type=Chemical]").textContent()).toBe("Chemical 100.0");
    expect(await f1.locator(".score[data-type=Disease]").textContent()).not.toBe("Disease 100.0");
    expect(await f1.textContent()).toMatch(/5 gold notes.*never used for training/);
    expect(server.notes()).toHaveLength(POOL.length + GOLD.length);
    expect(await storedRows(page, runId)).toHaveLength(POOL.length);
    await screenshot(page, "annotate-done");

    // The spans in the note view.
    await page.getByTestId("step-notes").click();
    await page.getByTestId("note-list").getByText("clinic-008").click();
    const marks = page.getByTestId("note-text").locator("mark");
    await expect.poll(() => marks.allTextContents()).toEqual(["myalgiaDisease", "atorvastatinChemical"]);
    await screenshot(page, "annotate-note-view");
    expect(open.errors).toEqual([]);
  });

  it("shows the model reviewed or imported pool notes as examples, and does not annotate them", async () => {
    server = await startFakeLlmServer(LEXICON, TYPES);
    open = await openApp();
    const { page } = open;
    await expect.poll(() => page.getByTestId("note-count").textContent(), { timeout: 30_000 }).toBe("16 notes");
    // Three annotated pool notes arrive with an import: short ones, one with both types.
    const annotated = [
      { id: "ex-1", text: "Aspirin given for chest pain.", entities: [{ start: 0, end: 7, type: "Chemical" }, { start: 18, end: 28, type: "Disease" }] },
      { id: "ex-2", text: "Metformin refilled.", entities: [{ start: 0, end: 9, type: "Chemical" }] },
      { id: "ex-3", text: "Long note. ".repeat(300) + "HTN.", entities: [{ start: 3300, end: 3303, type: "Disease" }] },
    ];
    await page.getByTestId("file-input").setInputFiles({ name: "annotated.jsonl", mimeType: "application/jsonl", buffer: Buffer.from(annotated.map((note) => JSON.stringify(note)).join("\n")) });
    await page.getByTestId("import-report").waitFor({ timeout: 60_000 });
    await toAnnotateStep(page);
    await chooseServer(page, server.baseUrl);
    await consent(page);

    // Two examples by default: the note with both types, then the shorter of the others.
    const list = page.getByTestId("example-list").locator("li");
    await expect.poll(() => list.allTextContents()).toEqual([
      "ex-1 · 29 characters · Chemical, Disease · imported",
      "ex-2 · 19 characters · Chemical · imported",
    ]);
    const pool = POOL.length + annotated.length;
    await expect.poll(() => page.getByTestId("pool-scope").textContent()).toContain(`${pool - 2} pool notes (of ${pool}: the examples are left out)`);
    await screenshot(page, "annotate-examples");

    await page.getByTestId("start-run").click();
    await expect.poll(() => page.getByTestId("notes-done").textContent(), { timeout: 60_000 }).toBe(String(pool - 2));
    const sent = server.requests.filter((request) => request.messages !== undefined);
    expect(sent).toHaveLength(pool - 2);
    expect(server.notes()).not.toContain(annotated[0].text);
    expect(server.notes()).not.toContain(annotated[1].text);
    expect(server.notes()).toContain(annotated[2].text);
    for (const request of sent) {
      const messages = request.messages!;
      expect(messages.map((message) => message.role)).toEqual(["system", "user", "assistant", "user", "assistant", "user"]);
      expect(messages[1].content).toContain(annotated[0].text);
      expect(messages[2].content).toBe("Chemical: Aspirin\nDisease: chest pain");
      expect(messages[4].content).toBe("Chemical: Metformin");
    }

    expect(sent.every((request) => request.temperature === 0 && request.n === 1)).toBe(true);

    // With none, the prompt is the schema and the guideline alone, and every pool note is annotated.
    await setNumber(page, "example-count", 0);
    expect(await page.getByTestId("example-list").count()).toBe(0);
    expect(await page.getByTestId("pool-scope").textContent()).toContain(`${pool} pool notes.`);
    expect(open.errors).toEqual([]);
  });

  it("holds a structured-output server's answers to the schema's JSON schema when the user says it has one", async () => {
    server = await startFakeLlmServer(LEXICON, TYPES);
    open = await openApp();
    const { page } = open;
    await toAnnotateStep(page);
    await chooseServer(page, server.baseUrl);
    await page.getByTestId("endpoint-structured").check();
    await consent(page);
    // Remembered across the reload that let the server in.
    expect(await page.getByTestId("endpoint-structured").isChecked()).toBe(true);
    await page.getByTestId("start-run").click();
    await expect.poll(() => page.getByTestId("notes-done").textContent(), { timeout: 60_000 }).toBe(String(POOL.length));
    const sent = server.requests.filter((request) => request.messages !== undefined);
    expect(sent).toHaveLength(POOL.length);
    for (const request of sent) {
      expect(request.responseFormat?.type).toBe("json_schema");
      expect(Object.keys(request.responseFormat!.json_schema!.schema.properties as object)).toEqual(TYPES);
      expect(request.messages![0].content).toContain("Answer with JSON only");
    }
    const runId = await latestRunId(page);
    expect(await page.locator(`tr[data-run-id="${runId}"]`).textContent()).toContain("JSON schema");
    // The JSON answers give the same spans as the plain lines: clinic-008's two.
    await page.getByTestId("step-notes").click();
    await page.getByTestId("note-list").getByText("clinic-008").click();
    await expect.poll(() => page.getByTestId("note-text").locator("mark").allTextContents()).toEqual(["myalgiaDisease", "atorvastatinChemical"]);
    expect(open.errors).toEqual([]);
  });

  it("asks for several samples at the chosen temperature (self-consistency), and refuses settings that cannot work", async () => {
    server = await startFakeLlmServer(LEXICON, TYPES);
    open = await openApp();
    const { page } = open;
    await toAnnotateStep(page);
    await chooseServer(page, server.baseUrl);
    await consent(page);
    expect(await page.getByTestId("temperature").count()).toBe(0);
    await setNumber(page, "samples", 3);
    await setNumber(page, "temperature", 0.8);
    await setNumber(page, "threshold", 0.6);
    await setNumber(page, "temperature", 0);
    await expect.poll(() => page.getByTestId("sampling-error").textContent()).toContain("temperature must be above 0");
    expect(await page.getByTestId("start-run").isDisabled()).toBe(true);
    await setNumber(page, "temperature", 0.8);
    expect(await page.getByTestId("sampling-error").count()).toBe(0);

    await page.getByTestId("start-run").click();
    await expect.poll(() => page.getByTestId("notes-done").textContent(), { timeout: 60_000 }).toBe(String(POOL.length));
    // The server gives one answer per call: each note is asked again until it has three.
    const sent = server.requests.filter((request) => request.messages !== undefined);
    expect(sent.map((request) => request.n)).toEqual(POOL.flatMap(() => [3, 2, 1]));
    expect(sent.every((request) => request.temperature === 0.8)).toBe(true);
    const runId = await latestRunId(page);
    expect(await page.locator(`tr[data-run-id="${runId}"]`).textContent()).toContain("3 samples");
    expect(open.errors).toEqual([]);
  });

  it("resumes after a reload mid-run without storing or sending any note twice", async () => {
    server = await startFakeLlmServer(LEXICON, TYPES);
    server.delayMs = 400;
    open = await openApp();
    const { page } = open;
    await toAnnotateStep(page);
    await chooseServer(page, server.baseUrl);
    await consent(page);
    await page.getByTestId("start-run").click();
    await expect.poll(async () => Number(await page.getByTestId("notes-done").textContent()), { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
    const runId = await latestRunId(page);
    await screenshot(page, "annotate-before-reload");

    await page.reload();
    const storedAtReload = await storedRows(page, runId);
    expect(storedAtReload.length).toBeGreaterThanOrEqual(3);
    expect(storedAtReload.length).toBeLessThan(POOL.length);
    const sentBeforeResume = server.notes().length;

    await toAnnotateStep(page);
    const row = page.locator(`tr[data-run-id="${runId}"]`);
    await expect.poll(() => row.getByTestId("run-status").textContent()).toBe("interrupted");
    expect(await row.locator("td").nth(4).textContent()).toBe(`${storedAtReload.length}/${POOL.length}`);
    await screenshot(page, "annotate-interrupted");
    server.delayMs = 50;
    await row.getByTestId("resume-run").click();
    await expect.poll(() => row.getAttribute("data-status"), { timeout: 60_000 }).toBe("done");
    expect(await page.getByTestId("notes-done").textContent()).toBe(String(POOL.length));

    const rows = await storedRows(page, runId);
    expect(rows).toHaveLength(POOL.length);
    expect(new Set(rows.map((item) => item.noteId)).size).toBe(POOL.length);
    // The resumed run sent only the notes not stored at the reload.
    const resent = server.notes().slice(sentBeforeResume);
    expect(resent).toHaveLength(POOL.length - storedAtReload.length);
    // At most the note in flight at the reload was sent twice; no gold note was sent.
    const counts = new Map<string, number>();
    for (const note of server.notes()) counts.set(note, (counts.get(note) ?? 0) + 1);
    expect([...counts.values()].filter((count) => count > 1).length).toBeLessThanOrEqual(1);
    expect(new Set(server.notes())).toEqual(new Set(POOL.map((note) => note.text)));
    await screenshot(page, "annotate-resumed");
    expect(open.errors).toEqual([]);
  });

  it("lists a failed note with its error, retries it, and pauses and cancels a run", async () => {
    server = await startFakeLlmServer(LEXICON, TYPES);
    server.failOn = "amoxicillin";
    open = await openApp();
    const { page } = open;
    await toAnnotateStep(page);
    await chooseServer(page, server.baseUrl);
    await consent(page);
    await page.getByTestId("start-run").click();
    const runId = await latestRunId(page);
    const row = page.locator(`tr[data-run-id="${runId}"]`);
    await expect.poll(() => row.getAttribute("data-status"), { timeout: 60_000 }).toBe("done");
    expect(await page.getByTestId("failed-count").textContent()).toBe("1");
    const failed = page.getByTestId("failed-notes");
    expect(await failed.textContent()).toContain("ed-012");
    expect(await failed.textContent()).toContain("HTTP 500");
    await screenshot(page, "annotate-failed");

    server.failOn = null;
    await row.getByTestId("retry-failed").click();
    await expect.poll(() => page.getByTestId("failed-notes").count(), { timeout: 30_000 }).toBe(0);
    expect(await page.getByTestId("notes-done").textContent()).toBe(String(POOL.length));
    expect(await storedRows(page, runId)).toHaveLength(POOL.length);

    // A second run: pause holds it between notes, resume goes on, cancel stops it.
    server.delayMs = 300;
    await page.getByTestId("start-run").click();
    await expect.poll(async () => Number(await page.getByTestId("notes-done").textContent()), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    await page.getByTestId("pause-run").click();
    const second = await latestRunId(page);
    expect(second).not.toBe(runId);
    await page.waitForTimeout(800);
    const heldAt = (await storedRows(page, second)).length;
    await page.waitForTimeout(1000);
    expect((await storedRows(page, second)).length).toBe(heldAt);
    expect(await page.locator(`tr[data-run-id="${second}"]`).getByTestId("run-status").textContent()).toBe("paused");
    await page.getByTestId("pause-run").click();
    await expect.poll(async () => (await storedRows(page, second)).length, { timeout: 30_000 }).toBeGreaterThan(heldAt);
    await page.getByTestId("cancel-run").click();
    await expect.poll(() => page.locator(`tr[data-run-id="${second}"]`).getAttribute("data-status"), { timeout: 30_000 }).toBe("cancelled");
    expect((await storedRows(page, second)).length).toBeLessThan(POOL.length);
    // The browser logs the server's 500 itself; nothing else may go wrong.
    expect(open.errors.filter((error) => !error.includes("status of 500"))).toEqual([]);
  });

  it("asks only the configured model host, through the real WebLLM worker", async () => {
    host = await startModelHost([400_000_000, 600_000_000]);
    open = await openApp();
    const { page, context } = open;
    const asked: string[] = [];
    context.on("request", (request) => asked.push(request.url()));
    await toAnnotateStep(page);
    await page.getByText("Where the model files come from").click();
    await page.getByTestId("weights-host").fill(`${host.baseUrl}/mirror/`);
    await page.getByTestId("libs-host").fill(`${host.baseUrl}/libs`);
    // New hosts enter the page's policy with a reload.
    await Promise.all([page.waitForEvent("load"), page.getByRole("button", { name: "Use these addresses" }).click()]);
    await toAnnotateStep(page);
    await page.getByRole("button", { name: "Ask the host for the size" }).click();
    await expect.poll(() => page.getByTestId("model-build").textContent()).toContain("download 954 MB");
    await expect.poll(() => page.getByTestId("cache-state").textContent()).toBe("Not downloaded yet.");
    const buildId = await page.getByTestId("model-build").locator("strong").textContent();
    expect(buildId).toMatch(/^Qwen2\.5-3B-Instruct-q4f(16|32)_1-MLC$/);

    await page.getByTestId("load-model").click();
    const error = page.getByTestId("annotate-error");
    await error.waitFor({ timeout: 60_000 });
    await screenshot(page, "annotate-webllm-host");
    // The worker asked the mirror (which has no such files) and nothing else outside the app.
    expect(host.paths.some((path) => path.startsWith(`/mirror/${buildId}/resolve/main/`))).toBe(true);
    const appOrigin = new URL(open.baseURL).origin;
    const outside = asked.filter((url) => !url.startsWith(appOrigin) && !url.startsWith("data:") && !url.startsWith("blob:"));
    expect(outside.length).toBeGreaterThan(0);
    expect(outside.every((url) => url.startsWith(host!.baseUrl))).toBe(true);
    expect(await page.getByTestId("model-loaded").count()).toBe(0);
    expect(await error.textContent()).toContain(`could not be downloaded from ${host.baseUrl}/mirror/${buildId}/resolve/main/`);
  });

  it("lists the models in the browser's cache with their size, and deletes one with WebLLM's own cache code", async () => {
    open = await openApp();
    const { page } = open;
    await toAnnotateStep(page);
    await expect.poll(() => page.getByTestId("cached-models").textContent(), { timeout: 30_000 }).toContain("No model is cached");
    const buildId = await page.getByTestId("model-build").locator("strong").textContent();
    // What WebLLM leaves after a download (weights under the configured host, by its tensor-cache.json), put there by hand.
    const weightsUrl = `https://huggingface.co/mlc-ai/${buildId}/resolve/main/`;
    await page.evaluate(async (base) => {
      const cache = await caches.open("webllm/model");
      const records = [
        { dataPath: "params_shard_0.bin", nbytes: 1_500_000 },
        { dataPath: "params_shard_1.bin", nbytes: 500_000 },
      ];
      await cache.put(`${base}tensor-cache.json`, new Response(JSON.stringify({ records })));
      for (const record of records) await cache.put(`${base}${record.dataPath}`, new Response(new Uint8Array(16)));
    }, weightsUrl);
    // Shown the next time the step opens.
    await page.getByTestId("step-notes").click();
    await toAnnotateStep(page);
    const item = page.getByTestId("cached-models").locator(`li[data-model-id="${buildId}"]`);
    await expect.poll(() => item.textContent(), { timeout: 30_000 }).toContain(`${buildId} · 2 MB`);
    expect(await page.getByTestId("cache-state").textContent()).toBe("In the browser's cache.");
    await screenshot(page, "annotate-cached-models");

    await item.getByTestId("delete-cached").click();
    await expect.poll(() => page.getByTestId("cached-models").textContent()).toContain("No model is cached");
    expect(await page.getByTestId("cache-state").textContent()).toBe("Not downloaded yet.");
    const left = await page.evaluate(async () => (await (await caches.open("webllm/model")).keys()).map((request) => request.url));
    expect(left).toEqual([]);
    expect(open.errors).toEqual([]);
  });

  it("annotates with the user's term lists and patterns, with no server at all", async () => {
    open = await openApp();
    const { page } = open;
    await toAnnotateStep(page);
    await page.getByTestId("backend-terms").check();
    await page.getByTestId("terms-Chemical").fill("atorvastatin\nsertraline");
    await page.getByTestId("patterns-Disease").fill("myalgi(a|as)\ninsomnia");
    await page.getByTestId("start-run").click();
    const runId = await latestRunId(page);
    await expect.poll(() => page.locator(`tr[data-run-id="${runId}"]`).getAttribute("data-status"), { timeout: 30_000 }).toBe("done");
    expect(await page.locator(`tr[data-run-id="${runId}"]`).textContent()).toContain("term lists (4 entries)");
    expect(await storedRows(page, runId)).toHaveLength(POOL.length);
    await page.getByTestId("step-notes").click();
    await page.getByTestId("note-list").getByText("clinic-008").click();
    await expect.poll(() => page.getByTestId("note-text").locator("mark").allTextContents()).toEqual(["myalgiaDisease", "atorvastatinChemical"]);
    // The lists are kept for the next visit.
    await page.reload();
    await toAnnotateStep(page);
    await page.getByTestId("backend-terms").check();
    expect(await page.getByTestId("terms-Chemical").inputValue()).toBe("atorvastatin\nsertraline");
    expect(open.errors).toEqual([]);
  });

  it("labels the pool with the source model's own predictions, the self-training baseline, exactly as the model predicts them", async () => {
    open = await openApp();
    const { page } = open;
    await toAnnotateStep(page);
    await page.getByTestId("backend-model").check();
    await expect.poll(() => page.getByTestId("annotator-model").locator("option:checked").textContent(), { timeout: 30_000 }).toContain("Demo source model");
    await page.getByTestId("start-run").click();
    const runId = await latestRunId(page);
    await expect.poll(() => page.locator(`tr[data-run-id="${runId}"]`).getAttribute("data-status"), { timeout: 60_000 }).toBe("done");
    expect(await page.locator(`tr[data-run-id="${runId}"]`).textContent()).toContain("source model Demo source model");
    await screenshot(page, "annotate-source-model");
    const labelled = await storedRows(page, runId);
    expect(labelled).toHaveLength(POOL.length);
    expect(new Set(labelled.map((row) => row.origin))).toEqual(new Set(["llm"]));

    // The same model over the pool notes in the Extract step finds the very same spans.
    await page.getByTestId("step-extract").click();
    await page.getByTestId("extract-notes").selectOption("pool");
    await page.getByTestId("run-extract").click();
    await expect.poll(() => page.getByTestId("extract-run-status").first().textContent(), { timeout: 60_000 }).toBe("done");
    const extractRunId = await page.evaluate(
      () =>
        new Promise<string>((resolve, reject) => {
          const request = indexedDB.open("clinical-adapt");
          request.onsuccess = () => {
            const all = request.result.transaction("runs").objectStore("runs").getAll();
            all.onsuccess = () => resolve((all.result as { id: string; kind: string }[]).find((run) => run.kind === "infer")!.id);
            all.onerror = () => reject(all.error);
          };
          request.onerror = () => reject(request.error);
        }),
    );
    const extracted = new Map((await storedRows(page, extractRunId)).map((row) => [row.noteId, row.spans]));
    for (const row of labelled) expect(row.spans).toEqual(extracted.get(row.noteId));
    expect(labelled.some((row) => row.spans.length > 0)).toBe(true);
    expect(open.errors).toEqual([]);
  });
});
