// Attributes through the app's whole loop in a real browser: a project whose schema has an
// attribute, a relation type and a document label (opened from a project file); notes with
// entities, attributes, relations and labels dropped in as JSONL; four marked gold; the
// Train step offers each task and trains the attribute head a few steps on WebAssembly
// from the imported (human) annotations; Evaluate scores it on the gold notes, given the
// gold entities, and says why the base model has no scores; the download's zip holds the
// span-head folder the card describes. A document-label head trained the same way labels
// each note in the Extract step, with no entity model, and the downloads carry the labels.
import { strFromU8, gzipSync, strToU8, unzipSync } from "fflate";
import { readFileSync } from "node:fs";
import Papa from "papaparse";
import type { Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import type { TaskSchema } from "../../src/core/schema/types.ts";
import { dropFiles, openApp, screenshot, type OpenBrowser } from "./browser.ts";
import { setNumber, toStep, waitForDemo } from "./demo-steps.ts";

let open: OpenBrowser | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

const SCHEMA: TaskSchema = {
  entityTypes: [
    { name: "Drug", color: "#f4a261", definition: "", examples: [] },
    { name: "Symptom", color: "#2a9d8f", definition: "", examples: [], attributes: [{ name: "certainty", values: ["positive", "negative"], default: "positive" }] },
  ],
  relationTypes: [{ name: "Treats", from: ["Drug"], to: ["Symptom"], directed: true }],
  documentLabels: [{ name: "urgency", values: ["low", "high"], multiple: false }],
  guideline: "",
};

/** A project file holding only the project and its schema (the store's own import). */
function projectFile(): Buffer {
  const lines = [
    { format: "clinical-adapt-project", version: 1, exportedAt: "2025-01-01T00:00:00.000Z", notes: 0, annotations: 0 },
    { kind: "project", name: "Pain clinic", language: "en", schema: SCHEMA, createdAt: 0 },
  ];
  return Buffer.from(gzipSync(strToU8(lines.map((line) => JSON.stringify(line)).join("\n") + "\n")));
}

const DRUGS = ["aspirin", "ibuprofen", "paracetamol", "naproxen"];
const SYMPTOMS = ["headache", "fever", "back pain", "nausea"];

/** 16 distinct notes: "<drug> for <symptom>." (related, affirmed, low) or "No <symptom>; <drug> stopped." (unrelated, negated, high). */
function record(i: number) {
  const drug = DRUGS[i % DRUGS.length];
  const symptom = SYMPTOMS[Math.floor(i / 4) % SYMPTOMS.length];
  if (Math.floor(i / 2) % 2 === 0) {
    const text = `${drug} for ${symptom}.`;
    const s = drug.length + 5;
    return {
      id: `n${i}`,
      text,
      entities: [
        { start: 0, end: drug.length, type: "Drug" },
        { start: s, end: s + symptom.length, type: "Symptom", attributes: { certainty: "positive" } },
      ],
      relations: [{ type: "Treats", from: 0, to: 1 }],
      labels: { urgency: "low" },
    };
  }
  const text = `No ${symptom}; ${drug} stopped.`;
  const d = 3 + symptom.length + 2;
  return {
    id: `n${i}`,
    text,
    entities: [
      { start: 3, end: 3 + symptom.length, type: "Symptom", attributes: { certainty: "negative" } },
      { start: d, end: d + drug.length, type: "Drug" },
    ],
    relations: [],
    labels: { urgency: "high" },
  };
}

const NOTES = Array.from({ length: 16 }, (_, i) => record(i));
const GOLD = ["n12", "n13", "n14", "n15"];

/** The app with the Pain clinic project, its 16 notes imported and four marked gold (kept in `open`, so afterEach closes it). */
async function openPainClinic(): Promise<OpenBrowser> {
  open = await openApp();
  const { page } = open;
  await waitForDemo(page);
  await page.getByTestId("project-file-input").setInputFiles({ name: "pain.project.jsonl.gz", mimeType: "application/gzip", buffer: projectFile() });
  await expect.poll(() => page.getByTestId("project-name").textContent()).toBe("Pain clinic");

  await page.getByTestId("step-notes").click();
  await dropFiles(page, "[data-testid=dropzone]", [{ name: "pain.jsonl", content: NOTES.map((n) => JSON.stringify(n)).join("\n") + "\n" }]);
  await page.getByTestId("import-report").waitFor({ timeout: 60_000 });
  expect(await page.getByTestId("notes-added").textContent()).toBe("16");
  for (const id of GOLD) {
    await page.getByTestId("note-list").getByText(id, { exact: true }).click();
    // The note view shows the note before its split is changed (selecting is asynchronous).
    await page.getByRole("heading", { name: id, exact: true }).waitFor();
    await page.getByTestId("split").selectOption("gold");
    await expect.poll(() => page.getByTestId("note-list").locator(".row", { hasText: id }).locator(".split").textContent()).toBe("gold");
  }
  return open;
}

/** The Train step set to train the "urgency" head on the imported (human) labels, 2 epochs of batches of 4. */
async function chooseDocumentTask(page: Page) {
  await toStep(page, "train", "train-panel");
  await expect.poll(() => page.getByTestId("base-model").locator("option").count(), { timeout: 60_000 }).toBeGreaterThan(0);
  await page.getByTestId("source-human").check();
  await page.getByTestId("task-document-urgency").check();
  await setNumber(page, "hp-epochs", 2);
  await setNumber(page, "hp-batch", 4);
}

describe("attributes, relations and document labels in the app", () => {
  it("train an attribute head, evaluate it on the gold notes, and download it", async () => {
    open = await openPainClinic();
    const { page } = open;

    await toStep(page, "train", "train-panel");
    await expect.poll(() => page.getByTestId("base-model").locator("option").count(), { timeout: 60_000 }).toBeGreaterThan(0);
    const tasks = page.getByTestId("train-task").locator("label");
    expect(await tasks.allTextContents()).toEqual(["Entities", "Entity attributes", "Relations", 'Document label "urgency"'].map((t) => ` ${t}`));
    await page.getByTestId("source-human").check();
    await expect.poll(() => page.getByTestId("excluded-notes").textContent()).toContain("Gold notes (4)");
    await page.getByTestId("task-attributes").check();
    expect(await page.getByTestId("task-note").textContent()).toContain("the attributes of the annotated entities");
    await setNumber(page, "hp-epochs", 2);
    await setNumber(page, "hp-batch", 4);
    await page.getByTestId("start-training").click();
    const row = page.getByTestId("train-runs").locator("tbody tr").first();
    await expect.poll(() => row.getAttribute("data-status"), { timeout: 120_000 }).toBe("done");
    expect(await row.getByTestId("train-run-task").textContent()).toBe("Entity attributes");
    const total = Number(await page.getByTestId("train-total").textContent());
    expect(total).toBeGreaterThan(0);
    expect(await page.getByTestId("train-step").textContent()).toBe(String(total));
    expect(Number(await page.getByTestId("loss-chart").getAttribute("data-points"))).toBe(total);
    await screenshot(page, "ie-app-1-train-attributes");

    await toStep(page, "evaluate", "evaluate-panel");
    await page.getByTestId("evaluate-task").waitFor();
    await page.getByTestId("run-task-evaluation").click();
    await page.getByTestId("task-score-table").waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("given-gold-entities").textContent()).toBe("The model is given the gold entities");
    expect(await page.getByTestId("task-source-note").textContent()).toContain("has no head for entity attributes");
    // Four gold notes, one Symptom each: accuracy over 4 entities, then per-value F1.
    expect(await page.getByTestId("task-score-certainty:accuracy").locator("td").first().textContent()).toBe("certainty: accuracy (4 entities)");
    expect(await page.getByTestId("task-score-table").locator("thead th").count()).toBe(2);
    await screenshot(page, "ie-app-2-evaluate-attributes");

    await toStep(page, "download", "download-panel");
    const trained = page.locator("tr[data-kind=trained]");
    expect(await trained.count()).toBe(1);
    const [download] = await Promise.all([page.waitForEvent("download"), trained.getByTestId("download-model").click()]);
    await page.getByTestId("download-done").waitFor();
    const files = unzipSync(new Uint8Array(readFileSync(await download.path())));
    expect(Object.keys(files).sort()).toEqual(["README.md", "config.json", "model.safetensors", "onnx/model.onnx", "tokenizer.json", "tokenizer_config.json"]);
    const config = JSON.parse(strFromU8(files["config.json"]));
    expect(config.clinical_adapt_head).toEqual({ kind: "attributes", pooling: "mean", attributes: [{ entity_type: "Symptom", name: "certainty", values: ["positive", "negative"] }] });
    const card = strFromU8(files["README.md"]);
    expect(card).toContain("attribute_classifiers.{i}.weight");
    expect(card).toContain("| certainty: accuracy (4 entities) |");
    for (const note of NOTES) expect(card).not.toContain(note.text);
    expect(open.errors).toEqual([]);
  });

  it("draw a learning curve of a document-label head: one run per size, the task's F1 per point, no source row", async () => {
    open = await openPainClinic();
    const { page } = open;
    await chooseDocumentTask(page);
    await toStep(page, "evaluate", "evaluate-panel");
    expect(await page.getByTestId("curve-task").textContent()).toContain('Trains: Document label "urgency" (a base model has no such head, so there is no source row)');
    await expect.poll(() => page.getByTestId("curve-sizes").inputValue(), { timeout: 30_000 }).not.toBe("");
    await page.getByTestId("curve-sizes").fill("4, all");
    await page.getByTestId("start-curve").click();
    await expect.poll(() => page.getByTestId("curve-point").count(), { timeout: 150_000 }).toBe(2);
    const table = page.getByTestId("curve-table");
    expect(await table.locator("thead th").allTextContents()).toEqual(["Training notes", "F1", "P", "R", "Steps"]);
    expect(await table.locator("tr.source").count()).toBe(0);
    const rows = await page.getByTestId("curve-point").evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    // 12 pool notes (16 less 4 gold) less those kept for dev; each F1 a percentage.
    expect(rows.map((row) => row[0])).toEqual(["4", expect.stringMatching(/^\d+$/)]);
    for (const row of rows) expect(Number(row[1])).toBeGreaterThanOrEqual(0);
    expect(Number(await page.getByTestId("curve-chart").getAttribute("data-points"))).toBe(2);
    await screenshot(page, "ie-app-4-document-curve");
    expect(open.errors).toEqual([]);
  });

  it("label each note with a document-label head in the Extract step, without an entity model, and download the labels", async () => {
    open = await openPainClinic();
    const { page } = open;
    await chooseDocumentTask(page);
    await page.getByTestId("start-training").click();
    await expect.poll(() => page.getByTestId("train-runs").locator("tbody tr").first().getAttribute("data-status"), { timeout: 120_000 }).toBe("done");

    await toStep(page, "extract", "extract-panel");
    const taskModel = page.getByTestId("extract-task-model");
    await expect.poll(() => taskModel.locator("option").count(), { timeout: 60_000 }).toBe(2);
    expect(await taskModel.locator("option").nth(1).textContent()).toContain('Document label "urgency"');
    await taskModel.selectOption({ index: 1 });
    await page.getByTestId("extract-model").selectOption({ label: "none: label the notes only" });
    await page.getByTestId("extract-notes").selectOption("gold");
    await page.getByTestId("run-extract").click();
    await expect.poll(() => page.getByTestId("extract-run-status").first().textContent(), { timeout: 60_000 }).toBe("done");
    await expect.poll(() => page.getByTestId("extract-summary").textContent()).toBe("0 spans in 4 notes");
    await expect.poll(() => page.getByTestId("extract-labels").textContent()).toMatch(/^Labels: urgency = (low|high)$/);
    await screenshot(page, "ie-app-3-extract-labels");

    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("download-jsonl").click()]);
    const lines = readFileSync(await download.path(), "utf8").trim().split("\n").map((line) => JSON.parse(line) as { id: string; entities: unknown[]; labels: { urgency: string } });
    expect(lines.map((line) => line.id).sort()).toEqual(GOLD);
    for (const line of lines) {
      expect(line.entities).toEqual([]);
      expect(["low", "high"]).toContain(line.labels.urgency);
    }
    const [csv] = await Promise.all([page.waitForEvent("download"), page.getByTestId("download-csv").click()]);
    expect(Papa.parse(readFileSync(await csv.path(), "utf8"), { header: true }).meta.fields).toEqual(["note_id", "start", "end", "type", "text", "confidence", "attributes"]);
    expect(open.errors).toEqual([]);
  });
});
