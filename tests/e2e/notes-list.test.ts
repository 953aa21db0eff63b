// The notes list stays a screenful of rows however many notes a project holds, and finds
// notes by search.
import { afterEach, describe, expect, it } from "vitest";
import { openApp, screenshot, type OpenBrowser } from "./browser.ts";

let open: OpenBrowser | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

const NOTES = 20_000;

describe("the notes list", () => {
  it(`renders a window of ${NOTES.toLocaleString("en")} notes and scrolls to the last`, async () => {
    open = await openApp();
    const { page } = open;
    await expect.poll(() => page.getByTestId("note-count").textContent()).toBe("16 notes");
    const jsonl = Array.from({ length: NOTES }, (_, i) => JSON.stringify({ id: `n${i}`, text: `Note ${i}: follow-up visit ${i * 7}.` })).join("\n");
    await page.getByTestId("file-input").setInputFiles({ name: "many.jsonl", mimeType: "application/jsonl", buffer: Buffer.from(jsonl) });
    await page.getByTestId("import-report").waitFor({ timeout: 120_000 });
    await expect.poll(() => page.getByTestId("note-count").textContent()).toBe(`${(NOTES + 16).toLocaleString("en")} notes`);

    const rows = page.getByTestId("note-list").locator("button");
    expect(await rows.count()).toBeLessThan(60);
    await page.getByTestId("note-list").evaluate((element) => (element.scrollTop = element.scrollHeight));
    await expect.poll(() => page.getByTestId("note-list").getByText(`n${NOTES - 1}`, { exact: true }).count()).toBe(1);
    expect(await rows.count()).toBeLessThan(60);

    await page.getByTestId("search").fill("visit 69993");
    await expect.poll(() => page.getByTestId("note-count").textContent()).toBe("1 note");
    await page.getByTestId("note-list").getByText("n9999", { exact: true }).click();
    expect(await page.getByTestId("note-text").textContent()).toBe("Note 9999: follow-up visit 69993.");
    await screenshot(page, "notes-search");
    expect(open.errors).toEqual([]);
  });
});
