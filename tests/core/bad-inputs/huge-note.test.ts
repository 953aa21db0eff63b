// A 200 MB "note" (a whole export concatenated into one .txt), made in memory: it imports
// next to a good file, nothing stored before is harmed, and memory stays within a bound
// (the file's bytes, its decoded text and the stored copy, not a multiple of them).
import { describe, expect, it } from "vitest";
import { parseFiles } from "../../../src/core/corpus/detect.ts";
import { contentHash } from "../../../src/core/corpus/hash.ts";
import { InputFileError } from "../../../src/core/errors.ts";
import { bytesSource, importFiles } from "../../../src/core/store/import-files.ts";
import { HUGE_NOTE, TOO_LARGE_FILE } from "../../fixtures/bad/cases.ts";
import { GOOD_FILE, expectError, expectUnharmed, freshDatabase, projectWithWork } from "./helpers.ts";

const SENTENCE = "Paciente de 72 años con fiebre y tos productiva de cinco días de evolución.\n";

function hugeNote(size: number): Uint8Array {
  const line = new TextEncoder().encode(SENTENCE);
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += line.length) bytes.set(line.subarray(0, Math.min(line.length, size - at)), at);
  return bytes;
}

describe(HUGE_NOTE.kind, () => {
  it("imports as one note beside a good file, harms nothing stored, and keeps memory bounded", async () => {
    const db = freshDatabase();
    const { project, before } = await projectWithWork(db);
    const bytes = hugeNote(HUGE_NOTE.bytes);

    const start = process.memoryUsage().rss;
    let peak = start;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const started = performance.now();
    let report;
    try {
      report = await importFiles(db, project.id, [bytesSource("export-completo.txt", bytes), bytesSource(GOOD_FILE.name, GOOD_FILE.text)]);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);

    expect(report.errorList).toEqual([]);
    expect(report.notesAdded).toBe(2);
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(peak - start, `resident memory grew by ${Math.round((peak - start) / 2 ** 20)} MB`).toBeLessThan(HUGE_NOTE.maxMemoryGrowth);

    // Stored whole and exactly: every offset into it depends on that.
    const huge = (await db.notes.where({ projectId: project.id }).toArray()).find((note) => note.externalId === "export-completo");
    expect(huge?.text.length).toBe(new TextDecoder().decode(bytes).length);
    expect(huge?.hash).toBe(contentHash(huge!.text));
    expect(huge?.text.slice(0, SENTENCE.length)).toBe(SENTENCE);
    await expectUnharmed(db, before);
  });
});

describe(TOO_LARGE_FILE.kind, () => {
  it("is refused by name, before any decoding, and the good file beside it imports", async () => {
    const db = freshDatabase();
    const { project, before } = await projectWithWork(db);
    // Rows of a CSV, repeated: a real export's shape, 600 MB.
    const row = new TextEncoder().encode('N1,"Paciente de 72 años con fiebre y tos productiva."\n');
    const bytes = new Uint8Array(TOO_LARGE_FILE.bytes);
    for (let at = 0; at < bytes.length; at += row.length) bytes.set(row.subarray(0, Math.min(row.length, bytes.length - at)), at);

    const [error] = parseFiles([{ name: TOO_LARGE_FILE.expect.file, bytes }]).errors;
    expect(error).toBeInstanceOf(InputFileError);
    expectError(error, TOO_LARGE_FILE.expect);

    const report = await importFiles(db, project.id, [bytesSource(TOO_LARGE_FILE.expect.file, bytes), bytesSource(GOOD_FILE.name, GOOD_FILE.text)]);
    expect(report.notesAdded).toBe(1);
    expect(report.errorList).toMatchObject([{ name: "InputFileError", file: TOO_LARGE_FILE.expect.file }]);
    await expectUnharmed(db, before);
  });
});
