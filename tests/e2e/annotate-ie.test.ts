// The annotate step beyond entity spans, in a real browser: a project whose schema has an
// attribute (Disease certainty), a relation type (Chemical treats Disease) and a document
// label (setting), with notes dropped in as JSONL. Term lists with a negation cue tag the
// right spans, and a cue the schema no longer allows stops the run with its reason; an
// OpenAI-compatible server (with consent) answers with attributes, relations and labels,
// the stored rows carry them on the right spans, the runs table lists what could not be
// placed, and the gold check shows attribute, relation and label scores computed by hand.
import { gzipSync } from "fflate";
import type { Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import type { TaskSchema } from "../../src/core/schema/types.ts";
import { dropFiles, openApp, screenshot, type OpenBrowser } from "./browser.ts";
import { startFakeLlmServer, type FakeLlmServer, type LexiconEntry } from "./fixtures/openai-server.ts";

const SCHEMA: TaskSchema = {
  entityTypes: [
    { name: "Chemical", color: "#f4a261", definition: "A drug.", examples: [] },
    { name: "Disease", color: "#2a9d8f", definition: "A disease or symptom.", examples: [], attributes: [{ name: "certainty", values: ["affirmed", "negated"], default: "affirmed" }] },
  ],
  relationTypes: [{ name: "treats", from: ["Chemical"], to: ["Disease"], directed: true }],
  documentLabels: [{ name: "setting", values: ["ED", "ward"], multiple: false }],
  guideline: "",
};

const P1 = "Started metformin for diabetes. Denies chest pain.";
// Aspirin twice: the relation must go to the one next to headache.
const P2 = "Aspirin given for headache; no fever. Aspirin stopped.";
const G1 = "Insulin for diabetes on the ward. No fever.";
const G2 = "Aspirin for headache in the ED; denies nausea.";

/** The entity at the first occurrence of `words`. */
function entity(text: string, words: string, type: string, attributes?: Record<string, string>) {
  const start = text.indexOf(words);
  return { start, end: start + words.length, type, ...(attributes ? { attributes } : {}) };
}

const NOTES = [
  { id: "p1", text: P1 },
  { id: "p2", text: P2 },
  {
    id: "g1",
    text: G1,
    entities: [entity(G1, "Insulin", "Chemical"), entity(G1, "diabetes", "Disease"), entity(G1, "fever", "Disease", { certainty: "negated" })],
    relations: [{ type: "treats", from: 0, to: 1 }],
    labels: { setting: "ward" },
  },
  {
    id: "g2",
    text: G2,
    entities: [entity(G2, "Aspirin", "Chemical"), entity(G2, "headache", "Disease"), entity(G2, "nausea", "Disease", { certainty: "negated" })],
    relations: [{ type: "treats", from: 0, to: 1 }],
    labels: { setting: "ED" },
  },
];

let open: OpenBrowser | undefined;
let server: FakeLlmServer | undefined;
afterEach(async () => {
  await open?.close();
  await server?.close();
  open = undefined;
  server = undefined;
});

/** A project file holding only the project and its schema: the shortest way to a schema with all three kinds. */
function projectFile(): Buffer {
  const lines = [
    { format: "clinical-adapt-project", version: 1, exportedAt: new Date(0).toISOString(), notes: 0, annotations: 0 },
    { kind: "project", name: "ED notes", language: "en", schema: SCHEMA, createdAt: 0 },
  ];
  return Buffer.from(gzipSync(new TextEncoder().encode(lines.map((line) => JSON.stringify(line)).join("\n") + "\n")));
}

/** The project, its notes dropped in as JSONL, g1 and g2 moved to gold. */
async function setUpProject(page: Page) {
  await page.getByTestId("project-file-input").setInputFiles({ name: "ED notes.project.jsonl.gz", mimeType: "application/gzip", buffer: projectFile() });
  await expect.poll(() => page.getByTestId("project-name").textContent()).toBe("ED notes");
  await page.getByTestId("step-notes").click();
  await dropFiles(page, "[data-testid=dropzone]", [{ name: "notes.jsonl", content: NOTES.map((note) => JSON.stringify(note)).join("\n") + "\n" }]);
  await page.getByTestId("import-report").waitFor({ timeout: 60_000 });
  expect(await page.getByTestId("notes-added").textContent()).toBe("4");
  for (const id of ["g1", "g2"]) {
    await openNote(page, id);
    await page.getByTestId("split").selectOption("gold");
    await expect.poll(() => page.getByTestId("split").inputValue()).toBe("gold");
  }
}

async function openNote(page: Page, id: string) {
  await page.getByTestId("note-list").getByText(id, { exact: true }).click();
  await expect.poll(() => page.getByTestId("note-view").locator("h3").textContent()).toBe(id);
}

async function toAnnotate(page: Page) {
  await page.getByTestId("step-annotate").click();
  await expect.poll(() => page.getByTestId("pool-scope").textContent()).toContain("2 pool notes");
}

async function latestRunId(page: Page): Promise<string> {
  const row = page.getByTestId("run-list").locator("tbody tr[data-run-id]").first();
  await row.waitFor();
  return (await row.getAttribute("data-run-id"))!;
}

async function runToEnd(page: Page, runId: string) {
  await expect.poll(() => page.locator(`tr[data-run-id="${runId}"]`).getAttribute("data-status"), { timeout: 60_000 }).toBe("done");
}

interface StoredRow {
  noteId: number;
  spans: { start: number; end: number; type: string; attributes?: Record<string, string> }[];
  relations?: { type: string; from: number; to: number }[];
  labels?: Record<string, string[]>;
  meta?: { unplaced?: string[]; unplacedRelations?: string[] };
}

/** A run's rows as IndexedDB holds them, with each note's text, read by the page itself. */
async function storedRows(page: Page, runId: string): Promise<(StoredRow & { text: string })[]> {
  return page.evaluate(
    (runId) =>
      new Promise((resolve, reject) => {
        const request = indexedDB.open("clinical-adapt");
        request.onerror = () => reject(request.error);
        request.onsuccess = () => {
          const transaction = request.result.transaction(["annotations", "notes"]);
          const rows = transaction.objectStore("annotations").getAll();
          const notes = transaction.objectStore("notes").getAll();
          transaction.oncomplete = () => {
            request.result.close();
            const texts = new Map((notes.result as { id: number; text: string }[]).map((note) => [note.id, note.text]));
            resolve((rows.result as (StoredRow & { runId: string })[]).filter((row) => row.runId === runId).map((row) => ({ ...row, text: texts.get(row.noteId)! })));
          };
          transaction.onerror = () => reject(transaction.error);
        };
      }),
    runId,
  );
}

/** A row's spans as [words, type, attributes], and its relations as [words, type, words, where the first end starts]. */
function readable(row: StoredRow & { text: string }) {
  const words = (index: number) => row.text.slice(row.spans[index].start, row.spans[index].end);
  return {
    spans: row.spans.map((span) => [row.text.slice(span.start, span.end), span.type, span.attributes ?? {}]),
    relations: (row.relations ?? []).map((relation) => [words(relation.from), relation.type, words(relation.to), row.spans[relation.from].start]),
    labels: row.labels,
  };
}

describe("annotating attributes, relations and document labels", () => {
  it("tags negated spans from term-list cues, keeps the cues, and refuses a cue the schema no longer has", async () => {
    open = await openApp();
    const { page } = open;
    await expect.poll(() => page.getByTestId("note-count").textContent()).toBe("16 notes");
    await setUpProject(page);
    await toAnnotate(page);
    await page.getByTestId("backend-terms").check();
    // Only the value that is not the default takes cues.
    expect(await page.getByTestId("cues-Disease").locator("input[data-testid^=cue-Disease-]").count()).toBe(1);
    expect(await page.getByTestId("cues-Chemical").count()).toBe(0);
    await page.getByTestId("terms-Chemical").fill("metformin\nAspirin\nInsulin");
    await page.getByTestId("terms-Disease").fill("diabetes\nchest pain\nheadache\nfever\nnausea");
    await page.getByTestId("cue-Disease-certainty-negated").fill("no, denies");
    await screenshot(page, "annotate-ie-cues");
    await page.getByTestId("start-run").click();
    const runId = await latestRunId(page);
    await runToEnd(page, runId);
    expect(await page.locator(`tr[data-run-id="${runId}"]`).textContent()).toContain("term lists (8 entries, 1 attribute cue)");

    // "Denies chest pain" and "no fever" are negated; diabetes and headache (before the cue) are not.
    await page.getByTestId("step-notes").click();
    const marks = page.getByTestId("note-text").locator("mark");
    await openNote(page, "p1");
    await expect.poll(() => marks.allTextContents()).toEqual(["metforminChemical", "diabetesDisease", "chest painDiseasenegated"]);
    expect(await marks.filter({ hasText: "chest pain" }).locator(".attribute").textContent()).toBe("negated");
    await openNote(page, "p2");
    await expect.poll(() => marks.allTextContents()).toEqual(["AspirinChemical", "headacheDisease", "feverDiseasenegated", "AspirinChemical"]);
    await screenshot(page, "annotate-ie-negated");

    // The cues are kept for the next visit.
    await page.reload();
    await page.getByRole("button", { name: "ED notes", exact: true }).click();
    await toAnnotate(page);
    await page.getByTestId("backend-terms").check();
    expect(await page.getByTestId("cue-Disease-certainty-negated").inputValue()).toBe("no, denies");

    // The schema drops "negated": the cue is shown as stale, and a run stops with the reason.
    await page.getByTestId("step-schema").click();
    const values = page.getByRole("textbox", { name: "Attribute values" });
    await values.fill("affirmed, refuted");
    await values.press("Tab");
    await page.getByTestId("save-schema").click();
    await page.getByText("Saved.").waitFor();
    await toAnnotate(page);
    await page.getByTestId("backend-terms").check();
    expect(await page.getByTestId("stale-cue").textContent()).toContain("certainty = negated");
    await page.getByTestId("start-run").click();
    await expect
      .poll(() => page.getByTestId("annotate-error").textContent())
      .toBe('Term list for Disease: cue 1 (certainty=negated): "negated" is not a value of certainty (affirmed, refuted)');
    expect(await page.getByTestId("run-list").locator("tbody tr[data-run-id]").count()).toBe(1);
    await page.getByTestId("stale-cue").getByRole("button", { name: "Remove" }).click();
    expect(await page.getByTestId("stale-cue").count()).toBe(0);
    expect(open.errors).toEqual([]);
  });

  it("stores the server's attributes, relations and labels on the right spans, lists unplaced relations, and scores them against gold", async () => {
    const lexicon: Record<string, string | LexiconEntry> = {
      metformin: "Chemical",
      Aspirin: "Chemical",
      Insulin: "Chemical",
      diabetes: "Disease",
      "chest pain": { type: "Disease", attributes: { certainty: "negated" } },
      headache: "Disease",
      fever: { type: "Disease", attributes: { certainty: "negated" } },
      // Gold says negated ("denies nausea"): the server gets it wrong.
      nausea: "Disease",
    };
    server = await startFakeLlmServer(lexicon, SCHEMA, {
      relations: [
        { type: "treats", from: "metformin", to: "diabetes" },
        { type: "treats", from: "Insulin", to: "diabetes" },
        { type: "treats", from: "Aspirin", to: "headache" },
        // Not in gold.
        { type: "treats", from: "Aspirin", to: "nausea" },
        // The wrong way round (Disease -> Chemical): not kept, listed as unplaced.
        { type: "treats", from: "chest pain", to: "metformin" },
        { type: "treats", from: "fever", to: "Insulin" },
      ],
      // Right for g1, wrong for g2 (ED).
      labels: [{ labels: { setting: ["ward"] } }],
    });
    open = await openApp();
    const { page } = open;
    await expect.poll(() => page.getByTestId("note-count").textContent()).toBe("16 notes");
    // The server is allowed in the privacy settings (what the Privacy panel saves) before the page loads.
    await page.evaluate((url) => localStorage.setItem("privacy:settings", JSON.stringify({ offline: false, endpoint: url })), server.baseUrl);
    await page.reload();
    await expect.poll(() => page.getByTestId("note-count").textContent()).toBe("16 notes");
    await setUpProject(page);
    await toAnnotate(page);
    await page.getByTestId("backend-endpoint").check();
    await page.getByTestId("endpoint-enabled").check();
    await page.getByTestId("endpoint-url").fill(server.baseUrl);
    await page.getByTestId("endpoint-model").fill("lexicon-7b");
    expect(server.requests).toEqual([]);
    await page.getByTestId("consent-checkbox").check();
    await page.getByTestId("start-run").click();
    const runId = await latestRunId(page);
    await runToEnd(page, runId);
    expect(server.notes().sort()).toEqual([P1, P2].sort());

    const rows = await storedRows(page, runId);
    const byText = new Map(rows.map((row) => [row.text, readable(row)]));
    expect(byText.get(P1)).toEqual({
      spans: [["metformin", "Chemical", {}], ["diabetes", "Disease", {}], ["chest pain", "Disease", { certainty: "negated" }]],
      relations: [["metformin", "treats", "diabetes", P1.indexOf("metformin")]],
      labels: { setting: ["ward"] },
    });
    // The relation starts at the Aspirin next to headache, not the later one.
    expect(byText.get(P2)).toEqual({
      spans: [["Aspirin", "Chemical", {}], ["headache", "Disease", {}], ["fever", "Disease", { certainty: "negated" }], ["Aspirin", "Chemical", {}]],
      relations: [["Aspirin", "treats", "headache", 0]],
      labels: { setting: ["ward"] },
    });
    const p1 = rows.find((row) => row.text === P1)!;
    expect(p1.meta?.unplacedRelations).toEqual([expect.stringMatching(/^treats: chest pain \(Disease\) -> metformin \(Chemical\) \(/)]);

    // The runs table: the pool run's one unplaced relation, listed under its note.
    const unplaced = page.locator(`tr[data-run-id="${runId}"] + tr.unplaced`);
    expect(await unplaced.getByTestId("unplaced-relations").textContent()).toBe("1 relation");
    expect(await unplaced.getByTestId("unplaced-mentions").textContent()).toBe("0 mentions");
    await unplaced.locator("summary").click();
    expect(await unplaced.getByTestId("unplaced-note").getAttribute("data-note")).toBe("p1");
    expect(await unplaced.getByTestId("unplaced-note").textContent()).toContain("Relations: treats: chest pain (Disease) -> metformin (Chemical)");

    // The gold check, by hand. Spans: all 6 found. certainty on the 4 Disease spans: nausea
    // affirmed against negated -> accuracy 3/4; affirmed P 2/3 R 1 F1 0.8, negated P 1 R 1/2
    // F1 2/3, macro 0.733; end to end tp 3 fp 1 fn 1 -> 75.0. Relations: Insulin->diabetes and
    // Aspirin->headache right, Aspirin->nausea not in gold: P 2/3 R 1 F1 0.8. setting: ward
    // right (g1), ward for ED wrong (g2): accuracy 0.5; ward F1 2/3, ED 0 -> macro 0.333.
    await page.locator(`tr[data-run-id="${runId}"]`).getByTestId("gold-check").click();
    const check = page.getByTestId("gold-f1");
    await check.waitFor({ timeout: 60_000 });
    expect(await check.locator(".score[data-type=Chemical]").textContent()).toBe("Chemical 100.0");
    expect(await check.locator(".score[data-type=Disease]").textContent()).toBe("Disease 100.0");
    expect(await check.getByTestId("gold-attributes").locator(".score[data-attribute=certainty]").textContent()).toBe(
      "certainty accuracy 75.0 of 4 · macro-F1 73.3 · end to end F1 75.0",
    );
    expect(await check.getByTestId("gold-relations").locator(".score[data-relation=treats]").textContent()).toBe("treats 80.0");
    expect(await check.getByTestId("gold-relations").locator(".score[data-relation=all]").textContent()).toBe("all F1 80.0 (P 66.7 R 100.0)");
    expect(await check.getByTestId("gold-labels").locator(".score[data-label=setting]").textContent()).toBe("setting accuracy 50.0 · macro-F1 33.3 on 2 notes");
    // The check run lists g1's relation that was the wrong way round.
    const checkRunId = await latestRunId(page);
    expect(checkRunId).not.toBe(runId);
    const checkUnplaced = page.locator(`tr[data-run-id="${checkRunId}"] + tr.unplaced`);
    expect(await checkUnplaced.getByTestId("unplaced-relations").textContent()).toBe("1 relation");
    expect(await checkUnplaced.getByTestId("unplaced-note").getAttribute("data-note")).toBe("g1");
    await screenshot(page, "annotate-ie-gold-check");
    expect(open.errors).toEqual([]);
  });
});
