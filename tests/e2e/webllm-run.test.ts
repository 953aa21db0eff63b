// The local-model path of the Annotate step in a real browser, with WebLLM's worker replaced
// by fixtures/fake-llm.worker.ts (WebLLM's own handler and protocol, a fake engine: there is
// no model to download here): the model loads with progress, a run sends every pool note
// held to the schema's grammar, and when the model is lost mid-run (as WebLLM reports a lost
// GPU) the run pauses with nothing marked failed; Resume loads the model again in a new
// worker and finishes, each note stored once.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Page } from "playwright-core";
import { build } from "vite";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openApp, screenshot, storedRecords, type OpenBrowser } from "./browser.ts";

const read = (file: string) => readFileSync(`public/demo/${file}`, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { id: string; text: string });
const POOL = read("notes-pool.jsonl");
const LEXICON = { aspirin: "Chemical", atorvastatin: "Chemical", sertraline: "Chemical", myalgia: "Disease", depression: "Disease", insomnia: "Disease" };

let fakeWorker = "";
let dir = "";
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fake-llm-"));
  await build({
    configFile: false,
    logLevel: "warn",
    build: {
      outDir: dir,
      emptyOutDir: true,
      target: "es2022",
      minify: false,
      lib: { entry: resolve("tests/e2e/fixtures/fake-llm.worker.ts"), formats: ["es"], fileName: () => "fake-llm.worker.js" },
    },
  });
  fakeWorker = readFileSync(join(dir, "fake-llm.worker.js"), "utf8");
});

let open: OpenBrowser | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Serves the fake in place of the app's LLM worker: the first worker loses its model after `loseAfter` answers, later ones never. */
async function useFakeWorker(browser: OpenBrowser, loseAfter: number): Promise<{ workers: number }> {
  const served = { workers: 0 };
  await browser.context.route(/\/assets\/llm\.worker-[^/]*\.js$/, (route) => {
    const settings = { lexicon: LEXICON, ...(served.workers === 0 ? { loseAfter } : {}) };
    served.workers++;
    return route.fulfill({
      status: 200,
      contentType: "text/javascript",
      headers: { "Cross-Origin-Embedder-Policy": "require-corp", "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Resource-Policy": "same-origin" },
      body: `globalThis.FAKE_LLM = ${JSON.stringify(settings)};\n${fakeWorker}`,
    });
  });
  return served;
}

/** The notes of the run's rows in IndexedDB, read by the page. */
async function storedNoteIds(page: Page, runId: string): Promise<number[]> {
  const rows = await storedRecords<{ noteId: number; runId: string }>(page, "annotations");
  return rows.filter((row) => row.runId === runId).map((row) => row.noteId);
}

describe("annotating with the local model (WebLLM's worker protocol, fake engine)", () => {
  it("loads the model, sends each note held to the grammar, pauses when the model is lost, and resumes after loading it again", async () => {
    open = await openApp();
    const { page } = open;
    const served = await useFakeWorker(open, 4);
    await expect.poll(() => page.getByTestId("project-name").textContent(), { timeout: 30_000 }).toContain("Demo");
    await page.getByTestId("step-annotate").click();
    await page.getByTestId("model-build").waitFor({ timeout: 30_000 });
    await page.getByTestId("load-model").click();
    await expect.poll(() => page.getByTestId("model-loaded").textContent(), { timeout: 30_000 }).toMatch(/^Loaded: Qwen2\.5-3B-Instruct-q4f(16|32)_1-MLC$/);
    expect(await page.getByTestId("load-progress").textContent()).toContain("(fake) 100%");

    await page.getByTestId("start-run").click();
    const error = page.getByTestId("annotate-error");
    await expect.poll(() => error.textContent(), { timeout: 60_000 }).toContain("is no longer loaded");
    const runId = (await page.getByTestId("run-list").locator("tbody tr[data-run-id]").first().getAttribute("data-run-id"))!;
    const row = page.locator(`tr[data-run-id="${runId}"]`);
    await expect.poll(() => row.getAttribute("data-status")).toBe("paused");
    expect(await row.getByTestId("run-status").textContent()).toBe("interrupted");
    expect(await page.getByTestId("failed-count").textContent()).toBe("0");
    expect(await storedNoteIds(page, runId)).toHaveLength(4);
    // The lost model is forgotten: nothing claims to be loaded.
    expect(await page.getByTestId("model-loaded").count()).toBe(0);
    await screenshot(page, "webllm-lost");

    await row.getByTestId("resume-run").click();
    await expect.poll(() => row.getAttribute("data-status"), { timeout: 60_000 }).toBe("done");
    expect(served.workers).toBe(2);
    const stored = await storedNoteIds(page, runId);
    expect(stored).toHaveLength(POOL.length);
    expect(new Set(stored).size).toBe(POOL.length);
    expect(await page.getByTestId("failed-count").textContent()).toBe("0");
    // The fake's lexicon answers, aligned: clinic-008's two mentions are in the note view.
    await page.getByTestId("step-notes").click();
    await page.getByTestId("note-list").getByText("clinic-008").click();
    await expect.poll(() => page.getByTestId("note-text").locator("mark").allTextContents()).toEqual(["myalgiaDisease", "atorvastatinChemical"]);
    expect(open.errors).toEqual([]);
  });
});
