// Bad LLM answers and an engine that never answers, in a run over two stored notes: the
// note with the bad answer is marked failed (with a typed error the run record keeps) or
// saved with its problems and unplaced mentions; the other note is annotated; nothing
// stored before is harmed; nothing crashes.
import { describe, expect, it } from "vitest";
import { annotateNote, type LlmOptions, type NoteAnnotation } from "../../../src/core/annotate/annotator.ts";
import { fakeEngine, type FakeAnswer } from "../../../src/core/annotate/chat.ts";
import { runAnnotation } from "../../../src/core/annotate/run.ts";
import type { ErrorData } from "../../../src/core/errors.ts";
import { schemaWithTypes } from "../../../src/core/schema/types.ts";
import { annotationsForNote, putAnnotation } from "../../../src/core/store/annotations.ts";
import type { AppDatabase } from "../../../src/core/store/db.ts";
import { bytesSource, importFiles } from "../../../src/core/store/import-files.ts";
import { LLM_CASES, LLM_NOTE, type LlmCase } from "../../fixtures/bad/cases.ts";
import { expectUnharmed, fixture, freshDatabase, projectWithWork } from "./helpers.ts";

const schema = schemaWithTypes(["DISO", "CHEM"]);
const OTHER_NOTE = "Dolor abdominal; se pauta omeprazol.";
const GOOD_ANSWER = JSON.stringify({ DISO: ["Dolor abdominal"], CHEM: ["omeprazol"] });
const NEVER = new Promise<never>(() => {});

/** The bad answer a case gives for LLM_NOTE, and the options its run uses. */
function badAnswer(testCase: LlmCase): { answer: () => FakeAnswer | Promise<FakeAnswer>; options: LlmOptions } {
  if (testCase.answer.startsWith("generated: 10,000")) {
    const mentions = Array.from({ length: 10_000 }, (_, i) => ["Fiebre", "tos seca", `síntoma inventado ${i}`][i % 3]);
    return { answer: () => JSON.stringify({ DISO: mentions }), options: {} };
  }
  if (testCase.answer.startsWith("generated: a promise")) return { answer: () => NEVER, options: { timeoutMs: 50 } };
  const content = new TextDecoder().decode(fixture(`llm/${testCase.answer}`));
  const finish_reason = testCase.outcome && "saved" in testCase.outcome && testCase.outcome.saved === "truncated" ? "length" : "stop";
  return { answer: () => ({ content, finish_reason }), options: {} };
}

async function storedNotes(db: AppDatabase, projectId: string): Promise<{ bad: number; other: number }> {
  const report = await importFiles(db, projectId, [bytesSource("llm/n1.txt", LLM_NOTE.text), bytesSource("llm/n2.txt", OTHER_NOTE)]);
  expect(report.notesAdded).toBe(2);
  const rows = await db.notes.where({ projectId }).toArray();
  const id = (text: string) => rows.find((row) => row.text === text)!.id;
  return { bad: id(LLM_NOTE.text), other: id(OTHER_NOTE) };
}

describe("bad LLM answers in an annotation run", () => {
  it.each(LLM_CASES.map((c) => [c.kind, c] as const))("%s", async (_, testCase) => {
    const db = freshDatabase();
    const { project, before } = await projectWithWork(db);
    const ids = await storedNotes(db, project.id);
    const beforeRun = await db.annotations.count();

    const { answer, options } = badAnswer(testCase);
    // The bad answer for LLM_NOTE, also on the repair turn; a good one for the other note.
    const engine = fakeEngine((request) => (request.messages.some((m) => m.content.includes(LLM_NOTE.text)) ? answer() : GOOD_ANSWER));
    const failures = new Map<string, ErrorData>();
    const results = new Map<string, NoteAnnotation>();
    const started = performance.now();
    const summary = await runAnnotation<NoteAnnotation>({
      notes: [
        { id: String(ids.bad), text: LLM_NOTE.text },
        { id: String(ids.other), text: OTHER_NOTE },
      ],
      annotate: (note, signal) => annotateNote(note, { schema, format: "grouped-json", signal, backend: { kind: "llm", engine, options } }),
      isDone: () => false,
      save: async (id, result) => {
        results.set(id, result);
        const unplaced = [...result.unplaced.map((item) => item.mention), ...result.rejected].map((m) => `${m.type}: ${m.text}`);
        await putAnnotation(db, {
          noteId: Number(id),
          origin: "llm",
          runId: "run-1",
          spans: result.spans.map(({ start, end, type, confidence }) => ({ start, end, type, confidence })),
          meta: { raw: result.raw.map((r) => r.content).join("\n"), ...(unplaced.length ? { unplaced } : {}) },
        });
      },
      saveFailure: (id, error) => void failures.set(id, error),
    });
    expect(performance.now() - started).toBeLessThan(10_000);

    // The other note is annotated whatever happened to the bad one.
    const [other] = await annotationsForNote(db, ids.other);
    expect(other.spans.map((s) => OTHER_NOTE.slice(s.start, s.end))).toEqual(["Dolor abdominal", "omeprazol"]);

    const outcome = testCase.outcome;
    if ("failed" in outcome) {
      expect(summary).toMatchObject({ done: 1, failed: 1, cancelled: false });
      const failure = failures.get(String(ids.bad));
      expect(failure?.name).toBe(outcome.failed);
      expect(failure?.message).toContain(outcome.fragment);
      expect(await annotationsForNote(db, ids.bad)).toEqual([]); // failed, not saved as "nothing found"
    } else {
      expect(summary).toMatchObject({ done: 2, failed: 0, cancelled: false });
      const result = results.get(String(ids.bad))!;
      expect(result.problems.map((p) => p.message).join("\n")).toContain(outcome.fragment);
      const [saved] = await annotationsForNote(db, ids.bad);
      expect(saved.meta?.raw).toBeTruthy(); // the answer is kept, so the user can see what the model said
      const placed = saved.spans.map((s) => [LLM_NOTE.text.slice(s.start, s.end), s.type]);
      switch (outcome.saved) {
        case "unplaced":
          expect(placed).toEqual([["Fiebre", "DISO"]]);
          expect(saved.meta?.unplaced).toEqual(["DISO: infarto agudo de miocardio", "CHEM: amoxicilina"]);
          break;
        case "rejected":
          expect(placed).toEqual([["Fiebre", "DISO"]]);
          expect(saved.meta?.unplaced).toEqual(["SYMPTOM: tos seca", "DRUG: paracetamol"]);
          break;
        case "truncated":
          expect(placed).toEqual([["Fiebre", "DISO"], ["tos seca", "DISO"]]);
          break;
        case "too-many":
          expect(placed).toEqual([["Fiebre", "DISO"], ["tos seca", "DISO"]]);
          expect(saved.meta?.unplaced?.length).toBeGreaterThan(0);
          expect(saved.meta?.unplaced?.length).toBeLessThanOrEqual(1000);
          break;
      }
    }
    expect(await db.annotations.count()).toBe(beforeRun + (("failed" in outcome) ? 1 : 2));
    await expectUnharmed(db, before);
  });

  it("a user's cancel during a hung engine is a cancel, not a failure: the note is left for the next run", async () => {
    const engine = fakeEngine(() => NEVER);
    const controller = new AbortController();
    const failures: string[] = [];
    setTimeout(() => controller.abort(), 30);
    const summary = await runAnnotation({
      notes: [LLM_NOTE],
      annotate: (note, signal) => annotateNote(note, { schema, signal, backend: { kind: "llm", engine, options: { timeoutMs: 60_000 } } }),
      isDone: () => false,
      save: () => undefined,
      saveFailure: (id) => void failures.push(id),
      signal: controller.signal,
    });
    expect(summary).toMatchObject({ done: 0, failed: 0, cancelled: true });
    expect(failures).toEqual([]);
  });
});
