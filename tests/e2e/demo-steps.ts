// The demo project's steps as the workflow tests drive them: its notes and a lexicon the
// stand-in annotators use, moving between steps, annotating (a local OpenAI-compatible
// server with consent, or term lists), and the Train step's form.
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { expect } from "vitest";
import { startFakeLlmServer, type FakeLlmServer } from "./fixtures/openai-server.ts";

export const TYPES = ["Chemical", "Disease"];

interface DemoNote {
  id: string;
  text: string;
  entities?: { text: string; type: string }[];
}
const read = (file: string) =>
  readFileSync(`public/demo/${file}`, "utf8").trim().split("\n").map((line) => JSON.parse(line) as DemoNote);
export const POOL = read("notes-pool.jsonl");
export const GOLD = read("notes-gold.jsonl");

/** The gold notes' mentions and a few of the pool's: what the stand-in annotators find. */
export const LEXICON: Record<string, string> = {
  ...Object.fromEntries(GOLD.flatMap((note) => note.entities ?? []).map((entity) => [entity.text, entity.type])),
  myalgia: "Disease",
  atorvastatin: "Chemical",
  sertraline: "Chemical",
  depression: "Disease",
  insomnia: "Disease",
  morphine: "Chemical",
  stomatitis: "Disease",
};

export async function waitForDemo(page: Page) {
  await expect.poll(() => page.getByTestId("project-name").textContent(), { timeout: 30_000 }).toContain("Demo");
}

export async function toStep(page: Page, step: string, panel: string) {
  await page.getByTestId(`step-${step}`).click();
  await page.getByTestId(panel).waitFor();
}

/**
 * Annotates the pool through a local OpenAI-compatible server that answers from `lexicon`,
 * allowed and consented to, and waits for `poolNotes` notes; the caller closes the server.
 */
export async function annotateWithServer(page: Page, lexicon = LEXICON, poolNotes = POOL.length): Promise<FakeLlmServer> {
  const server = await startFakeLlmServer(lexicon, TYPES);
  // Allow the on-premise server in the privacy settings (what the Privacy panel saves), then reload so the page's policy admits it.
  await page.evaluate((url) => localStorage.setItem("privacy:settings", JSON.stringify({ offline: false, endpoint: url })), server.baseUrl);
  await page.reload();
  await waitForDemo(page);
  await toStep(page, "annotate", "annotate-panel");
  await page.getByTestId("backend-endpoint").check();
  await page.getByTestId("endpoint-enabled").check();
  await page.getByTestId("endpoint-url").fill(server.baseUrl);
  await page.getByTestId("endpoint-model").fill("lexicon-7b");
  await page.getByTestId("consent-checkbox").check();
  await page.getByTestId("start-run").click();
  await expect.poll(() => page.getByTestId("notes-done").textContent(), { timeout: 60_000 }).toBe(String(poolNotes));
  return server;
}

export async function annotateWithTerms(page: Page) {
  await toStep(page, "annotate", "annotate-panel");
  await page.getByTestId("backend-terms").check();
  await page.getByTestId("terms-Chemical").fill(Object.entries(LEXICON).filter(([, t]) => t === "Chemical").map(([w]) => w).join("\n"));
  await page.getByTestId("terms-Disease").fill(Object.entries(LEXICON).filter(([, t]) => t === "Disease").map(([w]) => w).join("\n"));
  await page.getByTestId("start-run").click();
  await expect.poll(() => page.getByTestId("notes-done").textContent(), { timeout: 60_000 }).toBe(String(POOL.length));
}

export async function openTrain(page: Page) {
  await toStep(page, "train", "train-panel");
  await expect.poll(() => page.getByTestId("base-model").locator("option").count(), { timeout: 60_000 }).toBeGreaterThan(0);
  await expect.poll(() => page.getByTestId("train-note-count").textContent()).not.toBe("0");
}

export async function setNumber(page: Page, testId: string, value: number) {
  await page.getByTestId(testId).fill(String(value));
}
