// Every bad note file of the corpus, dropped into a project that already holds work,
// together with one good file: the good file imports, the bad one is reported by name
// (and line), and the notes and annotations stored before are unchanged.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseFiles } from "../../../src/core/corpus/detect.ts";
import { InputFileError, fromErrorData, toErrorData } from "../../../src/core/errors.ts";
import { countNotes } from "../../../src/core/store/notes.ts";
import { bytesSource, importFiles } from "../../../src/core/store/import-files.ts";
import { COLON_IN_NAME, IMPORT_CASES, UNREADABLE_FILE, type ExpectedError, type ImportCase } from "../../fixtures/bad/cases.ts";
import { GOOD_FILE, expectError, expectUnharmed, fixture, freshDatabase, projectWithWork } from "./helpers.ts";

const filesOf = (testCase: ImportCase) => testCase.files.map((name) => ({ name, bytes: fixture(`import/${name}`) }));
const isError = (expected: ImportCase["expect"]): expected is ExpectedError => "error" in expected;

describe("bad note files: the parser's typed error", () => {
  it.each(IMPORT_CASES.map((c) => [c.kind, c] as const))("%s", (_, testCase) => {
    const result = parseFiles(filesOf(testCase), testCase.options);
    const expected = testCase.expect;
    if (!isError(expected)) {
      expect(result.errors).toEqual([]);
      expect(result.notes).toHaveLength(expected.notes);
      expect(result.warnings.some((warning) => warning.includes(expected.warning))).toBe(true);
      return;
    }
    expect(result.notes).toEqual([]); // nothing half-read: a pair with a bad .ann gives no note either
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toBeInstanceOf(InputFileError);
    expectError(result.errors[0], expected);
  });

  it.each(IMPORT_CASES.filter((c) => isError(c.expect)).map((c) => [c.kind, c] as const))(
    "%s: the error crosses a worker boundary unchanged",
    (_, testCase) => {
      const [error] = parseFiles(filesOf(testCase), testCase.options).errors;
      const rebuilt = fromErrorData(toErrorData(error));
      expect(rebuilt).toBeInstanceOf(InputFileError);
      expect([rebuilt.message, (rebuilt as InputFileError).file, (rebuilt as InputFileError).line]).toEqual([error.message, error.file, error.line]);
    },
  );
});

describe("bad note files: importing into a project that holds work", () => {
  it.each(IMPORT_CASES.map((c) => [c.kind, c] as const))("%s", async (_, testCase) => {
    const db = freshDatabase();
    const { project, before } = await projectWithWork(db);
    const sources = [...filesOf(testCase).map((file) => bytesSource(file.name, file.bytes)), bytesSource(GOOD_FILE.name, GOOD_FILE.text)];

    const report = await importFiles(db, project.id, sources, testCase.options);

    const goodNotes = 1;
    const expected = testCase.expect;
    if (isError(expected)) {
      expect(report.errors).toBe(1);
      expect(report.errorList).toHaveLength(1);
      const [error] = report.errorList;
      expect(error).toMatchObject({ name: expected.error, file: expected.file });
      expect(error.line).toBe(expected.line);
      expect(error.message).toContain(expected.fragment);
      expect(report.notesAdded).toBe(goodNotes);
    } else {
      expect(report.errorList).toEqual([]);
      expect(report.warnings.some((warning) => warning.includes(expected.warning))).toBe(true);
      expect(report.notesAdded).toBe(goodNotes + expected.notes);
    }
    expect(report.perFile.find((file) => file.file === GOOD_FILE.name)).toEqual({ file: GOOD_FILE.name, notes: 1, encoding: "utf-8" });

    const after = await expectUnharmed(db, before);
    expect(await countNotes(db, project.id)).toBe(before.notes.length + report.notesAdded);
    expect(after.notes.map((note) => note.text)).toContain(GOOD_FILE.text);
    expect(after.annotations).toEqual(before.annotations);
    // The import record keeps the errors, for the import history screen.
    const record = await db.imports.get(report.importId);
    expect(record?.errors).toEqual(report.errorList);
    expect(record?.finishedAt).not.toBeNull();
  });

  it("all the bad files at once: every one is reported, the good one imports, nothing stored is harmed", async () => {
    const db = freshDatabase();
    const { project, before } = await projectWithWork(db);
    // Every case needs its own options only for the CSV whose column is chosen: merge them.
    const delimited = Object.assign({}, ...IMPORT_CASES.map((c) => c.options?.delimited ?? {}));
    const sources = [
      ...IMPORT_CASES.flatMap((c) => filesOf(c)).map((file) => bytesSource(file.name, file.bytes)),
      bytesSource(GOOD_FILE.name, GOOD_FILE.text),
    ];
    const report = await importFiles(db, project.id, sources, { delimited, batchFiles: 4 });

    const errorCases = IMPORT_CASES.filter((c) => isError(c.expect));
    expect(report.errors).toBe(errorCases.length);
    expect(report.errorList.map((error) => error.file).sort()).toEqual(errorCases.map((c) => (c.expect as ExpectedError).file).sort());
    const warned = IMPORT_CASES.filter((c) => !isError(c.expect));
    expect(report.notesAdded).toBe(1 + warned.reduce((sum, c) => sum + (c.expect as { notes: number }).notes, 0));
    await expectUnharmed(db, before);
  });
});

describe("the stray-byte check does not refuse real legacy files", () => {
  // Shift_JIS, EUC-JP and windows-1252 notes form valid UTF-8 sequences only by chance.
  const legacy = readdirSync(new URL("../../fixtures/corpus/", import.meta.url)).filter((name) => !name.includes("utf-16"));
  it.each(legacy)("%s still decodes in its own encoding", (name) => {
    const bytes = new Uint8Array(readFileSync(new URL(`../../fixtures/corpus/${name}`, import.meta.url)));
    const result = parseFiles([{ name, bytes }]);
    expect(result.errors).toEqual([]);
    expect(result.perFile[0].encoding).not.toBe("utf-8");
  });
});

describe("failures around the files themselves", () => {
  it(`${UNREADABLE_FILE.kind}: that file is reported by name and the others import`, async () => {
    const db = freshDatabase();
    const { project, before } = await projectWithWork(db);
    const gone = {
      name: UNREADABLE_FILE.expect.file,
      size: 120,
      read: () => Promise.reject(new DOMException("The requested file could not be read, typically due to permission problems that have occurred after a reference to a file was acquired.", "NotReadableError")),
    };
    try {
      const report = await importFiles(db, project.id, [gone, bytesSource(GOOD_FILE.name, GOOD_FILE.text)]);
      expect(report.notesAdded).toBe(1);
      expect(report.errorList).toHaveLength(1);
      expect(report.errorList[0]).toMatchObject({ name: "InputFileError", file: UNREADABLE_FILE.expect.file });
      expect(report.errorList[0].message).toContain(UNREADABLE_FILE.expect.fragment);
    } finally {
      await expectUnharmed(db, before);
    }
  });

  it(`${COLON_IN_NAME.kind}: the message crosses the worker boundary unchanged`, () => {
    const [error] = parseFiles([{ name: COLON_IN_NAME.name, bytes: new Uint8Array(0) }]).errors;
    expectError(error, COLON_IN_NAME.expect);
    const rebuilt = fromErrorData(toErrorData(error));
    expect(rebuilt.message).toBe(error.message);
  });
});
