// A user's own model into the app: a .zip of a Hugging Face folder uploaded in the Train
// step becomes a base model and, having a token-classification head, runs in the Extract
// step with the same results as the same weights shipped as the demo; a folder without its
// tokenizer is refused with a message naming the missing file, and nothing is stored.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zipSync } from "fflate";
import type { Page } from "playwright-core";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { openApp, screenshot, type OpenBrowser } from "./browser.ts";
import { toStep, waitForDemo } from "./demo-steps.ts";

const DEMO_FILES = Object.fromEntries(
  readdirSync("public/demo/model")
    .filter((name) => name !== "metrics.json")
    .map((name) => [name, new Uint8Array(readFileSync(join("public/demo/model", name)))]),
);

const root = mkdtempSync(join(tmpdir(), "upload-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let open: OpenBrowser | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

const baseModels = (page: Page) => page.getByTestId("base-model").locator("option").allTextContents();

async function extractGold(page: Page, modelName: string): Promise<string> {
  await toStep(page, "extract", "extract-panel");
  const option = page.getByTestId("extract-model").locator("option", { hasText: modelName });
  await expect.poll(() => option.count(), { timeout: 30_000 }).toBe(1);
  await page.getByTestId("extract-model").selectOption({ label: (await option.textContent())! });
  await page.getByTestId("extract-notes").selectOption("gold");
  const runsBefore = await page.getByTestId("extract-run").count();
  await page.getByTestId("run-extract").click();
  await expect.poll(() => page.getByTestId("extract-run").count(), { timeout: 30_000 }).toBe(runsBefore + 1);
  await expect.poll(() => page.getByTestId("extract-run-status").first().textContent(), { timeout: 60_000 }).toBe("done");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("download-csv").click()]);
  return readFileSync((await download.path())!, "utf8");
}

describe("a model of the user's own, in a real browser", () => {
  it("uploads a model .zip as a base model that runs like the same weights shipped as the demo", async () => {
    open = await openApp();
    const { page } = open;
    await waitForDemo(page);
    await toStep(page, "train", "train-panel");
    await expect.poll(() => baseModels(page), { timeout: 60_000 }).toHaveLength(1);

    await page.getByTestId("upload-zip").setInputFiles({ name: "my-ner.zip", mimeType: "application/zip", buffer: Buffer.from(zipSync(DEMO_FILES)) });
    await expect.poll(() => baseModels(page), { timeout: 60_000 }).toHaveLength(2);
    const uploaded = (await baseModels(page)).find((text) => text.includes("uploaded"))!;
    expect(uploaded).toMatch(/^my-ner · uploaded · \d+\.\d MB$/);
    expect(await page.getByTestId("base-model").locator("option:checked").textContent()).toBe(uploaded);
    await screenshot(page, "upload-1-base-model");

    const fromDemo = await extractGold(page, "Demo source model");
    const fromUpload = await extractGold(page, "my-ner");
    expect(fromUpload.split("\n").length).toBeGreaterThan(2);
    expect(fromUpload).toBe(fromDemo);
    expect(open.errors).toEqual([]);
  });

  it("refuses a folder without its tokenizer, naming the file, and stores nothing", async () => {
    open = await openApp();
    const { page } = open;
    await waitForDemo(page);
    await toStep(page, "train", "train-panel");
    await expect.poll(() => baseModels(page), { timeout: 60_000 }).toHaveLength(1);

    const folder = join(root, "no-tokenizer");
    mkdirSync(folder);
    for (const name of ["config.json", "model.safetensors", "tokenizer_config.json"]) writeFileSync(join(folder, name), DEMO_FILES[name]);
    await page.getByTestId("upload-folder").setInputFiles(folder);
    await expect.poll(() => page.getByTestId("train-error").textContent(), { timeout: 30_000 }).toContain("tokenizer.json");
    expect(await baseModels(page)).toHaveLength(1);
    await screenshot(page, "upload-2-refused");
  });
});
