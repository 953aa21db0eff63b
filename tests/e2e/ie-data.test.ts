// Beyond entity spans, as a person meets it: a schema with an attribute, a relation type
// and a document label made in the schema editor; notes with attributes, relations and
// labels dropped in (JSONL and brat); the note view shows them; JSONL export keeps them
// and brat export says what it left out.
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { dropFiles, openApp, screenshot, type OpenBrowser } from "./browser.ts";

let open: OpenBrowser | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

const RECORD = {
  id: "r1",
  text: "Aspirin for headache; no fever.",
  entities: [
    { start: 0, end: 7, type: "Drug" },
    { start: 12, end: 20, type: "Symptom", attributes: { certainty: "positive" } },
    { start: 25, end: 30, type: "Symptom", attributes: { certainty: "negative" } },
  ],
  relations: [{ type: "Treats", from: 0, to: 1 }],
  labels: { urgency: "high" },
};

/** Types a comma-separated list into an input that reads it on change (on leaving the field). */
async function fillList(page: Page, label: string, text: string) {
  const input = page.getByRole("textbox", { name: label });
  await input.fill(text);
  await input.press("Tab");
}

async function makeSchema(page: Page) {
  await page.getByTestId("step-schema").click();
  for (const name of ["Drug", "Symptom"]) {
    await page.getByRole("button", { name: "Add entity type" }).click();
    await page.getByRole("textbox", { name: "Type name" }).last().fill(name);
  }
  await page.getByTestId("entity-type").nth(1).getByRole("button", { name: "Add attribute" }).click();
  await page.getByRole("textbox", { name: "Attribute name" }).fill("certainty");
  await fillList(page, "Attribute values", "positive, negative, suspected");
  await page.getByRole("combobox", { name: "Default value" }).selectOption("positive");

  await page.getByRole("button", { name: "Add relation type" }).click();
  await page.getByRole("textbox", { name: "Relation name" }).fill("Treats");
  // Until it has its entity types, the schema lists the problem and refuses to save.
  await expect.poll(() => page.getByTestId("schema-problems").textContent()).toContain('relation type "Treats": has no entity type to go from');
  await page.getByTestId("save-schema").click();
  await expect.poll(() => page.getByRole("alert").textContent()).toContain("The schema is not saved");
  await page.getByRole("button", { name: "Dismiss" }).click();
  const [from, to] = [page.getByTestId("relation-type").locator("fieldset").nth(0), page.getByTestId("relation-type").locator("fieldset").nth(1)];
  await from.getByLabel("Drug").check();
  await to.getByLabel("Symptom").check();

  await page.getByRole("button", { name: "Add document label" }).click();
  await page.getByRole("textbox", { name: "Label name" }).fill("urgency");
  await fillList(page, "Label values", "low, high");
  await expect.poll(() => page.getByTestId("schema-problems").count()).toBe(0);
  await page.getByTestId("save-schema").click();
  await page.getByText("Saved.").waitFor();
}

describe("attributes, relations and document labels", () => {
  it("are set in the schema, imported, shown on the note, and exported", async () => {
    open = await openApp();
    const { page } = open;
    await expect.poll(() => page.getByTestId("note-count").textContent()).toBe("16 notes");
    await page.getByRole("textbox", { name: "New project name" }).fill("Pain clinic");
    await page.getByRole("button", { name: "Create" }).click();
    await expect.poll(() => page.getByTestId("project-name").textContent()).toBe("Pain clinic");
    await makeSchema(page);
    await screenshot(page, "schema-attributes-relations-labels");

    // After a reload the schema is still there.
    await page.reload();
    await page.getByRole("button", { name: "Pain clinic", exact: true }).click();
    await page.getByTestId("step-schema").click();
    await expect.poll(() => page.getByRole("textbox", { name: "Attribute values" }).inputValue()).toBe("positive, negative, suspected");
    expect(await page.getByRole("textbox", { name: "Relation name" }).inputValue()).toBe("Treats");
    expect(await page.getByTestId("relation-type").locator("fieldset").nth(0).getByLabel("Drug").isChecked()).toBe(true);
    expect(await page.getByRole("textbox", { name: "Label values" }).inputValue()).toBe("low, high");

    await page.getByTestId("step-notes").click();
    await dropFiles(page, "[data-testid=dropzone]", [
      { name: "rich.jsonl", content: JSON.stringify(RECORD) + "\n" },
      { name: "case.txt", content: "Ibuprofen eased the back pain." },
      { name: "case.ann", content: "T1\tDrug 0 9\tIbuprofen\nT2\tSymptom 20 29\tback pain\nA1\tcertainty T2 suspected\nR1\tTreats Arg1:T1 Arg2:T2\n" },
    ]);
    await page.getByTestId("import-report").waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("notes-added").textContent()).toBe("2");

    await page.getByTestId("note-list").getByText("r1").click();
    const marks = page.getByTestId("note-text").locator("mark");
    await expect.poll(() => marks.allTextContents()).toEqual(["AspirinDrug", "headacheSymptompositive", "feverSymptomnegative"]);
    expect(await page.getByTestId("note-relations").textContent()).toBe("Aspirin → Treats → headache");
    expect(await page.getByTestId("note-labels").textContent()).toBe("urgency: high");
    await screenshot(page, "note-attributes-relations-labels");
    await page.getByTestId("note-list").getByText("case", { exact: true }).click();
    await expect.poll(() => marks.allTextContents()).toEqual(["IbuprofenDrug", "back painSymptomsuspected"]);
    expect(await page.getByTestId("note-relations").textContent()).toBe("Ibuprofen → Treats → back pain");

    await page.getByTestId("step-export").click();
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-annotations").click()]);
    const rows = readFileSync(await download.path(), "utf8").trim().split("\n").map((line) => JSON.parse(line));
    const rich = rows.find((row) => row.id === "r1");
    expect(rich.entities.map((e: { attributes?: unknown }) => e.attributes)).toEqual([undefined, { certainty: "positive" }, { certainty: "negative" }]);
    expect([rich.relations, rich.labels]).toEqual([RECORD.relations, RECORD.labels]);
    expect(rows.find((row) => row.id === "case").relations).toEqual([{ type: "Treats", from: 0, to: 1 }]);

    await page.getByTestId("export-format").selectOption("brat");
    await Promise.all([page.waitForEvent("download"), page.getByTestId("export-annotations").click()]);
    expect(await page.getByTestId("export-warnings").textContent()).toContain("brat has no place for document labels: those of 1 note were left out");
    expect(open.errors).toEqual([]);
  });
});
