// Nothing lost: the tab's renderer is killed (CDP Page.crash: the page and its workers die
// at once, no unload, no cleanup) in the middle of an import of many files, of an
// annotation run and of a training run; the app opened again finds a consistent store
// (each import batch whole or absent, no half-written note, at most one annotation row per
// note and run; one training run with one model whose files are whole and whose checkpoint
// is the one the run's progress names) and each run resumes from its last stored note or
// checkpoint. And when storage runs out (a small quota set through CDP), the user reads
// why and the store stays consistent.
//
// Checked here, headless Chromium 156: `page.goto("chrome://crash")` does not kill the
// page's own renderer (the navigation swaps to a new process and is aborted), so it proves
// nothing; CDP `Page.crash` does, and the browser context (the profile) survives it.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterEach, describe, expect, inject, it } from "vitest";
import { dropFiles, executablePath, openApp, screenshot, type DroppedFile, type OpenBrowser } from "./browser.ts";
import { annotateWithTerms } from "./demo-steps.ts";
import { startFakeLlmServer, type FakeLlmServer } from "./fixtures/openai-server.ts";

/** importFiles' default batch: a batch closes at 2,000 files (or 8 MB). */
const BATCH_FILES = 2000;
const POOL = readFileSync("public/demo/notes-pool.jsonl", "utf8").trim().split("\n").map((line) => (JSON.parse(line) as { text: string }).text);
/** Terms for the Annotate step's term-list annotator: the gold notes' entities and a few pool words. */

let open: OpenBrowser | undefined;
let server: FakeLlmServer | undefined;
afterEach(async () => {
  await open?.close();
  await server?.close();
  open = undefined;
  server = undefined;
});

/**
 * The app in a fresh profile whose origin gets `quota` bytes. Chromium applies a quota
 * override (CDP Storage.overrideQuotaForOrigin) when the origin's storage is first opened,
 * so it is set before the first load; navigator.storage.estimate() keeps showing the real
 * quota, while writes meet the override.
 */
async function openWithQuota(quota: number): Promise<OpenBrowser> {
  const baseURL = inject("baseURL");
  const userDataDir = mkdtempSync(join(tmpdir(), "clinical-adapt-profile-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 1280, height: 860 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send("Storage.overrideQuotaForOrigin", { origin: new URL(baseURL).origin, quotaSize: quota });
  await page.goto(baseURL);
  return {
    context,
    page,
    baseURL,
    errors,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

async function crash(context: BrowserContext, page: Page): Promise<void> {
  const crashed = page.waitForEvent("crash");
  const cdp = await context.newCDPSession(page);
  // The reply never comes: the renderer is gone.
  void cdp.send("Page.crash").catch(() => undefined);
  await crashed;
}

/** A new tab on the app, in the same profile. */
async function reopen(browser: OpenBrowser): Promise<Page> {
  const page = await browser.context.newPage();
  page.on("pageerror", (error) => browser.errors.push(`pageerror: ${error.message}`));
  await page.goto(browser.baseURL);
  await expect.poll(() => page.getByTestId("project-name").textContent(), { timeout: 30_000 }).toBeTruthy();
  return page;
}

interface StoredProject {
  notes: { text: string; importId: string }[];
  imports: { id: string; notesAdded: number; finishedAt: number | null }[];
  annotations: { noteId: number; runId: string; origin: string }[];
}

/** What IndexedDB holds for the project of that name, read by the page itself. */
function stored(page: Page, projectName: string): Promise<StoredProject> {
  return page.evaluate(
    (projectName) =>
      new Promise<StoredProject>((resolve, reject) => {
        const request = indexedDB.open("clinical-adapt");
        request.onerror = () => reject(request.error);
        request.onsuccess = () => {
          const db = request.result;
          const tx = db.transaction(["projects", "notes", "imports", "annotations"]);
          const all = (store: string) =>
            new Promise<any[]>((done, fail) => {
              const get = tx.objectStore(store).getAll();
              get.onsuccess = () => done(get.result);
              get.onerror = () => fail(get.error);
            });
          Promise.all([all("projects"), all("notes"), all("imports"), all("annotations")]).then(([projects, notes, imports, annotations]) => {
            db.close();
            const id = projects.find((project) => project.name === projectName)?.id;
            resolve({
              notes: notes.filter((note) => note.projectId === id).map(({ text, importId }) => ({ text, importId })),
              imports: imports.filter((row) => row.projectId === id).map(({ id, notesAdded, finishedAt }) => ({ id, notesAdded, finishedAt })),
              annotations: annotations.filter((row) => row.projectId === id).map(({ noteId, runId, origin }) => ({ noteId, runId, origin })),
            });
          }, reject);
        };
      }),
    projectName,
  );
}

interface StoredFile {
  byteLength: number;
  chunkCount: number;
  /** What the chunks hold: their indices in key order and their bytes in all. */
  chunkIndices: number[];
  chunkBytes: number;
}

interface StoredTraining {
  runs: { id: string; status: string; modelId: string; progress: { step: number; checkpointStep: number; resumedFrom: number | null; losses: { step: number }[] } | null }[];
  models: { id: string; kind: string; files: Record<string, StoredFile> }[];
  /** Chunks whose model or file no model row lists. */
  orphanChunks: number;
  /** The step written into each model's checkpoint.safetensors (its __metadata__), by model id. */
  checkpointSteps: Record<string, number>;
}

/** The project's training runs, every model with its files as the chunks really hold them, read by the page. */
function storedTraining(page: Page, projectName: string): Promise<StoredTraining> {
  return page.evaluate(
    (projectName) =>
      new Promise<StoredTraining>((resolve, reject) => {
        const request = indexedDB.open("clinical-adapt");
        request.onerror = () => reject(request.error);
        request.onsuccess = () => {
          const db = request.result;
          const tx = db.transaction(["projects", "runs", "models", "modelChunks"]);
          const all = (store: string) =>
            new Promise<any[]>((done, fail) => {
              const get = tx.objectStore(store).getAll();
              get.onsuccess = () => done(get.result);
              get.onerror = () => fail(get.error);
            });
          Promise.all([all("projects"), all("runs"), all("models"), all("modelChunks")]).then(([projects, runs, models, chunks]) => {
            db.close();
            const id = projects.find((project) => project.name === projectName)?.id;
            const chunksOf = (modelId: string, fileName: string) => chunks.filter((c) => c.modelId === modelId && c.fileName === fileName);
            const checkpointSteps: Record<string, number> = {};
            for (const model of models) {
              const parts = chunksOf(model.id, "checkpoint.safetensors");
              if (!(("checkpoint.safetensors" in model.files) && parts.length)) continue;
              const bytes = new Uint8Array(parts.reduce((n, c) => n + c.bytes.byteLength, 0));
              let offset = 0;
              for (const part of parts) (bytes.set(part.bytes, offset), (offset += part.bytes.byteLength));
              const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
              const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
              checkpointSteps[model.id] = Number(header.__metadata__.step);
            }
            resolve({
              runs: runs
                .filter((run) => run.projectId === id && run.kind === "train")
                .map((run) => ({ id: run.id, status: run.status, modelId: run.config.modelId, progress: run.progress })),
              models: models.map((model) => ({
                id: model.id,
                kind: model.kind,
                files: Object.fromEntries(
                  Object.entries(model.files as Record<string, { byteLength: number; chunkCount: number }>).map(([name, info]) => {
                    const parts = chunksOf(model.id, name);
                    return [name, { ...info, chunkIndices: parts.map((c) => c.index), chunkBytes: parts.reduce((n, c) => n + c.bytes.byteLength, 0) }];
                  }),
                ),
              })),
              orphanChunks: chunks.filter((c) => !(c.fileName in (models.find((model) => model.id === c.modelId)?.files ?? {}))).length,
              checkpointSteps,
            });
          }, reject);
        };
      }),
    projectName,
  );
}

/** Every file of every model is whole: as many chunks as its row says, in order, holding all its bytes; no chunk without a file. */
function expectWholeFiles(store: StoredTraining): void {
  for (const model of store.models) {
    for (const [name, file] of Object.entries(model.files)) {
      expect(file.chunkIndices, `${model.kind} model's ${name}`).toEqual(Array.from({ length: file.chunkCount }, (_, i) => i));
      expect(file.chunkBytes, `${model.kind} model's ${name}`).toBe(file.byteLength);
    }
  }
  expect(store.orphanChunks).toBe(0);
}

async function createProject(page: Page, name: string) {
  await expect.poll(() => page.getByTestId("note-count").textContent(), { timeout: 30_000 }).toBe("16 notes");
  await page.getByRole("textbox", { name: "New project name" }).fill(name);
  await page.getByRole("button", { name: "Create" }).click();
  await expect.poll(() => page.getByTestId("project-name").textContent()).toBe(name);
}

/**
 * Text no other file has, of a given length: a half-written note could not pass for
 * another. Random letters, so that the store cannot compress a megabyte into much less.
 */
function noteText(index: number, length = 120): string {
  let text = `Note ${index}: seen in clinic, plan reviewed.`;
  let seed = (index + 1) * 2654435761;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  while (text.length < length) {
    let word = " ";
    for (let letters = 2 + (next() % 8); letters > 0; letters--) word += String.fromCharCode(97 + ((next() >>> 8) % 26));
    text += word;
  }
  return text.slice(0, length);
}

describe("nothing lost when the tab dies or the disk is full", () => {
  it("keeps whole import batches only when the renderer is killed mid-import", async () => {
    const count = 10 * BATCH_FILES;
    const files: DroppedFile[] = Array.from({ length: count }, (_, index) => ({ name: `n${String(index).padStart(5, "0")}.txt`, content: noteText(index) }));
    const expected = new Set(files.map((file) => file.content as string));
    open = await openApp();
    const { page, context } = open;
    await createProject(page, "Bulk");
    await dropFiles(page, "[data-testid=dropzone]", files);
    // Killed once at least one batch is in and the import is still going.
    const progress = page.getByTestId("import-progress");
    await expect.poll(async () => Number(/(\d+)\/\d+ files/.exec((await progress.textContent().catch(() => "")) ?? "")?.[1] ?? 0), { timeout: 120_000, interval: 20 }).toBeGreaterThanOrEqual(BATCH_FILES);
    await crash(context, page);

    const again = await reopen(open);
    const after = await stored(again, "Bulk");
    console.log(`killed after ${after.notes.length} of ${count} notes`);
    expect(after.notes.length).toBeGreaterThan(0);
    expect(after.notes.length, "the tab must die mid-import for this test to mean anything").toBeLessThan(count);
    expect(after.notes.length % BATCH_FILES, "whole batches only").toBe(0);
    // Every stored note is one of the files, whole; none twice.
    expect(after.notes.every((note) => expected.has(note.text))).toBe(true);
    expect(new Set(after.notes.map((note) => note.text)).size).toBe(after.notes.length);
    // The import's record counts what is stored, and says it never finished.
    expect(after.imports).toHaveLength(1);
    expect(after.imports[0].notesAdded).toBe(after.notes.length);
    expect(after.imports[0].finishedAt).toBeNull();
    // The app shows the same, and the same drop again adds only what is missing.
    await again.getByRole("button", { name: "Bulk", exact: true }).click();
    await expect.poll(() => again.getByTestId("note-count").textContent()).toBe(`${after.notes.length.toLocaleString("en")} notes`);
    await dropFiles(again, "[data-testid=dropzone]", files);
    await again.getByTestId("import-report").waitFor({ timeout: 180_000 });
    expect(Number((await again.getByTestId("notes-added").textContent())?.replace(/\D/g, ""))).toBe(count - after.notes.length);
    const whole = await stored(again, "Bulk");
    expect(new Set(whole.notes.map((note) => note.text))).toEqual(expected);
    expect(open.errors).toEqual([]);
  });

  it("resumes an annotation run from its last stored note after the renderer is killed", async () => {
    server = await startFakeLlmServer({ myalgia: "Disease", atorvastatin: "Chemical" }, ["Chemical", "Disease"]);
    server.delayMs = 400;
    open = await openApp();
    const { context } = open;
    let page = open.page;
    await expect.poll(() => page.getByTestId("project-name").textContent(), { timeout: 30_000 }).toContain("Demo");
    const demoName = (await page.getByTestId("project-name").textContent())!;
    await page.getByTestId("privacy-open").click();
    await page.getByTestId("endpoint-address").fill(server.baseUrl);
    await Promise.all([page.waitForEvent("load"), page.getByTestId("endpoint-allow").click()]);
    await page.getByTestId("step-annotate").click();
    await page.getByTestId("backend-endpoint").check();
    await page.getByTestId("endpoint-enabled").check();
    await page.getByTestId("endpoint-url").fill(server.baseUrl);
    await page.getByTestId("endpoint-model").fill("lexicon-7b");
    await page.getByTestId("consent-checkbox").check();
    await page.getByTestId("start-run").click();
    await expect.poll(async () => Number(await page.getByTestId("notes-done").textContent()), { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
    const runId = (await page.getByTestId("run-list").locator("tbody tr[data-run-id]").first().getAttribute("data-run-id"))!;
    await crash(context, page);
    const sentBeforeCrash = server.notes().length;

    page = await reopen(open);
    const atCrash = (await stored(page, demoName)).annotations.filter((row) => row.runId === runId);
    expect(atCrash.length).toBeGreaterThanOrEqual(3);
    expect(atCrash.length).toBeLessThan(POOL.length);
    expect(new Set(atCrash.map((row) => row.noteId)).size, "at most one row per note and run").toBe(atCrash.length);
    // The server may have answered the note in flight, but it was not stored: at most one more.
    expect(sentBeforeCrash - atCrash.length).toBeGreaterThanOrEqual(0);
    expect(sentBeforeCrash - atCrash.length).toBeLessThanOrEqual(1);

    await page.getByTestId("step-annotate").click();
    const row = page.locator(`tr[data-run-id="${runId}"]`);
    await expect.poll(() => row.getByTestId("run-status").textContent()).toBe("interrupted");
    expect(await row.locator("td").nth(4).textContent()).toBe(`${atCrash.length}/${POOL.length}`);
    await screenshot(page, "crash-annotate-interrupted");
    server.delayMs = 20;
    const sentBeforeResume = server.notes().length;
    await row.getByTestId("resume-run").click();
    await expect.poll(() => row.getAttribute("data-status"), { timeout: 60_000 }).toBe("done");
    const rows = (await stored(page, demoName)).annotations.filter((item) => item.runId === runId);
    expect(rows).toHaveLength(POOL.length);
    expect(new Set(rows.map((item) => item.noteId)).size).toBe(POOL.length);
    // The resumed run sent only the notes that were not stored when the tab died.
    expect(server.notes().slice(sentBeforeResume)).toHaveLength(POOL.length - atCrash.length);
    expect(new Set(server.notes())).toEqual(new Set(POOL));
    expect(open.errors).toEqual([]);
  });

  it("resumes a training run from its last checkpoint after the renderer is killed mid-run", async () => {
    open = await openApp();
    const { context } = open;
    let page = open.page;
    await expect.poll(() => page.getByTestId("project-name").textContent(), { timeout: 30_000 }).toContain("Demo");
    const demoName = (await page.getByTestId("project-name").textContent())!;
    // LLM-like annotations from the term-list annotator (no server needed).
    await annotateWithTerms(page);

    // WebAssembly (this Chromium's WebGPU is software), the demo model, a checkpoint every 3 steps.
    await page.getByTestId("step-train").click();
    await expect.poll(() => page.getByTestId("base-model").locator("option").count(), { timeout: 60_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId("train-note-count").textContent()).not.toBe("0");
    expect(await page.getByTestId("backend-shown").textContent()).toBe("WebAssembly");
    for (const [testId, value] of [["hp-epochs", 30], ["hp-batch", 2], ["hp-checkpoint-every", 3], ["hp-patience", 0], ["hp-max-steps", 30]] as const) {
      await page.getByTestId(testId).fill(String(value));
    }
    await page.getByTestId("start-training").click();
    await expect.poll(async () => Number(await page.getByTestId("checkpoint-step").textContent().catch(() => "0")), { timeout: 120_000, interval: 20 }).toBeGreaterThanOrEqual(6);
    const total = Number(await page.getByTestId("train-total").textContent());
    await crash(context, page);

    page = await reopen(open);
    const atCrash = await storedTraining(page, demoName);
    expect(atCrash.runs, "one training run").toHaveLength(1);
    const [run] = atCrash.runs;
    expect(run.status, "left as the loop last wrote it").toBe("running");
    const trained = atCrash.models.filter((model) => model.kind === "trained");
    expect(trained.map((model) => model.id), "one adapted model, the run's").toEqual([run.modelId]);
    expect(Object.keys(trained[0].files), "only its checkpoint (and the best epoch's weights) so far").not.toContain("onnx/model.onnx");
    expectWholeFiles(atCrash);
    // The stored checkpoint is the one the run's progress names, and the curve reaches it once per step.
    const checkpoint = atCrash.checkpointSteps[run.modelId];
    expect(checkpoint).toBeGreaterThanOrEqual(6);
    expect(checkpoint, "the tab must die mid-run for this test to mean anything").toBeLessThan(total);
    expect(run.progress!.checkpointStep).toBe(checkpoint);
    const stepsStored = run.progress!.losses.map((point) => point.step);
    expect(stepsStored.slice(0, checkpoint)).toEqual(Array.from({ length: checkpoint }, (_, i) => i + 1));
    console.log(`training killed with the checkpoint at step ${checkpoint} of ${total} (progress at step ${run.progress!.step})`);

    // The app shows the run as interrupted, offers to resume from that checkpoint, and finishes it.
    await page.getByTestId("step-train").click();
    const row = page.locator(`tr[data-run-id="${run.id}"]`);
    await expect.poll(() => row.getByTestId("train-status").textContent(), { timeout: 30_000 }).toBe("interrupted");
    expect(await row.getByTestId("resume-training").textContent()).toBe(`Resume from step ${checkpoint}`);
    await screenshot(page, "crash-train-interrupted");
    await row.getByTestId("resume-training").click();
    await expect.poll(() => page.getByTestId("resumed-from").textContent(), { timeout: 60_000 }).toBe(`resumed from step ${checkpoint}`);
    await expect.poll(() => row.getAttribute("data-status"), { timeout: 150_000 }).toBe("done");
    expect(await page.getByTestId("train-step").textContent()).toBe(String(total));
    // Every step once on the curve: the ones before the checkpoint, then the resumed ones.
    expect(Number(await page.getByTestId("loss-chart").getAttribute("data-points"))).toBe(total);

    const after = await storedTraining(page, demoName);
    expect(after.runs).toHaveLength(1);
    expect(after.runs[0]).toMatchObject({ id: run.id, status: "done", progress: { step: total, resumedFrom: checkpoint } });
    expect(after.runs[0].progress!.losses.map((point) => point.step)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const finished = after.models.filter((model) => model.kind === "trained");
    expect(finished.map((model) => model.id)).toEqual([run.modelId]);
    expect(Object.keys(finished[0].files)).toEqual(expect.arrayContaining(["config.json", "model.safetensors", "onnx/model.onnx", "adaptation.json"]));
    expect(Object.keys(finished[0].files)).not.toContain("checkpoint.safetensors");
    expectWholeFiles(after);
    expect(open.errors).toEqual([]);
  });

  it("says that storage is full, stores whole files only, and keeps working", async () => {
    // What a first start stores (the demo's notes and model), measured in a profile of its own...
    const first = await openApp();
    await expect.poll(() => first.page.getByTestId("note-count").textContent(), { timeout: 30_000 }).toBe("16 notes");
    const demoBytes = await first.page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
    await first.close();
    // ...and room for that and about two of the ten 1 MB files below.
    open = await openWithQuota(demoBytes + 2.5e6);
    const { page } = open;
    await createProject(page, "Full");
    const files: DroppedFile[] = Array.from({ length: 10 }, (_, index) => ({ name: `big-${index}.txt`, content: noteText(index, 1_000_000) }));
    await dropFiles(page, "[data-testid=dropzone]", files);
    await page.getByTestId("import-report").waitFor({ timeout: 120_000 });
    await screenshot(page, "storage-full");
    const added = Number(await page.getByTestId("notes-added").textContent());
    const errors = Number(await page.getByTestId("error-count").textContent());
    console.log(`storage full: ${added} files stored, ${errors} refused`);
    expect(errors).toBeGreaterThan(0);
    expect(added + errors).toBe(files.length);
    const report = (await page.getByTestId("import-errors").textContent()) ?? "";
    expect(report).toMatch(/Storage is full/);
    expect(report).toMatch(/Free space by deleting old projects or models, or allow the site more storage/);

    // Whole files only: each stored note is one file's text, complete; the import's record agrees.
    const full = await stored(page, "Full");
    expect(full.notes).toHaveLength(added);
    const texts = new Set(files.map((file) => file.content as string));
    expect(full.notes.every((note) => texts.has(note.text))).toBe(true);
    expect(full.imports[0].notesAdded).toBe(added);
    expect(full.imports[0].finishedAt).not.toBeNull();

    // After a reload the app works on: the same notes, and a small note still goes in.
    await page.reload();
    await page.getByRole("button", { name: "Full", exact: true }).click();
    await expect.poll(() => page.getByTestId("note-count").textContent()).toBe(added === 1 ? "1 note" : `${added} notes`);
    await dropFiles(page, "[data-testid=dropzone]", [{ name: "small.txt", content: "Pt stable overnight, plan unchanged." }]);
    await page.getByTestId("import-report").waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("notes-added").textContent()).toBe("1");
    expect((await stored(page, "Full")).notes).toHaveLength(added + 1);
    expect(open.errors.filter((error) => !/QuotaExceeded|quota/i.test(error))).toEqual([]);
  });
});
