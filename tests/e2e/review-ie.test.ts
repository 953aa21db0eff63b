// Reviewing attributes, relations and a document label with the keyboard, in a real
// browser: a project whose schema has them (from a project file), a note imported with
// entities, attributes, relations and a label (the "import" candidates of the review); the
// reviewer changes an attribute, rejects a relation, adds one, sets the label, clears it,
// undoes once and saves; the human row read back from IndexedDB holds exactly that.
import { gzipSync } from "fflate";
import type { Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { dropFiles, openApp, screenshot, storedRecords, type OpenBrowser } from "./browser.ts";

let open: OpenBrowser | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

const SCHEMA = {
  entityTypes: [
    { name: "Drug", color: "#f4a261", definition: "", examples: [] },
    {
      name: "Symptom",
      color: "#2a9d8f",
      definition: "",
      examples: [],
      attributes: [
        { name: "certainty", values: ["positive", "negative", "suspected"], default: "positive" },
        { name: "temporality", values: ["current", "past"] },
      ],
    },
  ],
  relationTypes: [{ name: "Treats", from: ["Drug"], to: ["Symptom"], directed: true }],
  documentLabels: [{ name: "urgency", values: ["low", "high"], multiple: false }],
  guideline: "",
};

//            0         1         2         3         4         5
//            012345678901234567890123456789012345678901234567890123456
const TEXT = "Aspirin for headache; no fever. Ibuprofen for back pain.";
const ASPIRIN = { start: 0, end: 7, type: "Drug" };
const HEADACHE = { start: 12, end: 20, type: "Symptom" };
const FEVER = { start: 25, end: 30, type: "Symptom" };
const IBUPROFEN = { start: 32, end: 41, type: "Drug" };
const BACK_PAIN = { start: 46, end: 55, type: "Symptom" };
// The candidates: aspirin treats headache (right) and fever (wrong); ibuprofen → back pain missing.
const RECORD = {
  id: "ie-1",
  text: TEXT,
  entities: [ASPIRIN, HEADACHE, { ...FEVER, attributes: { certainty: "negative" } }, IBUPROFEN, BACK_PAIN],
  relations: [
    { type: "Treats", from: 0, to: 1 },
    { type: "Treats", from: 0, to: 2 },
  ],
  labels: { urgency: "high" },
};

/** A project file holding only the project and its schema. */
function projectFile(): Buffer {
  const lines = [
    { format: "clinical-adapt-project", version: 1, exportedAt: new Date(0).toISOString(), notes: 0, annotations: 0 },
    { kind: "project", name: "IE review", language: "en", schema: SCHEMA, createdAt: 0 },
  ];
  return Buffer.from(gzipSync(new TextEncoder().encode(lines.map((line) => JSON.stringify(line)).join("\n") + "\n")));
}

/** The spans as the span list shows them: "words decision attributes". */
const spans = (page: Page) =>
  page.getByTestId("review-span").evaluateAll((items, text) =>
    items.map((item) => `${text.slice(Number(item.getAttribute("data-start")), Number(item.getAttribute("data-end")))} ${item.getAttribute("data-decision")} ${item.getAttribute("data-attributes") ?? "-"}`),
  TEXT);

/** The relations as the list shows them: "from type to decision". */
const relations = (page: Page) =>
  page
    .getByTestId("review-relation")
    .evaluateAll((items) => items.map((item) => ["from", "type", "to", "decision"].map((name) => item.getAttribute(`data-${name}`)).join(" ")));

/** The human rows of the page's database, straight from IndexedDB. */
const humanRows = async (page: Page): Promise<unknown[]> => (await storedRecords<{ origin: string }>(page, "annotations")).filter((row) => row.origin === "human");

describe("reviewing attributes, relations and labels", () => {
  it("changes an attribute, rejects and adds a relation, sets a label and undoes with the keyboard; the saved row holds exactly that", async () => {
    open = await openApp();
    const { page } = open;
    await expect.poll(() => page.getByTestId("note-count").textContent(), { timeout: 30_000 }).toBe("16 notes");
    await page.getByTestId("project-file-input").setInputFiles({ name: "ie.project.jsonl.gz", mimeType: "application/gzip", buffer: projectFile() });
    await expect.poll(() => page.getByTestId("project-name").textContent()).toBe("IE review");
    await page.getByTestId("step-notes").click();
    await dropFiles(page, "[data-testid=dropzone]", [{ name: "ie.jsonl", content: JSON.stringify(RECORD) + "\n" }]);
    await expect.poll(() => page.getByTestId("notes-added").textContent(), { timeout: 30_000 }).toBe("1");

    await page.getByTestId("step-review").click();
    await page.getByTestId("reviewer-name").fill("ana");
    await page.getByTestId("set-reviewer").click();
    await expect.poll(() => page.getByTestId("review-note-id").textContent()).toBe("ie-1");
    await page.getByTestId("review-editor").focus();
    expect(await spans(page)).toEqual([
      "Aspirin pending -",
      "headache pending -",
      "fever pending certainty=negative",
      "Ibuprofen pending -",
      "back pain pending -",
    ]);
    expect(await relations(page)).toEqual(["Aspirin Treats headache pending", "Aspirin Treats fever pending"]);
    expect(await page.getByTestId("review-label").getAttribute("data-values")).toBe("high");
    expect(await page.getByTestId("key-help-ie").textContent()).toContain("e: next value of the span's attribute");

    // Accept every span; j to headache; e opens the chooser (two attributes): 1 1 makes
    // certainty positive → negative → suspected, 2 sets temporality (no default) to current.
    await page.keyboard.press("Shift+A");
    await page.keyboard.press("j");
    await page.keyboard.press("e");
    expect(await page.getByTestId("mode-hint").getAttribute("data-mode")).toBe("attributes");
    for (const key of ["1", "1", "2", "Enter"]) await page.keyboard.press(key);
    expect(await page.getByTestId("mode-hint").count()).toBe(0);
    expect((await spans(page))[1]).toBe("headache accepted certainty=suspected temporality=current");

    // L twice: the second relation (aspirin → fever) in focus; r rejects it.
    await page.keyboard.press("Shift+L");
    await page.keyboard.press("Shift+L");
    await page.keyboard.press("r");
    expect(await relations(page)).toEqual(["Aspirin Treats headache pending", "Aspirin Treats fever rejected"]);

    // Ibuprofen (j twice from headache), l, j to back pain, Enter, 1: Treats.
    await page.keyboard.press("j");
    await page.keyboard.press("j");
    await page.keyboard.press("l");
    expect(await page.getByTestId("mode-hint").getAttribute("data-mode")).toBe("relation-target");
    await page.keyboard.press("j");
    await page.keyboard.press("Enter");
    expect(await page.getByTestId("mode-hint").textContent()).toContain("“Ibuprofen” → “back pain”: 1 Treats");
    await page.keyboard.press("1");
    expect(await relations(page)).toEqual(["Aspirin Treats headache pending", "Aspirin Treats fever rejected", "Ibuprofen Treats back pain accepted"]);

    // c then 1: urgency low; c then 0 clears it; Ctrl+Z brings low back.
    await page.keyboard.press("c");
    await page.keyboard.press("1");
    expect(await page.getByTestId("review-label").getAttribute("data-values")).toBe("low");
    await page.keyboard.press("c");
    await page.keyboard.press("0");
    expect(await page.getByTestId("review-label").getAttribute("data-values")).toBe("");
    await page.keyboard.press("Control+z");
    expect(await page.getByTestId("review-label").getAttribute("data-values")).toBe("low");
    expect(await page.getByTestId("review-error").count()).toBe(0);
    await screenshot(page, "review-ie");

    await page.keyboard.press("s");
    await expect.poll(() => page.getByTestId("review-message").textContent()).toBe("Saved your review of ie-1.");
    const rows = (await humanRows(page)) as { runId: string; spans: unknown; relations: unknown; labels: unknown; meta: { review: { rejectedRelations: unknown } } }[];
    expect(rows).toHaveLength(1);
    expect(rows[0].runId).toBe("review:ana");
    expect(rows[0].spans).toEqual([ASPIRIN, { ...HEADACHE, attributes: { certainty: "suspected", temporality: "current" } }, { ...FEVER, attributes: { certainty: "negative" } }, IBUPROFEN, BACK_PAIN]);
    // Aspirin → headache was left pending between two accepted spans: kept. Aspirin → fever rejected.
    expect(rows[0].relations).toEqual([
      { type: "Treats", from: 0, to: 1 },
      { type: "Treats", from: 3, to: 4 },
    ]);
    expect(rows[0].labels).toEqual({ urgency: ["low"] });
    expect(rows[0].meta.review.rejectedRelations).toEqual([{ type: "Treats", from: ASPIRIN, to: FEVER }]);
    expect(open.errors).toEqual([]);
  });
});
