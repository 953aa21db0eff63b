// Nothing lost: the tab's renderer is killed (CDP Page.crash: the page and its workers die
// at once, no unload, no cleanup) in the middle of an import of many files and in the
// middle of an annotation run; the app opened again finds a consistent store (each import
// batch whole or absent, no half-written note, at most one annotation row per note and
// run) and the run resumes from its last stored note. And when storage runs out (a small
// quota set through CDP), the user reads why and the store stays consistent.
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
import { startFakeLlmServer, type FakeLlmServer } from "./fixtures/openai-server.ts";

/** importFiles' default batch: a batch closes at 2,000 files (or 8 MB). */
const BATCH_FILES = 2000;
const POOL = readFileSync("public/demo/notes-pool.jsonl", "utf8").trim().split("\n").map((line) => (JSON.parse(line) as { text: string }).text);

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
