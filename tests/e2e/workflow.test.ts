// The whole workflow in a real browser, from a fresh profile: the demo project → annotate
// (a local OpenAI-compatible server, with consent) → train (WebAssembly, the demo model, a
// few steps) → evaluate on the gold notes → download the .zip → in Node, the zip's model
// loads in transformers.js and predicts the spans the app showed. A second test reloads the
// page mid-training and checks the run resumes from its checkpoint.
// The demo model is the one the app ships (public/demo/model/, built by
// scripts/build-demo-model.ts).

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strFromU8, unzipSync } from "fflate";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { Span } from "../../src/core/corpus/types.ts";
import { loadTokenizer } from "../../src/core/text/tokenizer.ts";
import { pipelineFromFiles, pipelineSpans } from "../core/export/pipeline-spans.ts";
import { openApp, screenshot, type OpenBrowser } from "./browser.ts";
import type { FakeLlmServer } from "./fixtures/openai-server.ts";
import { GOLD, POOL, annotateWithServer, annotateWithTerms, openTrain, setNumber, toStep, waitForDemo } from "./demo-steps.ts";

const root = mkdtempSync(join(tmpdir(), "workflow-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The app in a fresh profile. */
const start = openApp;

let open: OpenBrowser | undefined;
let server: FakeLlmServer | undefined;
afterEach(async () => {
  await open?.close();
  await server?.close();
  open = undefined;
  server = undefined;
});

describe("adapt, evaluate, download in a real browser", () => {
  it("runs the whole workflow and the downloaded model predicts in transformers.js what the app showed", async () => {
    open = await start();
    const { page } = open;
    await waitForDemo(page);
    server = await annotateWithServer(page);
    await screenshot(page, "workflow-1-annotate");

    await openTrain(page);
    expect(await page.getByTestId("base-model").locator("option").first().textContent()).toContain("demo");
    expect(await page.getByTestId("excluded-notes").textContent()).toContain(`Gold notes (${GOLD.length})`);
    // This Chromium's WebGPU is SwiftShader (software): training goes to WebAssembly.
    expect(await page.getByTestId("backend-shown").textContent()).toBe("WebAssembly");
    await setNumber(page, "hp-epochs", 2);
    await setNumber(page, "hp-batch", 4);
    await screenshot(page, "workflow-2-train-settings");
    await page.getByTestId("start-training").click();
    const row = page.getByTestId("train-runs").locator("tbody tr").first();
    await expect.poll(() => row.getAttribute("data-status"), { timeout: 120_000 }).toBe("done");
    const total = Number(await page.getByTestId("train-total").textContent());
    expect(total).toBeGreaterThan(0);
    expect(await page.getByTestId("train-step").textContent()).toBe(String(total));
    expect(Number(await page.getByTestId("loss-chart").getAttribute("data-points"))).toBe(total);
    expect(await page.getByTestId("dev-f1-table").locator("tbody tr").count()).toBe(2);
    expect(await page.getByTestId("tokens-per-second").textContent()).toMatch(/^\d+ tokens\/s$/);
    await screenshot(page, "workflow-3-train-done");

    await toStep(page, "evaluate", "evaluate-panel");
    await expect.poll(() => page.getByTestId("adapted-model").inputValue()).not.toBe("");
    await page.getByTestId("run-evaluation").click();
    await page.getByTestId("f1-difference").waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("f1-difference").textContent()).toMatch(/95% interval/);
    expect(await page.getByTestId("per-type-table").locator("tbody tr").count()).toBeGreaterThan(0);
    expect(await page.getByTestId("score-table").locator("tbody tr").count()).toBe(4);
    await page.getByTestId("error-list").waitFor();
    await screenshot(page, "workflow-4-evaluate");
    // The adapted model's spans on each gold note, as the app shows them.
    const shown = await page.getByTestId("predictions").locator(".prediction").evaluateAll((divs) =>
      divs.map((div) => ({
        externalId: div.getAttribute("data-external-id")!,
        spans: [...div.querySelectorAll("mark")].map((mark) => ({
          start: Number(mark.getAttribute("data-start")),
          end: Number(mark.getAttribute("data-end")),
          type: mark.getAttribute("data-type")!,
        })),
      })),
    );
    expect(shown.map((note) => note.externalId).sort()).toEqual(GOLD.map((note) => note.id).sort());

    await toStep(page, "download", "download-panel");
    const trainedRow = page.locator("tr[data-kind=trained]").first();
    await page.getByTestId("download-int8").check();
    const [download] = await Promise.all([page.waitForEvent("download"), trainedRow.getByTestId("download-model").click()]);
    const zipPath = join(root, download.suggestedFilename());
    await download.saveAs(zipPath);
    await page.getByTestId("download-done").waitFor();
    await screenshot(page, "workflow-5-download");
    expect(open.errors).toEqual([]);

    // In Node: the zip's model in transformers.js, on the gold notes' text.
    const files = unzipSync(new Uint8Array(readFileSync(zipPath)));
    expect(Object.keys(files).sort()).toEqual(["README.md", "config.json", "model.safetensors", "onnx/model.onnx", "onnx/model_quantized.onnx", "tokenizer.json", "tokenizer_config.json"]);
    expect(files["onnx/model_quantized.onnx"].byteLength).toBeLessThan(0.3 * files["onnx/model.onnx"].byteLength);
    expect(strFromU8(files["README.md"])).toContain("lexicon-7b");
    for (const note of [...GOLD, ...POOL]) expect(strFromU8(files["README.md"])).not.toContain(note.text);
    const pipe = await pipelineFromFiles(files, root, "downloaded");
    const texts = GOLD.map((note) => note.text);
    const theirs = (await pipe(texts, { ignore_labels: [] })) as unknown as { entity: string; index: number }[][];
    await pipe.dispose();
    const tokenizer = loadTokenizer(JSON.parse(strFromU8(files["tokenizer.json"])), JSON.parse(strFromU8(files["tokenizer_config.json"])));
    GOLD.forEach((note, i) => {
      const inApp: Span[] = shown.find((item) => item.externalId === note.id)!.spans;
      expect(pipelineSpans(note.text, theirs[i], tokenizer), note.id).toEqual(inApp);
    });
  });

  it("resumes training from its checkpoint after a reload: the step counter goes on", async () => {
    open = await start();
    const { page } = open;
    await waitForDemo(page);
    await annotateWithTerms(page);
    await openTrain(page);
    await setNumber(page, "hp-epochs", 30);
    await setNumber(page, "hp-batch", 2);
    await setNumber(page, "hp-checkpoint-every", 3);
    await setNumber(page, "hp-patience", 0);
    await page.getByTestId("start-training").click();
    await expect.poll(async () => Number(await page.getByTestId("checkpoint-step").textContent()), { timeout: 120_000 }).toBeGreaterThanOrEqual(6);
    const total = Number(await page.getByTestId("train-total").textContent());
    await screenshot(page, "workflow-resume-before-reload");

    await page.reload();
    await waitForDemo(page);
    await toStep(page, "train", "train-panel");
    const row = page.getByTestId("train-runs").locator("tbody tr").first();
    await expect.poll(() => row.getByTestId("train-status").textContent()).toBe("interrupted");
    const checkpoint = Number(await page.getByTestId("checkpoint-step").textContent());
    expect(checkpoint).toBeGreaterThanOrEqual(6);
    expect(checkpoint).toBeLessThan(total);
    expect(await row.getByTestId("resume-training").textContent()).toBe(`Resume from step ${checkpoint}`);
    await screenshot(page, "workflow-resume-interrupted");

    await row.getByTestId("resume-training").click();
    await expect.poll(() => page.getByTestId("resumed-from").textContent(), { timeout: 60_000 }).toBe(`resumed from step ${checkpoint}`);
    await expect.poll(async () => Number(await page.getByTestId("train-step").textContent()), { timeout: 60_000 }).toBeGreaterThan(checkpoint);
    // Pause: the run stops at the next step with a checkpoint there.
    await page.getByTestId("pause-training").click();
    await expect.poll(() => row.getAttribute("data-status"), { timeout: 60_000 }).toBe("paused");
    const step = Number(await page.getByTestId("train-step").textContent());
    expect(step).toBeGreaterThan(checkpoint);
    expect(await page.getByTestId("checkpoint-step").textContent()).toBe(String(step));
    // The curve holds every step once: the steps before the checkpoint, then the new ones.
    expect(Number(await page.getByTestId("loss-chart").getAttribute("data-points"))).toBe(step);
    expect(await row.getByTestId("resume-training").textContent()).toBe(`Resume from step ${step}`);
    await screenshot(page, "workflow-resume-after");
    expect(open.errors).toEqual([]);
  });
});
