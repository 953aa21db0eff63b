// A person's first minutes with the app: the demo project is there, files of several
// formats are dropped at once (one of them bad), the counts and messages are right, and
// after a reload everything is still there.
import { execFileSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { dropFiles, openApp, screenshot, type OpenBrowser } from "./browser.ts";

const JAPANESE = "患者は72歳男性。主訴は胸痛。高血圧の既往あり。\r\n心電図でST上昇を認めた。";
const shiftJis = [...execFileSync("iconv", ["-f", "utf-8", "-t", "shift_jis"], { input: JAPANESE })];

let open: OpenBrowser | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

async function waitForReport(browser: OpenBrowser) {
  await browser.page.getByTestId("import-report").waitFor({ timeout: 60_000 });
}

describe("notes in, in a real browser", () => {
  it("opens with the demo project and its notes", async () => {
    open = await openApp();
    const { page } = open;
    await expect.poll(() => page.getByTestId("project-name").textContent()).toContain("Demo");
    await expect.poll(() => page.getByTestId("note-count").textContent()).toBe("16 notes");
    await page.getByTestId("note-list").getByText("ed-001").click();
    const marks = page.getByTestId("note-text").locator("mark");
    await expect.poll(() => marks.count()).toBe(6);
    expect(await marks.first().getAttribute("data-type")).toBe("Disease");
    await screenshot(page, "notes-demo");
    expect(open.errors).toEqual([]);
  });

  it("imports a drop of mixed formats, reports the bad file, and keeps it all after a reload", async () => {
    open = await openApp();
    const { page } = open;
    await expect.poll(() => page.getByTestId("note-count").textContent()).toBe("16 notes");
    await page.getByRole("textbox", { name: "New project name" }).fill("Ward 7");
    await page.getByRole("button", { name: "Create" }).click();
    await expect.poll(() => page.getByTestId("project-name").textContent()).toBe("Ward 7");

    await dropFiles(page, "[data-testid=dropzone]", [
      { name: "admission.txt", content: "Pt admitted with pneumonia. Started ceftriaxone." },
      { name: "sjis-note.txt", content: shiftJis },
      {
        name: "export.csv",
        content: 'note_id,author,note_text\n1,dr a,"Fever, cough.\nCXR: RLL infiltrate."\n2,dr b,Chest pain at rest.\n',
      },
      {
        name: "gold.jsonl",
        content:
          JSON.stringify({ id: "g1", text: "Aspirin for MI.", entities: [{ start: 0, end: 7, type: "Chemical" }] }) +
          "\n" +
          JSON.stringify({ id: "g2", text: "Pt admitted with pneumonia. Started ceftriaxone." }) +
          "\n",
      },
      { name: "case.txt", content: "Warfarin caused bleeding." },
      { name: "case.ann", content: "T1\tChemical 0 8\tWarfarin\nT2\tDisease 16 24\tbleeding\n" },
      { name: "tagged.conll", content: "Metformin\tB-Chemical\nstarted\tO\n.\tO\n" },
      { name: "scan.txt", content: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52] },
    ]);

    // The CSV asks which columns hold the note; the suggestions are right.
    await page.getByTestId("columns").waitFor();
    await page.getByTestId("confirm-columns").click();
    await waitForReport(open);
    await screenshot(page, "import-report");

    // txt 2 + csv 2 + jsonl 2 (one a duplicate of admission.txt) + brat 1 + conll 1 = 7 new.
    expect(await page.getByTestId("notes-added").textContent()).toBe("7");
    expect(await page.getByTestId("duplicates").textContent()).toBe("1");
    expect(await page.getByTestId("error-count").textContent()).toBe("1");
    expect(await page.getByTestId("import-errors").textContent()).toContain("scan.txt");
    expect(await page.getByTestId("import-errors").textContent()).toMatch(/binary/i);

    await page.reload();
    await page.getByRole("button", { name: "Ward 7", exact: true }).click();
    await expect.poll(() => page.getByTestId("note-count").textContent()).toBe("7 notes");

    // The Shift_JIS note reads as Japanese, with its CRLF kept.
    await page.getByTestId("note-list").getByText("sjis-note").click();
    expect(await page.getByTestId("note-text").textContent()).toContain("患者は72歳男性。主訴は胸痛。");
    // The brat note keeps its spans.
    await page.getByTestId("note-list").getByText("case", { exact: true }).click();
    const marks = page.getByTestId("note-text").locator("mark");
    await expect.poll(() => marks.allTextContents()).toEqual(["WarfarinChemical", "bleedingDisease"]);
    expect(open.errors).toEqual([]);
  });
});
