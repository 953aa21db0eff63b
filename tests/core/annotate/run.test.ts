import { describe, expect, it } from "vitest";
import { annotateNote, type NoteAnnotation, type NoteInput } from "../../../src/core/annotate/annotator.ts";
import { fakeEngine } from "../../../src/core/annotate/chat.ts";
import { PauseControl, retryFailed, runAnnotation, type RunOptions, type RunProgress } from "../../../src/core/annotate/run.ts";
import type { ErrorData } from "../../../src/core/errors.ts";
import { schemaWithTypes } from "../../../src/core/schema/types.ts";

const schema = schemaWithTypes(["DISO"]);
const notes: NoteInput[] = Array.from({ length: 10 }, (_, i) => ({ id: `n${i}`, text: `Nota ${i}: fiebre.` }));

/** A store like IndexedDB's: results and failures by note id, counting writes. */
function store() {
  const results = new Map<string, NoteAnnotation>();
  const failures = new Map<string, ErrorData>();
  let writes = 0;
  return {
    results,
    failures,
    get writes() {
      return writes;
    },
    isDone: (id: string) => results.has(id),
    save: (id: string, result: NoteAnnotation) => {
      writes++;
      if (results.has(id)) throw new Error(`note ${id} saved twice`);
      results.set(id, result);
      failures.delete(id);
    },
    saveFailure: (id: string, error: ErrorData) => void failures.set(id, error),
  };
}

function options(db: ReturnType<typeof store>, engine = fakeEngine(() => "DISO: fiebre"), extra: Partial<RunOptions<NoteAnnotation>> = {}): RunOptions<NoteAnnotation> {
  return {
    notes,
    annotate: (note, signal) => annotateNote(note, { schema, signal, backend: { kind: "llm", engine } }),
    isDone: db.isDone,
    save: db.save,
    saveFailure: db.saveFailure,
    tokensOf: (result) => result.usage.completionTokens,
    ...extra,
  };
}

async function* slowly(list: NoteInput[]): AsyncIterable<NoteInput> {
  for (const note of list) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    yield note;
  }
}

describe("runAnnotation", () => {
  it("resumes after a 'reload' without doing any note twice", async () => {
    const db = store();
    const controller = new AbortController();
    const engine = fakeEngine(() => "DISO: fiebre");
    const first = await runAnnotation(
      options(db, engine, {
        signal: controller.signal,
        onProgress: (progress) => {
          if (progress.done === 4) controller.abort(); // the tab is closed after the 4th note
        },
      }),
    );
    expect(first).toEqual({ done: 4, failed: 0, skipped: 0, cancelled: true });
    expect(db.results.size).toBe(4);
    const callsBefore = engine.requests.length;

    // A new page: a new run over an async source, with the same isDone.
    const second = await runAnnotation(options(db, engine, { notes: slowly(notes), total: notes.length }));
    expect(second).toEqual({ done: 10, failed: 0, skipped: 4, cancelled: false });
    expect(db.results.size).toBe(10);
    expect(db.writes).toBe(10);
    expect(engine.requests.length - callsBefore).toBe(6);
    const annotatedNotes = engine.requests.map((request) => request.messages.at(-1)!.content.match(/Nota (\d+)/)![1]);
    expect(new Set(annotatedNotes).size).toBe(annotatedNotes.length);
  });

  it("records a failing note, goes on, and retries the failures", async () => {
    const db = store();
    let broken = true;
    const engine = fakeEngine((request) => (broken && /Nota [37]:/.test(request.messages[1].content) ? "garbled ### output" : "DISO: fiebre"));
    const summary = await runAnnotation(options(db, engine));
    expect(summary).toEqual({ done: 8, failed: 2, skipped: 0, cancelled: false });
    expect([...db.failures.keys()]).toEqual(["n3", "n7"]);
    expect(db.failures.get("n3")).toMatchObject({ name: "UnparseableOutputError" });

    broken = false;
    const retry = await retryFailed(options(db, engine), new Set(db.failures.keys()));
    expect(retry).toEqual({ done: 2, failed: 0, skipped: 0, cancelled: false });
    expect(db.failures.size).toBe(0);
    expect(db.results.size).toBe(10);
  });

  it("reports progress with tokens per second and an ETA", async () => {
    const db = store();
    const events: RunProgress[] = [];
    await runAnnotation(options(db, undefined, { onProgress: (progress) => events.push(progress) }));
    expect(events).toHaveLength(10);
    expect(events.map((e) => e.done)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(events.every((e) => e.total === 10 && e.failed === 0)).toBe(true);
    expect(events[0].tokensPerSecond).toBeGreaterThan(0);
    expect(events[0].etaSeconds).toBeGreaterThanOrEqual(0);
    expect(events.at(-1)!.etaSeconds).toBe(0);
  });

  it("pauses between notes and resumes", async () => {
    const db = store();
    const pause = new PauseControl();
    let release!: () => void;
    const pausedAt = new Promise<void>((resolve) => (release = resolve));
    const running = runAnnotation(
      options(db, undefined, {
        pause,
        onProgress: (progress) => {
          if (progress.done === 3) {
            pause.pause();
            release();
          }
        },
      }),
    );
    await pausedAt;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(db.results.size).toBe(3);
    expect(pause.paused).toBe(true);
    pause.resume();
    expect(await running).toEqual({ done: 10, failed: 0, skipped: 0, cancelled: false });
  });

  it("cancels the note in flight without saving it or marking it failed", async () => {
    const db = store();
    const controller = new AbortController();
    const engine = fakeEngine((request) => (/Nota 2:/.test(request.messages.at(-1)!.content) ? new Promise<string>(() => {}) : "DISO: fiebre"));
    const running = runAnnotation(options(db, engine, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    expect(await running).toEqual({ done: 2, failed: 0, skipped: 0, cancelled: true });
    expect(db.failures.size).toBe(0);
  });
});
