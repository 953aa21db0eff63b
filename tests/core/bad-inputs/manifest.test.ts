// The corpus and its manifest agree: every file is used by a case, every case's file
// exists, the README lists every case, and there are at least 30 kinds.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as cases from "../../fixtures/bad/cases.ts";

const root = new URL("../../fixtures/bad/", import.meta.url);
const filesIn = (folder: string) => readdirSync(new URL(`${folder}/`, root)).map((name) => `${folder}/${name}`);

describe("the bad-input manifest", () => {
  const used = [
    ...cases.IMPORT_CASES.flatMap((c) => c.files.map((file) => `import/${file}`)),
    ...cases.MODEL_CASES.map((c) => `model/${c.file}`),
    ...cases.PROJECT_CASES.map((c) => `project/${c.file}`),
    ...cases.LLM_CASES.filter((c) => !c.answer.startsWith("generated")).map((c) => `llm/${c.answer}`),
  ];
  const kinds = [
    ...cases.IMPORT_CASES,
    cases.HUGE_NOTE,
    cases.TOO_LARGE_FILE,
    cases.UNREADABLE_FILE,
    cases.COLON_IN_NAME,
    ...cases.MODEL_CASES,
    ...cases.PROJECT_CASES,
    ...cases.LLM_CASES,
  ].map((c) => c.kind);

  it("uses every file of the corpus, and every file it names exists", () => {
    const onDisk = ["import", "model", "project", "llm"].flatMap(filesIn);
    expect([...new Set(used)].sort()).toEqual(onDisk.sort());
  });

  it("has at least 30 kinds, each named once", () => {
    expect(kinds.length).toBeGreaterThanOrEqual(30);
    expect(new Set(kinds).size).toBe(kinds.length);
  });

  it("is listed in full in the README", () => {
    const readme = readFileSync(new URL("README.md", root), "utf8").replace(/\\\|/g, "|");
    for (const kind of kinds) expect(readme, kind).toContain(kind);
  });
});
