// Backup and moving between machines: a project downloaded as one file and imported back
// is the same project; annotations download in the formats other tools read.
import { readFileSync } from "node:fs";
import { gunzipSync } from "fflate";
import { afterEach, describe, expect, it } from "vitest";
import { openApp, type OpenBrowser } from "./browser.ts";

let open: OpenBrowser | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

describe("project files and annotation downloads", () => {
  it("downloads the demo project and imports it back identical", async () => {
    open = await openApp();
    const { page } = open;
    await expect.poll(() => page.getByTestId("note-count").textContent()).toBe("16 notes");
    await page.getByTestId("step-export").click();
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-project").click()]);
    const path = await download.path();
    const lines = new TextDecoder().decode(gunzipSync(readFileSync(path))).trim().split("\n").map((line) => JSON.parse(line));
    expect(lines[0]).toMatchObject({ format: "clinical-adapt-project", notes: 16 });

    await page.getByTestId("project-file-input").setInputFiles({
      name: download.suggestedFilename(),
      mimeType: "application/gzip",
      buffer: readFileSync(path),
    });
    await expect.poll(() => page.getByTestId("projects").locator("li").count()).toBe(2);
    await page.getByTestId("step-notes").click();
    await expect.poll(() => page.getByTestId("note-count").textContent()).toBe("16 notes");

    // The copy's gold note shows the same spans as the original's.
    const spansOf = async () => {
      await page.getByTestId("note-list").getByText("ward-004").click();
      return page.getByTestId("note-text").locator("mark").allTextContents();
    };
    const copy = await spansOf();
    await page.getByTestId("projects").getByRole("button", { name: /^Demo/ }).last().click();
    await expect.poll(spansOf).toEqual(copy);
    expect(copy).toEqual(["vancomycinChemical", "pneumoniaDisease", "acute kidney injuryDisease", "vancomycinChemical", "linezolidChemical"]);
    expect(open.errors).toEqual([]);
  });

  it("downloads the gold annotations as JSONL in the shared corpora's format", async () => {
    open = await openApp();
    const { page } = open;
    await expect.poll(() => page.getByTestId("note-count").textContent()).toBe("16 notes");
    await page.getByTestId("step-export").click();
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-annotations").click()]);
    const rows = readFileSync(await download.path(), "utf8").trim().split("\n").map((line) => JSON.parse(line));
    const shipped = readFileSync("public/demo/notes-gold.jsonl", "utf8").trim().split("\n").map((line) => JSON.parse(line));
    expect(rows.map((row) => row.id).sort()).toEqual(shipped.map((row) => row.id).sort());
    for (const row of rows) {
      const original = shipped.find((note) => note.id === row.id);
      expect(row.text).toBe(original.text);
      expect(row.entities).toEqual(original.entities);
    }
  });
});
