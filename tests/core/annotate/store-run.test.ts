// A run against the store (fake-indexeddb): a "reload" in the middle — the page dies with
// a note in flight and a new page opens the database again — resumes without doing or
// storing any note twice; gold and dev notes never reach the annotator; failures survive
// the reload and a retry clears them; an endpoint is refused without consent for its URL.
import { describe, expect, it } from "vitest";
import { fakeEngine, type ChatRequest } from "../../../src/core/annotate/chat.ts";
import { ChatHttpError, EngineLostError } from "../../../src/core/annotate/errors.ts";
import { outputFormat } from "../../../src/core/annotate/format.ts";
import {
  backendFor,
  ConsentError,
  createAnnotationRun,
  goldCheck,
  goldNotesWithSpans,
  runConfig,
  runProgress,
  runStored,
  unplacedOfRun,
  type AnnotateRunProgress,
  type BackendConfig,
} from "../../../src/core/annotate/store-run.ts";
import { schemaWithTypes } from "../../../src/core/schema/types.ts";
import { AppDatabase } from "../../../src/core/store/db.ts";
import { getRun, importNotes, createProject, listAnnotations } from "../../../src/core/store/index.ts";
import { freshDatabase, hashed } from "../store/helpers.ts";
import { IE_SCHEMA } from "./ie-schema.ts";

const schema = schemaWithTypes(["Chemical", "Disease"]);
const LEXICON: Record<string, string> = { aspirin: "Chemical", metformin: "Chemical", warfarin: "Chemical", HTN: "Disease", "chest pain": "Disease", bleeding: "Disease" };

/** The note text from the prompt's last user turn. */
function noteOf(request: ChatRequest): string {
  return request.messages.at(-1)!.content.replace(/^Note:\n"""\n/, "").replace(/\n"""$/, "");
}

/** Answers like an LLM would, by looking words up (type-rows, the endpoint's format). */
function lexiconAnswer(request: ChatRequest): string {
  const text = noteOf(request);
  const mentions = Object.entries(LEXICON)
    .filter(([word]) => text.includes(word))
    .map(([word, type]) => ({ text: word, type }));
  return outputFormat("type-rows").serialize(mentions, ["Chemical", "Disease"]);
}

const POOL = [
  "HTN on metformin.",
  "chest pain, given aspirin.",
  "warfarin then bleeding.",
  "No complaints.",
  "aspirin for chest pain.",
  "HTN, stopped warfarin.",
];

async function setup() {
  const db = freshDatabase();
  const project = await createProject(db, { name: "P", language: "en", schema });
  const pool = await importNotes(db, project.id, "", POOL.map((text, i) => hashed(`p${i}`, text)));
  await importNotes(db, project.id, "", [hashed("g1", "GOLD: aspirin for HTN.", "gold.jsonl", [{ start: 6, end: 13, type: "Chemical" }, { start: 18, end: 21, type: "Disease" }]), hashed("g2", "GOLD: metformin, bleeding.", "gold.jsonl", [{ start: 6, end: 15, type: "Chemical" }])], { split: "gold" });
  await importNotes(db, project.id, "", [hashed("d1", "DEV: aspirin.")], { split: "dev" });
  return { db, project, poolIds: pool.noteIds };
}

const endpoint: BackendConfig = { kind: "endpoint", url: "http://127.0.0.1:9/v1", model: "m", consentedUrl: "http://127.0.0.1:9/v1", consentedAt: 1 };

describe("stored annotation runs", () => {
  it("resumes after a reload mid-run without repeating or duplicating a note", async () => {
    const { db, project, poolIds } = await setup();
    const run = await createAnnotationRun(db, project.id, runConfig(schema, endpoint, { parameters: { temperature: 0 } }));
    expect(runProgress(run).total).toBe(6);

    // Page 1: the fourth note never comes back; the page is then closed (reload).
    const first = fakeEngine((request, { call }) => (call === 3 ? new Promise<string>(() => {}) : lexiconAnswer(request)));
    const progress: AnnotateRunProgress[] = [];
    void runStored({ db, runId: run.id, schema, backend: { kind: "llm", engine: first }, onProgress: (step) => progress.push(step) });
    await expect.poll(async () => (await listAnnotations(db, project.id, "llm", run.id)).length).toBe(3);
    await expect.poll(() => first.requests.length).toBe(4);
    expect((await getRun(db, run.id)).status).toBe("running");
    expect(progress.at(-1)).toMatchObject({ done: 3, total: 6, failed: 0 });
    db.close();

    // Page 2: a new connection, the same run.
    const reopened = new AppDatabase(db.name);
    const second = fakeEngine(lexiconAnswer);
    const summary = await runStored({ db: reopened, runId: run.id, schema, backend: { kind: "llm", engine: second } });
    expect(summary).toMatchObject({ done: 3, failed: 0, cancelled: false });
    // Only the three notes not yet stored were sent again (the one in flight among them).
    expect(second.requests.map(noteOf)).toEqual(POOL.slice(3));

    const rows = await listAnnotations(reopened, project.id, "llm", run.id);
    expect(rows.map((row) => row.noteId).sort((a, b) => a - b)).toEqual(poolIds);
    const byNote = new Map(rows.map((row) => [row.noteId, row]));
    const note2 = byNote.get(poolIds[2])!;
    expect(note2.spans.map((span) => [POOL[2].slice(span.start, span.end), span.type])).toEqual([["warfarin", "Chemical"], ["bleeding", "Disease"]]);
    expect(note2.meta?.raw).toBe("Chemical: warfarin\nDisease: bleeding");
    const stored = await getRun(reopened, run.id);
    expect(stored.status).toBe("done");
    expect(runProgress(stored)).toMatchObject({ done: 6, total: 6, failed: 0 });
    // Gold and dev notes were never sent.
    for (const request of [...first.requests, ...second.requests]) expect(noteOf(request)).not.toMatch(/GOLD|DEV/);
    reopened.close();
  });

  it("pauses, without failing a note, when the local model is lost, and resumes once it is back", async () => {
    const { db, project, poolIds } = await setup();
    const run = await createAnnotationRun(db, project.id, runConfig(schema, endpoint));
    const losing = fakeEngine((request, { call }) => {
      if (call === 2) throw new EngineLostError("Qwen is no longer loaded (device lost)");
      return lexiconAnswer(request);
    });
    await expect(runStored({ db, runId: run.id, schema, backend: { kind: "llm", engine: losing } })).rejects.toThrow(EngineLostError);
    expect(losing.requests).toHaveLength(3);
    const stopped = await getRun(db, run.id);
    expect(stopped.status).toBe("paused");
    expect(runProgress(stopped)).toMatchObject({ done: 2, failed: 0, failures: {} });
    expect((stopped.progress as { error?: { name: string } }).error?.name).toBe("EngineLostError");

    const back = fakeEngine(lexiconAnswer);
    await runStored({ db, runId: run.id, schema, backend: { kind: "llm", engine: back } });
    expect(back.requests.map(noteOf)).toEqual(POOL.slice(2));
    expect((await listAnnotations(db, project.id, "llm", run.id)).map((row) => row.noteId).sort((a, b) => a - b)).toEqual(poolIds);
    expect((await getRun(db, run.id)).status).toBe("done");
  });

  it("records failures in the run, keeps them across a reload, and a retry clears them", async () => {
    const { db, project, poolIds } = await setup();
    const run = await createAnnotationRun(db, project.id, runConfig(schema, endpoint));
    const flaky = fakeEngine((request) => {
      if (noteOf(request).startsWith("warfarin")) throw new ChatHttpError(endpoint.url, 503, "model overloaded");
      return lexiconAnswer(request);
    });
    const summary = await runStored({ db, runId: run.id, schema, backend: { kind: "llm", engine: flaky } });
    expect(summary).toMatchObject({ done: 5, failed: 1 });
    const reopened = new AppDatabase(db.name);
    const failures = runProgress(await getRun(reopened, run.id)).failures;
    expect(Object.keys(failures)).toEqual([String(poolIds[2])]);
    expect(failures[poolIds[2]]).toMatchObject({ name: "ChatHttpError", message: expect.stringContaining("HTTP 503") });

    const fixed = fakeEngine(lexiconAnswer);
    await runStored({ db: reopened, runId: run.id, schema, backend: { kind: "llm", engine: fixed }, only: new Set([poolIds[2]]) });
    expect(fixed.requests.map(noteOf)).toEqual([POOL[2]]);
    const after = await getRun(reopened, run.id);
    expect(runProgress(after)).toMatchObject({ done: 6, failed: 0, failures: {} });
    expect(after.status).toBe("done");
    reopened.close();
  });

  it("cancels between notes and marks the run cancelled; a later run picks up the rest", async () => {
    const { db, project } = await setup();
    const run = await createAnnotationRun(db, project.id, runConfig(schema, { kind: "terms", lists: [{ type: "Chemical", terms: ["aspirin"] }] }));
    const controller = new AbortController();
    const summary = await runStored({
      db,
      runId: run.id,
      schema,
      backend: backendFor((await getRun(db, run.id)).config as never, {}),
      signal: controller.signal,
      onProgress: (step) => step.done === 2 && controller.abort(),
    });
    expect(summary.cancelled).toBe(true);
    expect((await getRun(db, run.id)).status).toBe("cancelled");
    expect(await listAnnotations(db, project.id, "llm", run.id)).toHaveLength(2);
    await runStored({ db, runId: run.id, schema, backend: { kind: "terms", lists: [{ type: "Chemical", terms: ["aspirin"] }] } });
    expect(await listAnnotations(db, project.id, "llm", run.id)).toHaveLength(6);
  });

  it("records backend, prompt hash and parameters; refuses an endpoint without consent for its exact URL", async () => {
    const config = runConfig(schema, endpoint, { parameters: { temperature: 0, maxTokens: 512 } });
    expect(config).toMatchObject({ purpose: "pool", split: "pool", origin: "llm", format: "type-rows", parameters: { temperature: 0, maxTokens: 512 }, backend: { kind: "endpoint", url: endpoint.url } });
    expect(config.promptHash).toMatch(/\w{8,}/);
    expect(config.grammar).toBeUndefined();
    const local = runConfig(schema, { kind: "webllm", modelId: "m", weightsBaseUrl: "", libsBaseUrl: "" });
    expect(local).toMatchObject({ format: "type-rows", grammar: true });
    // The grammar is part of what the prompt asks: WebLLM's runs are told apart from the endpoint's.
    expect(local.promptHash).not.toBe(config.promptHash);
    // A server with structured output gets the JSON format and its schema.
    const structured = runConfig(schema, { ...endpoint, structured: true });
    expect(structured).toMatchObject({ format: "grouped-json" });
    expect(structured.grammar).toBeUndefined();
    expect(new Set([structured.promptHash, config.promptHash, local.promptHash]).size).toBe(3);

    let fetched = 0;
    const spyFetch = (async () => ((fetched += 1), new Response("{}"))) as unknown as typeof fetch;
    expect(() => runConfig(schema, { ...endpoint, consentedUrl: "" })).toThrow(ConsentError);
    expect(() => runConfig(schema, { ...endpoint, url: "http://other.example/v1" })).toThrow(/other\.example/);
    const tampered = { ...config, backend: { ...endpoint, url: "http://other.example/v1" } };
    expect(() => backendFor(tampered, { fetch: spyFetch })).toThrow(ConsentError);
    expect(fetched).toBe(0);
  });

  it("labels the pool with the source model's own predictions (self-training), as the annotate step's machine annotations", async () => {
    const { db, project, poolIds } = await setup();
    const config = runConfig(schema, { kind: "model", modelId: "m-1", model: "Demo source model" });
    expect(config).toMatchObject({ origin: "llm", split: "pool", backend: { kind: "model", modelId: "m-1" } });
    expect(config.promptHash).toBeUndefined();
    expect(() => backendFor(config, {})).toThrow(/Demo source model/);

    const asked: [string, string][] = [];
    const predictWithModel = async (modelId: string, text: string) => {
      asked.push([modelId, text]);
      const at = text.indexOf("aspirin");
      return at < 0 ? [] : [{ start: at, end: at + 7, type: "Chemical", confidence: 0.8 }];
    };
    const run = await createAnnotationRun(db, project.id, config);
    await runStored({ db, runId: run.id, schema, backend: backendFor(config, { predictWithModel }) });
    expect(asked).toEqual(POOL.map((text) => ["m-1", text]));
    const rows = await listAnnotations(db, project.id, "llm", run.id);
    expect(rows.map((row) => row.noteId).sort()).toEqual([...poolIds].sort());
    const second = rows.find((row) => row.noteId === poolIds[1])!;
    expect(second.spans).toEqual([{ start: 18, end: 25, type: "Chemical", confidence: 0.8 }]);
  });

  it("checks the same backend against gold in a separate run and scores F1 per type", async () => {
    const { db, project } = await setup();
    expect(await goldNotesWithSpans(db, project.id)).toBe(2);
    const lists = [{ type: "Chemical", terms: ["aspirin", "metformin"] }, { type: "Disease", terms: ["bleeding"] }];
    const pool = await createAnnotationRun(db, project.id, runConfig(schema, { kind: "terms", lists }));
    const check = await createAnnotationRun(db, project.id, runConfig(schema, { kind: "terms", lists }, { purpose: "gold-check", checks: pool.id }));
    expect(runProgress(check).total).toBe(2);
    await runStored({ db, runId: check.id, schema, backend: { kind: "terms", lists } });
    const result = await goldCheck(db, project.id, check.id);
    expect(result.notes).toBe(2);
    // Chemical: aspirin, metformin found (2 tp). Disease: HTN missed (fn), bleeding not in gold (fp).
    expect(result.perType.Chemical).toMatchObject({ tp: 2, fp: 0, fn: 0, f1: 1 });
    expect(result.perType.Disease).toMatchObject({ tp: 0, fp: 1, fn: 1, f1: 0 });
    // Its rows are on gold notes only, under its own run id; the pool run has none.
    expect(await listAnnotations(db, project.id, "llm", check.id)).toHaveLength(2);
    expect(await listAnnotations(db, project.id, "llm", pool.id)).toHaveLength(0);
  });

  it("stores attributes, relations, labels and unplaced relations on the rows, and the gold check scores them", async () => {
    const db = freshDatabase();
    const project = await createProject(db, { name: "IE", language: "es", schema: IE_SCHEMA });
    const pool = await importNotes(db, project.id, "", [hashed("p0", "Niega fiebre. Aspirina 100 mg.")]);
    // Gold: fiebre negated, aspirina -has_dose-> 100 mg, smoking never; g2: tos (affirmed), smoking former.
    const g1 = hashed("g1", "Niega fiebre hoy. Aspirina 100 mg.", "gold.jsonl", [
      { start: 6, end: 12, type: "DISO", attributes: { certainty: "negated" } },
      { start: 18, end: 26, type: "CHEM" },
      { start: 27, end: 33, type: "DOSE" },
    ]);
    g1.note.relations = [{ type: "has_dose", from: 1, to: 2 }];
    g1.note.labels = { smoking: ["never"] };
    const g2 = hashed("g2", "Tos. Paracetamol 1 g.", "gold.jsonl", [{ start: 0, end: 3, type: "DISO" }]);
    g2.note.labels = { smoking: ["former"] };
    await importNotes(db, project.id, "", [g1, g2], { split: "gold" });

    // The model: negates everything, relates drug and dose, and names a mention that is not in the note.
    const engine = fakeEngine((request) => {
      const text = noteOf(request);
      if (text.startsWith("Niega")) return "DISO: fiebre [negated]; ictus\nCHEM: Aspirina\nDOSE: 100 mg\nRelations: has_dose 3>4; treats 3>2\nLabels: smoking=never";
      return "DISO: Tos [negated]\nCHEM: Paracetamol\nDOSE: 1 g\nRelations: has_dose 2>3\nLabels: smoking=never";
    });
    const endpointRun = runConfig(IE_SCHEMA, endpoint);
    const run = await createAnnotationRun(db, project.id, endpointRun);
    await runStored({ db, runId: run.id, schema: IE_SCHEMA, backend: { kind: "llm", engine } });
    const [row] = await listAnnotations(db, project.id, "llm", run.id);
    expect(row.noteId).toBe(pool.noteIds[0]);
    expect(row.spans).toEqual([
      { start: 6, end: 12, type: "DISO", confidence: 1, attributes: { certainty: "negated" } },
      { start: 14, end: 22, type: "CHEM", confidence: 1 },
      { start: 23, end: 29, type: "DOSE", confidence: 1 },
    ]);
    expect(row.relations).toEqual([{ type: "has_dose", from: 1, to: 2, confidence: 1 }]);
    expect(row.labels).toEqual({ smoking: ["never"] });
    expect(row.meta?.unplaced).toEqual(["DISO: ictus"]);
    expect(row.meta?.unplacedRelations).toEqual([expect.stringMatching(/^treats: Aspirina \(CHEM\) -> ictus \(DISO\) \(ictus \(DISO\) could not be placed: not in the note/)]);
    // What the runs table lists per note.
    expect(await unplacedOfRun(db, run.id)).toEqual({
      mentions: 1,
      relations: 1,
      notes: [{ noteId: pool.noteIds[0], externalId: "p0", mentions: row.meta!.unplaced, relations: row.meta!.unplacedRelations }],
    });

    const check = await createAnnotationRun(db, project.id, runConfig(IE_SCHEMA, endpoint, { purpose: "gold-check", checks: run.id }));
    await runStored({ db, runId: check.id, schema: IE_SCHEMA, backend: { kind: "llm", engine } });
    const scores = await goldCheck(db, project.id, check.id);
    expect(scores.notes).toBe(2);
    // g1 (it starts "Niega") gets the answer with ictus; g2's answer places everything.
    const checkUnplaced = await unplacedOfRun(db, check.id);
    expect([checkUnplaced.mentions, checkUnplaced.relations, checkUnplaced.notes.map((note) => note.externalId)]).toEqual([1, 1, ["g1"]]);
    // Spans: g1 all 3 right; g2 Tos right, Paracetamol and 1 g not in gold.
    expect(scores.micro).toMatchObject({ tp: 4, fp: 2, fn: 0 });
    // certainty on the 2 matched DISO spans: fiebre negated = negated; Tos affirmed (default) vs negated.
    expect(scores.attributes!.certainty).toMatchObject({ matched: 2, accuracy: 0.5 });
    expect(scores.attributes!.certainty.perValue.negated).toMatchObject({ tp: 1, fp: 1, fn: 0 });
    // temporality has no default: every span has "(none)" on both sides.
    expect(scores.attributes!.temporality).toMatchObject({ matched: 2, accuracy: 1 });
    // Relations: g1's has_dose right; g2's Paracetamol -> 1 g is not in gold.
    expect(scores.relations!.micro).toMatchObject({ tp: 1, fp: 1, fn: 0, precision: 0.5, recall: 1 });
    // smoking: never = never (g1), never vs former (g2).
    expect(scores.labels!.smoking).toMatchObject({ notes: 2, accuracy: 0.5 });
    expect(scores.labels!.services).toMatchObject({ notes: 0 });
  });

  it("writes rows without relations and labels when the schema has none", async () => {
    const { db, project } = await setup();
    const run = await createAnnotationRun(db, project.id, runConfig(schema, endpoint));
    await runStored({ db, runId: run.id, schema, backend: { kind: "llm", engine: fakeEngine(lexiconAnswer) } });
    const rows = await listAnnotations(db, project.id, "llm", run.id);
    expect(rows.every((row) => row.relations === undefined && row.labels === undefined)).toBe(true);
    const check = await goldCheck(db, project.id, (await createAnnotationRun(db, project.id, runConfig(schema, endpoint, { purpose: "gold-check", checks: run.id }))).id);
    expect(check.attributes ?? check.relations ?? check.labels).toBeUndefined();
  });
});
