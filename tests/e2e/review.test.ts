// The Review step in a real browser: an English and a Japanese note, annotated by a local
// OpenAI-compatible server (with consent), reviewed with the keyboard and the mouse: add,
// retype, delete, accept, reject, undo, redo (in both); the Japanese note marked gold; the Train
// step's plan leaves it out; the agreement tables show the hand-computed numbers, also
// after a second reviewer reviews the English note.

import type { Locator, Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { dropFiles, openApp, screenshot, type OpenBrowser } from "./browser.ts";
import type { FakeLlmServer } from "./fixtures/openai-server.ts";
import { annotateWithServer, toStep } from "./demo-steps.ts";

// Types Chemical and Disease: keys 1 and 2 in the demo schema.
const EN = { id: "en-review", text: "Patient took aspirin and ibuprofen, developed gastritis and fever." };
const JA = { id: "ja-review", text: "患者は胸痛と発熱を訴え、アスピリンを内服した。" };
// The "LLM": aspirin right, gastritis with the wrong type, fever where the reviewer disagrees,
// ibuprofen missed; 発熱 with the wrong type.
const LEXICON: Record<string, string> = { aspirin: "Chemical", gastritis: "Chemical", fever: "Disease", 胸痛: "Disease", 発熱: "Chemical", アスピリン: "Chemical" };
const DEMO_POOL = 11;
const DEMO_GOLD = 5;

let open: OpenBrowser | undefined;
let server: FakeLlmServer | undefined;
afterEach(async () => {
  await open?.close();
  await server?.close();
  open = undefined;
  server = undefined;
});

async function importNotes(page: Page) {
  const lines = [EN, JA].map((note) => JSON.stringify(note)).join("\n") + "\n";
  await dropFiles(page, "[data-testid=dropzone]", [{ name: "review.jsonl", content: lines }]);
  await expect.poll(() => page.getByTestId("notes-added").textContent(), { timeout: 30_000 }).toBe("2");
}

async function annotate(page: Page) {
  server = await annotateWithServer(page, LEXICON, DEMO_POOL + 2);
}

/** The spans of the open note as the span list shows them: "words Type decision origins". */
async function spans(page: Page, text: string): Promise<string[]> {
  const rows = await page.getByTestId("review-span").evaluateAll((items) =>
    items.map((item) => ({
      start: Number(item.getAttribute("data-start")),
      end: Number(item.getAttribute("data-end")),
      type: item.getAttribute("data-type"),
      decision: item.getAttribute("data-decision"),
      origins: item.getAttribute("data-origins"),
    })),
  );
  return rows.map((row) => `${text.slice(row.start, row.end)} ${row.type} ${row.decision} ${row.origins}`);
}

async function openNote(page: Page, externalId: string) {
  await page.getByTestId("queue-entry").filter({ hasText: externalId }).getByRole("button").click();
  await expect.poll(() => page.getByTestId("review-note-id").textContent()).toBe(externalId);
  await page.getByTestId("review-editor").focus();
}

/** Moves the caret to `offset` and selects `length` characters with Shift+→. */
async function selectWithKeys(page: Page, offset: number, length: number) {
  await page.keyboard.press("Home");
  for (let i = 0; i < offset; i++) await page.keyboard.press("ArrowRight");
  for (let i = 0; i < length; i++) await page.keyboard.press("Shift+ArrowRight");
}

/** Drags the mouse over characters [start, end) of the note's text. */
async function selectWithMouse(page: Page, start: number, end: number) {
  const box = (offset: number) =>
    page.getByTestId("review-text").evaluate((element, offset) => {
      const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
      let seen = 0;
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const length = node.textContent!.length;
        if (offset < seen + length) {
          const range = document.createRange();
          range.setStart(node, offset - seen);
          range.setEnd(node, offset - seen + 1);
          const rect = range.getBoundingClientRect();
          return { left: rect.left, right: rect.right, y: rect.top + rect.height / 2 };
        }
        seen += length;
      }
      throw new Error(`offset ${offset} is past the text`);
    }, offset);
  const first = await box(start);
  const last = await box(end - 1);
  await page.mouse.move(first.left + 1, first.y);
  await page.mouse.down();
  await page.mouse.move((first.left + last.right) / 2, last.y, { steps: 4 });
  await page.mouse.move(last.right - 1, last.y, { steps: 2 });
  await page.mouse.up();
}

const cell = (table: Locator, row: string, testId: string) => table.locator(`tr[data-type="${row}"]`).getByTestId(testId);

describe("review in a real browser", () => {
  it("turns LLM spans into a reviewed English note and a gold Japanese note, keeps gold out of training, and shows agreement", async () => {
    open = await openApp();
    const { page } = open;
    await expect.poll(() => page.getByTestId("project-name").textContent(), { timeout: 30_000 }).toContain("Demo");
    await importNotes(page);
    await annotate(page);

    await toStep(page, "review", "review-panel");
    await page.getByTestId("reviewer-name").fill("ana");
    await page.getByTestId("set-reviewer").click();
    await expect.poll(() => page.getByTestId("queue-entry").count()).toBe(DEMO_POOL + DEMO_GOLD + 2);
    await expect.poll(() => page.getByTestId("queue-entry").filter({ hasText: EN.id }).getByTestId("queue-reason").textContent()).toBe(
      "only the LLM annotated it; LLM spans all certain",
    );

    // --- English -----------------------------------------------------------------------
    await openNote(page, EN.id);
    expect(await page.getByTestId("review-reason").textContent()).toContain("only the LLM annotated it");
    expect(await spans(page, EN.text)).toEqual(["aspirin Chemical pending llm", "gastritis Chemical pending llm", "fever Disease pending llm"]);
    expect(await page.getByTestId("span-source").first().textContent()).toMatch(/^llm 1\.00 · /);
    // The demo schema has no attributes, relations or labels: none of their lists, help or keys.
    for (const testId of ["span-attribute", "review-relations", "review-labels", "key-help-ie"]) expect(await page.getByTestId(testId).count()).toBe(0);
    for (const key of ["e", "l", "Shift+L", "c", "0"]) await page.keyboard.press(key);
    expect(await page.getByTestId("mode-hint").count()).toBe(0);
    expect(await page.getByTestId("review-error").count()).toBe(0);
    expect(await spans(page, EN.text)).toEqual(["aspirin Chemical pending llm", "gastritis Chemical pending llm", "fever Disease pending llm"]);
    // The first span is in focus: Enter accepts it and moves on to gastritis; t 2 retypes it.
    await page.keyboard.press("Enter");
    await page.keyboard.press("t");
    await page.getByTestId("retyping").waitFor();
    await page.keyboard.press("2");
    // Tab to fever; r rejects it.
    await page.keyboard.press("Tab");
    await page.keyboard.press("r");
    expect(await spans(page, EN.text)).toEqual(["aspirin Chemical accepted llm", "gastritis Disease accepted llm", "fever Disease rejected llm"]);
    // The mouse selects "ibuprofen", 1 makes it a Chemical.
    const ibuprofen = EN.text.indexOf("ibuprofen");
    await selectWithMouse(page, ibuprofen, ibuprofen + "ibuprofen".length);
    await page.keyboard.press("1");
    // Shift+→ selects "Patient", 2 adds a Disease; undo takes it back, redo brings it, Delete removes it.
    await selectWithKeys(page, 0, "Patient".length);
    await page.keyboard.press("2");
    expect(await spans(page, EN.text)).toContain("Patient Disease accepted human");
    await page.keyboard.press("Control+z");
    expect(await spans(page, EN.text)).not.toContain("Patient Disease accepted human");
    await page.keyboard.press("Control+Shift+Z");
    expect(await spans(page, EN.text)).toContain("Patient Disease accepted human");
    await page.keyboard.press("Delete");
    expect(await spans(page, EN.text)).toEqual([
      "aspirin Chemical accepted llm",
      "ibuprofen Chemical accepted human",
      "gastritis Disease accepted llm",
      "fever Disease rejected llm",
    ]);
    expect(await page.getByTestId("unsaved").count()).toBe(1);
    await screenshot(page, "review-1-english");
    await page.keyboard.press("s");
    await expect.poll(() => page.getByTestId("review-message").textContent()).toBe(`Saved your review of ${EN.id}.`);
    expect(await page.getByTestId("unsaved").count()).toBe(0);

    // --- Japanese ----------------------------------------------------------------------
    await openNote(page, JA.id);
    expect(await spans(page, JA.text)).toEqual(["胸痛 Disease pending llm", "発熱 Chemical pending llm", "アスピリン Chemical pending llm"]);
    await page.keyboard.press("a"); // 胸痛 accepted, focus on 発熱
    await page.keyboard.press("r"); // 発熱 (Chemical) rejected, focus on アスピリン
    await page.keyboard.press("a");
    // 発熱 again, as a Disease, selected with the keyboard one character at a time.
    await selectWithKeys(page, JA.text.indexOf("発熱"), 2);
    await page.keyboard.press("2");
    expect(await spans(page, JA.text)).toEqual([
      "胸痛 Disease accepted llm",
      "発熱 Chemical rejected llm",
      "発熱 Disease accepted human",
      "アスピリン Chemical accepted llm",
    ]);
    // Undo in Japanese too: the added span goes, the rejection stays.
    await page.keyboard.press("Control+z");
    expect(await spans(page, JA.text)).not.toContain("発熱 Disease accepted human");
    await page.keyboard.press("Control+Shift+Z");
    // Retype and delete in Japanese too: 患者 added as a Chemical, retyped to Disease, deleted.
    await selectWithKeys(page, 0, "患者".length);
    await page.keyboard.press("1");
    expect(await spans(page, JA.text)).toContain("患者 Chemical accepted human");
    await page.keyboard.press("t");
    await page.getByTestId("retyping").waitFor();
    await page.keyboard.press("2");
    expect(await spans(page, JA.text)).toContain("患者 Disease accepted human");
    await page.keyboard.press("Delete");
    expect(await spans(page, JA.text)).toEqual([
      "胸痛 Disease accepted llm",
      "発熱 Chemical rejected llm",
      "発熱 Disease accepted human",
      "アスピリン Chemical accepted llm",
    ]);
    await page.keyboard.press("g");
    await expect.poll(() => page.getByTestId("review-split").textContent()).toBe("gold");
    await expect.poll(() => page.getByTestId("review-message").textContent()).toContain("never trained on and never shown to an LLM as a few-shot example");
    await screenshot(page, "review-2-japanese-gold");

    // --- the gold note stays out of training -------------------------------------------
    await toStep(page, "train", "train-panel");
    await expect.poll(() => page.getByTestId("excluded-notes").textContent(), { timeout: 60_000 }).toContain(`Gold notes (${DEMO_GOLD + 1})`);
    // LLM source: the 12 pool notes (the demo's 11 and the English one) have LLM spans; the
    // Japanese one, LLM-annotated while it was a pool note, is gone. With no dev notes, every
    // tenth training note (one here) is held out to score the epochs.
    await expect.poll(() => page.getByTestId("train-counts").textContent()).toContain(`of ${DEMO_POOL + 1} pool notes`);
    expect(await page.getByTestId("train-note-count").textContent()).toBe(String(DEMO_POOL));
    expect(await page.getByTestId("train-counts").textContent()).toContain("1 training note is held out");
    // Human source: only the English note has a review and is a pool note.
    await page.getByTestId("source-human").check();
    await expect.poll(() => page.getByTestId("train-note-count").textContent()).toBe("1");

    // --- agreement -----------------------------------------------------------------------
    await toStep(page, "review", "review-panel");
    await page.getByTestId("review-tab-agreement").click();
    const llm = page.getByTestId("llm-agreement");
    await llm.waitFor();
    // Reviews as gold, LLM as prediction, both notes:
    //   Chemical: tp aspirin, アスピリン; fp gastritis, 発熱; fn ibuprofen → P 50.0, R 66.7, F1 57.1
    //   Disease:  tp 胸痛; fp fever; fn gastritis, 発熱 → P 50.0, R 33.3, F1 40.0
    //   all: tp 3, fp 3, fn 3 → 50.0; no overlaps of one type, so lenient = strict.
    await expect.poll(() => cell(llm, "Chemical", "strict").textContent()).toBe("50.0 / 66.7 / 57.1");
    expect(await cell(llm, "Disease", "strict").textContent()).toBe("50.0 / 33.3 / 40.0");
    expect(await cell(llm, "all", "strict").textContent()).toBe("50.0 / 50.0 / 50.0");
    expect(await cell(llm, "all", "lenient").textContent()).toBe("50.0 / 50.0 / 50.0");
    expect(await page.getByTestId("no-human-pairs").count()).toBe(1);

    // A second reviewer accepts the LLM's spans on the English note as they are.
    await page.getByTestId("reviewer-name").fill("ben");
    await page.getByTestId("set-reviewer").click();
    await expect.poll(() => page.getByTestId("reviewer").textContent()).toBe("ben");
    await page.getByTestId("review-tab-notes").click();
    await openNote(page, EN.id);
    expect(await spans(page, EN.text)).toEqual(["aspirin Chemical pending llm", "gastritis Chemical pending llm", "fever Disease pending llm"]);
    await page.keyboard.press("Shift+A");
    await page.keyboard.press("s");
    await expect.poll(() => page.getByTestId("review-message").textContent()).toBe(`Saved your review of ${EN.id}.`);
    await page.getByTestId("review-tab-agreement").click();
    const humans = page.getByTestId("human-agreement");
    await humans.waitFor();
    // ana {aspirin C, ibuprofen C, gastritis D} vs ben {aspirin C, gastritis C, fever D}: tp 1, fp 2, fn 2 → F1 33.3.
    // Tokens: Patient took aspirin and ibuprofen , developed gastritis and fever . (11)
    // pairs (C,C) (C,O) (D,C) (O,D) and 7 × (O,O): po = 8/11; both {C 2, D 1, O 8}: pe = 69/121; kappa = 19/52 = 0.365.
    const pair = humans.locator('tr[data-a="ana"][data-b="ben"]');
    expect(await pair.getByTestId("strict-f1").textContent()).toBe("33.3");
    expect(await pair.getByTestId("lenient-f1").textContent()).toBe("33.3");
    expect(await pair.getByTestId("kappa").textContent()).toBe("0.365");
    const today = page.getByTestId("agreement-over-time").locator("tbody tr");
    expect(await today.count()).toBe(1);
    expect(await today.locator("td").nth(1).textContent()).toBe("2");
    expect(await today.locator("td").nth(4).textContent()).toBe("1");
    // The chart draws the same day: the LLM's strict F1 and the reviewers' 33.3.
    const chart = page.getByTestId("agreement-chart");
    expect(await chart.getAttribute("data-days")).toBe("1");
    const llmF1 = await today.locator("td").nth(2).textContent();
    expect(await chart.getByTestId("llm-point").locator("title").allTextContents()).toEqual([expect.stringContaining(`LLM strict F1 ${llmF1}`)]);
    expect(await chart.getByTestId("human-point").locator("title").allTextContents()).toEqual([expect.stringContaining("reviewers' strict F1 33.3")]);
    await screenshot(page, "review-3-agreement");
    expect(open.errors).toEqual([]);
  });
});
