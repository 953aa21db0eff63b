// The Extract step in a real browser: the demo model over the gold notes in the inference
// worker, what it found highlighted and downloaded as CSV and JSONL — the same spans
// transformers.js finds with the same model in Node — and a run cut by a reload that
// resumes from its last saved note.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Papa from "papaparse";
import type { Download, Page } from "playwright-core";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { readModelFolder } from "../../src/core/model/folder.ts";
import { buildInferenceModel } from "../../src/core/model/inference-graph.ts";
import { resolveWeights } from "../../src/core/model/weights.ts";
import { loadTokenizer } from "../../src/core/text/tokenizer.ts";
import { pipelineFromFiles, pipelineSpans } from "../core/export/pipeline-spans.ts";
import { dropFiles, openApp, screenshot, type OpenBrowser } from "./browser.ts";

interface JsonlNote {
  id: string;
  text: string;
  entities: { start: number; end: number; type: string; text: string; confidence?: number }[];
}

const GOLD = readFileSync("public/demo/notes-gold.jsonl", "utf8").trim().split("\n").map((line) => JSON.parse(line) as JsonlNote);
const POOL = readFileSync("public/demo/notes-pool.jsonl", "utf8").trim().split("\n").map((line) => JSON.parse(line) as JsonlNote);

const root = mkdtempSync(join(tmpdir(), "extract-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let open: OpenBrowser | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

async function openDemo(): Promise<OpenBrowser> {
  const browser = await openApp();
  await expect.poll(() => browser.page.getByTestId("project-name").textContent(), { timeout: 30_000 }).toContain("Demo");
  return browser;
}

async function toExtract(page: Page) {
  await page.getByTestId("step-extract").click();
  await page.getByTestId("extract-panel").waitFor();
  await expect.poll(() => page.getByTestId("extract-model").locator("option").count(), { timeout: 60_000 }).toBeGreaterThan(0);
}

async function saved(download: Download): Promise<string> {
  const path = join(root, `${Date.now()}-${download.suggestedFilename()}`);
  await download.saveAs(path);
  return readFileSync(path, "utf8");
}

async function downloadText(page: Page, testId: string): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId(testId).click()]);
  return { name: download.suggestedFilename(), text: await saved(download) };
}

const parseJsonl = (text: string) => text.trim().split("\n").map((line) => JSON.parse(line) as JsonlNote);

/** The demo model's folder with the ONNX graph the app builds from its weights, loaded in transformers.js. */
async function demoPipeline() {
  const files = new Map(readdirSync("public/demo/model").map((name) => [name, new Uint8Array(readFileSync(join("public/demo/model", name)))] as const));
  const folder = readModelFolder(files);
  const onnx = buildInferenceModel(folder.config, resolveWeights(folder.config, folder.weights!).params);
  const pipe = await pipelineFromFiles({ ...Object.fromEntries(files), "onnx/model.onnx": onnx }, root, "demo");
  const tokenizer = loadTokenizer(JSON.parse(new TextDecoder().decode(files.get("tokenizer.json"))), JSON.parse(new TextDecoder().decode(files.get("tokenizer_config.json"))));
  return { pipe, tokenizer };
}

describe("extract in a real browser", () => {
  it("finds in the gold notes what transformers.js finds with the same model, shows it and downloads it", async () => {
    open = await openDemo();
    const { page } = open;
    await toExtract(page);
    expect(await page.getByTestId("extract-model").locator("option:checked").textContent()).toContain("demo");
    await page.getByTestId("extract-notes").selectOption("gold");
    await page.getByTestId("run-extract").click();
    await expect.poll(() => page.getByTestId("extract-run-status").first().textContent(), { timeout: 60_000 }).toBe("done");
    await expect.poll(() => page.getByTestId("extract-summary").textContent()).toMatch(new RegExp(`in ${GOLD.length} notes$`));
    await screenshot(page, "extract-1-done");

    const jsonl = await downloadText(page, "download-jsonl");
    expect(jsonl.name).toMatch(/-gold-found\.jsonl$/);
    const found = parseJsonl(jsonl.text);
    expect(found.map((note) => note.id).sort()).toEqual(GOLD.map((note) => note.id).sort());
    const spanCount = found.reduce((sum, note) => sum + note.entities.length, 0);
    expect(spanCount).toBeGreaterThan(0);
    expect(await page.getByTestId("extract-summary").textContent()).toBe(`${spanCount} spans in ${GOLD.length} notes`);
    for (const note of found) {
      expect(note.text).toBe(GOLD.find((gold) => gold.id === note.id)!.text);
      for (const entity of note.entities) {
        expect(note.text.slice(entity.start, entity.end)).toBe(entity.text);
        expect(entity.confidence).toBeGreaterThan(0);
        expect(entity.confidence).toBeLessThanOrEqual(1);
      }
    }

    const csv = Papa.parse<Record<string, string>>((await downloadText(page, "download-csv")).text, { header: true, skipEmptyLines: true });
    expect(csv.errors).toEqual([]);
    expect(csv.data.map((row) => [row.note_id, Number(row.start), Number(row.end), row.type])).toEqual(
      found.flatMap((note) => note.entities.map((entity) => [note.id, entity.start, entity.end, entity.type])),
    );

    // The note shown has its spans highlighted (the demo's gold notes have no overlapping predictions).
    await page.getByTestId("extract-note").nth(1).click();
    const second = found[1];
    const marks = () =>
      page.getByTestId("extract-text").locator("mark").evaluateAll((all) => all.map((mark) => [mark.firstChild?.textContent, mark.getAttribute("data-type")]));
    await expect.poll(marks).toEqual(second.entities.map((entity) => [entity.text, entity.type]));
    expect(open.errors).toEqual([]);

    // The same model in transformers.js, in Node, finds the same spans.
    const { pipe, tokenizer } = await demoPipeline();
    for (const note of found) {
      const tokens = (await pipe(note.text, { ignore_labels: [] })) as unknown as { entity: string; index: number }[];
      expect(pipelineSpans(note.text, tokens, tokenizer), note.id).toEqual(note.entities.map(({ start, end, type }) => ({ start, end, type })));
    }
    await pipe.dispose();
  });

  it("resumes a run cut by a reload from its last saved note, each note written once", async () => {
    open = await openDemo();
    const { page } = open;
    // Enough notes that the run is still going when the page reloads: the pool, each made unique.
    const copies = 40;
    const lines = Array.from({ length: copies }, (_, copy) => POOL.map((note) => JSON.stringify({ id: `${note.id}-${copy}`, text: `${note.text} (copy ${copy})` }))).flat();
    await dropFiles(page, "[data-testid=dropzone]", [{ name: "many.jsonl", content: lines.join("\n") + "\n" }]);
    await expect.poll(() => page.getByTestId("notes-added").textContent(), { timeout: 60_000 }).toBe(String(lines.length));
    const total = lines.length + POOL.length + GOLD.length;

    await toExtract(page);
    await page.getByTestId("run-extract").click();
    await expect.poll(async () => Number((await page.getByTestId("extract-progress").textContent())?.split(" / ")[0]), { timeout: 60_000 }).toBeGreaterThan(20);
    await page.reload();
    await expect.poll(() => page.getByTestId("project-name").textContent(), { timeout: 30_000 }).toContain("Demo");
    await toExtract(page);
    const run = page.getByTestId("extract-run").first();
    await expect.poll(() => run.getByTestId("extract-run-status").textContent()).toBe("interrupted");
    const doneBefore = Number((await run.locator("td").nth(2).textContent())!.split(" / ")[0]);
    expect(doneBefore).toBeGreaterThan(20);
    expect(doneBefore).toBeLessThan(total);
    await screenshot(page, "extract-2-interrupted");

    await run.getByTestId("resume-extract").click();
    await expect.poll(() => run.getByTestId("extract-run-status").textContent(), { timeout: 120_000 }).toBe("done");
    expect(await run.locator("td").nth(2).textContent()).toBe(`${total} / ${total}`);
    expect(await page.getByTestId("extract-run").count()).toBe(1);
    const found = parseJsonl((await downloadText(page, "download-jsonl")).text);
    expect(found).toHaveLength(total);
    expect(new Set(found.map((note) => note.id)).size).toBe(total);
    expect(open.errors).toEqual([]);
  });
});
