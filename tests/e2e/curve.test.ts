// The learning curve in a real browser: the demo annotated with term lists, the curve
// trained from the Evaluate step with the Train step's settings (WebAssembly, one epoch),
// its source row equal to the demo model's gold scores computed in Node by the recipe, a
// point per size, and the points' runs kept out of the Train step's list. A reload in the
// middle leaves a curve that resumes from its last finished point.
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { openApp, screenshot, type OpenBrowser } from "./browser.ts";
import { annotateWithTerms, openTrain, setNumber, toStep, waitForDemo } from "./demo-steps.ts";

const DEMO_GOLD = (JSON.parse(readFileSync("public/demo/model/metrics.json", "utf8")) as { demoGold: { strict: { micro: { f1: number } }; lenient: { micro: { f1: number } } } }).demoGold;

let open: OpenBrowser | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

async function demoReadyToTrain(): Promise<Page> {
  open = await openApp();
  const { page } = open;
  await waitForDemo(page);
  await annotateWithTerms(page);
  await openTrain(page);
  await setNumber(page, "hp-epochs", 1);
  await setNumber(page, "hp-batch", 4);
  await toStep(page, "evaluate", "evaluate-panel");
  await expect.poll(() => page.getByTestId("curve-sizes").inputValue(), { timeout: 30_000 }).not.toBe("");
  return page;
}

const cells = (page: Page, testId: string) => page.getByTestId(testId).locator("tbody tr").evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll("td")].map((td) => td.textContent)));

describe("learning curve in a real browser", () => {
  it("trains a point per size and scores each beside the source model", async () => {
    const page = await demoReadyToTrain();
    // 11 pool notes, one held out for early stopping: 10 training notes.
    expect(await page.getByTestId("curve-sizes").inputValue()).toBe("5, all");
    await page.getByTestId("curve-sizes").fill("3, 5, all");
    await page.getByTestId("start-curve").click();
    await expect.poll(() => page.getByTestId("curve-point").count(), { timeout: 150_000 }).toBe(3);
    await expect.poll(() => page.getByTestId("start-curve").isEnabled()).toBe(true);
    await screenshot(page, "curve-1-done");

    const rows = await cells(page, "curve-table");
    expect(rows[0].slice(0, 3)).toEqual(["0 (source model)", (100 * DEMO_GOLD.strict.micro.f1).toFixed(1), (100 * DEMO_GOLD.lenient.micro.f1).toFixed(1)]);
    expect(rows.slice(1).map((row) => row[0])).toEqual(["3", "5", "10"]);
    for (const row of rows.slice(1)) expect(Number(row[1])).toBeLessThanOrEqual(Number(row[2]));
    // One epoch, batch 4: 1, 2 and 3 steps.
    expect(rows.slice(1).map((row) => row[5])).toEqual(["1", "2", "3"]);
    expect(await page.getByTestId("curve-chart").getAttribute("data-points")).toBe("3");

    await toStep(page, "train", "train-panel");
    expect(await page.getByTestId("train-runs").count()).toBe(0);
    expect(open!.errors).toEqual([]);
  });

  it("resumes a curve cut off by a reload from its last finished point", async () => {
    const page = await demoReadyToTrain();
    await toStep(page, "train", "train-panel");
    await setNumber(page, "hp-epochs", 40);
    await toStep(page, "evaluate", "evaluate-panel");
    await page.getByTestId("curve-sizes").fill("2, 4");
    await page.getByTestId("start-curve").click();
    await expect.poll(async () => (await page.getByTestId("curve-progress").textContent()) ?? "", { timeout: 120_000 }).toContain("point 2 of 2");
    await page.reload();
    await waitForDemo(page);
    await toStep(page, "evaluate", "evaluate-panel");
    await page.getByTestId("curve-interrupted").waitFor({ timeout: 30_000 });
    expect(await page.getByTestId("curve-point").count()).toBe(1);
    expect(await page.getByTestId("resume-curve").textContent()).toBe("Resume (1 of 2 points done)");
    await screenshot(page, "curve-2-interrupted");

    await page.getByTestId("resume-curve").click();
    await expect.poll(() => page.getByTestId("curve-point").count(), { timeout: 150_000 }).toBe(2);
    const rows = await cells(page, "curve-table");
    expect(rows.slice(1).map((row) => row[0])).toEqual(["2", "4"]);
    expect(open!.errors).toEqual([]);
  });
});
