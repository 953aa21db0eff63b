// Few-shot examples in runs: which notes are chosen (hand-computed), that a run shows them
// to the model as user/assistant turns and does not annotate them, that a resumed run
// shows the same ones, and that a note moved to gold since is refused, never shown.
import { describe, expect, it } from "vitest";
import { fakeEngine, type ChatRequest } from "../../../src/core/annotate/chat.ts";
import { ExampleLeakError } from "../../../src/core/annotate/errors.ts";
import { chooseExamples, exampleCandidates, fewShotExamples, type ExampleCandidate } from "../../../src/core/annotate/examples.ts";
import { createAnnotationRun, runConfig, runProgress, runStored, type BackendConfig } from "../../../src/core/annotate/store-run.ts";
import { schemaWithTypes } from "../../../src/core/schema/types.ts";
import { putAnnotation } from "../../../src/core/store/annotations.ts";
import { createProject, getRun, importNotes, listAnnotations, setSplit } from "../../../src/core/store/index.ts";
import { freshDatabase, hashed } from "../store/helpers.ts";

const schema = schemaWithTypes(["Chemical", "Disease"]);
const endpoint: BackendConfig = { kind: "endpoint", url: "http://127.0.0.1:9/v1", model: "m", consentedUrl: "http://127.0.0.1:9/v1", consentedAt: 1 };

const candidate = (noteId: number, chars: number, types: string[], origin: "human" | "import" = "human"): ExampleCandidate => ({
  noteId,
  externalId: `n${noteId}`,
  chars,
  types,
  origin,
});

/** The note text of a prompt's user turn. */
const noteOf = (content: string) => content.replace(/^Note:\n"""\n/, "").replace(/\n"""$/, "");

describe("few-shot examples", () => {
  it("chooses short notes that together show the most types, shorter and reviewed first on a tie", () => {
    const candidates = [
      candidate(1, 900, ["Chemical"]),
      candidate(2, 400, ["Chemical"], "import"),
      candidate(3, 400, ["Chemical"]),
      candidate(4, 1500, ["Chemical", "Disease"]),
      candidate(5, 5000, ["Chemical", "Disease", "Procedure"]),
      candidate(6, 100, []),
    ];
    // 4 shows two types (5 is too long); then every left one adds nothing new: 3 (400, reviewed) before 2 (400, imported) before 1.
    expect(chooseExamples(candidates, 3).map((chosen) => chosen.noteId)).toEqual([4, 3, 2]);
    expect(chooseExamples(candidates, 0)).toEqual([]);
    // No short note at all: the shortest ones, a note without spans never.
    expect(chooseExamples([candidate(7, 8000, ["Disease"]), candidate(8, 6000, ["Chemical"]), candidate(9, 10, [])], 1).map((chosen) => chosen.noteId)).toEqual([8]);
  });

  it("finds pool notes with a review or imported spans, reviewed first, never gold or dev", async () => {
    const db = freshDatabase();
    const project = await createProject(db, { name: "P", language: "en", schema });
    const imported = await importNotes(db, project.id, "", [hashed("a", "aspirin.", "a.jsonl", [{ start: 0, end: 7, type: "Chemical" }]), hashed("b", "no spans")]);
    const reviewed = await importNotes(db, project.id, "", [hashed("c", "HTN.")]);
    await putAnnotation(db, { noteId: reviewed.noteIds[0], origin: "human", runId: "review:ana", spans: [{ start: 0, end: 3, type: "Disease" }] });
    await importNotes(db, project.id, "", [hashed("g", "GOLD aspirin.", "g.jsonl", [{ start: 5, end: 12, type: "Chemical" }])], { split: "gold" });
    const found = await exampleCandidates(db, project.id);
    expect(found).toEqual([
      { noteId: reviewed.noteIds[0], externalId: "c", chars: 4, types: ["Disease"], origin: "human" },
      { noteId: imported.noteIds[0], externalId: "a", chars: 8, types: ["Chemical"], origin: "import" },
    ]);
  });

  it("shows a run's examples as user/assistant turns, leaves their notes out, and shows the same ones after a resume", async () => {
    const db = freshDatabase();
    const project = await createProject(db, { name: "P", language: "en", schema });
    const pool = await importNotes(db, project.id, "", [
      hashed("ex", "Aspirin for HTN.", "ex.jsonl", [{ start: 0, end: 7, type: "Chemical" }, { start: 12, end: 15, type: "Disease" }]),
      hashed("p1", "metformin."),
      hashed("p2", "chest pain."),
      hashed("p3", "bleeding."),
    ]);
    const [exampleId] = pool.noteIds;
    const examples = await fewShotExamples(db, [exampleId]);
    const config = runConfig(schema, endpoint, { examples });
    expect(config.examples).toEqual([exampleId]);
    expect(config.promptHash).not.toBe(runConfig(schema, endpoint).promptHash);
    const run = await createAnnotationRun(db, project.id, config);
    expect(runProgress(run).total).toBe(3);

    // Cancelled while the second note is with the model, then resumed.
    const controller = new AbortController();
    const first = fakeEngine((_, { call }) => {
      if (call === 1) controller.abort();
      return "Chemical: metformin";
    });
    await runStored({ db, runId: run.id, schema, backend: { kind: "llm", engine: first }, signal: controller.signal });
    const second = fakeEngine(() => "");
    await runStored({ db, runId: run.id, schema, backend: { kind: "llm", engine: second } });

    const requests: ChatRequest[] = [...first.requests, ...second.requests];
    expect(second.requests.map((request) => noteOf(request.messages.at(-1)!.content))).toEqual(["chest pain.", "bleeding."]);
    expect(requests.map((request) => noteOf(request.messages.at(-1)!.content))).not.toContain("Aspirin for HTN.");
    for (const request of requests) {
      expect(request.messages.map((message) => message.role)).toEqual(["system", "user", "assistant", "user"]);
      expect(noteOf(request.messages[1].content)).toBe("Aspirin for HTN.");
      expect(request.messages[2].content).toBe("Chemical: Aspirin\nDisease: HTN");
    }
    const rows = await listAnnotations(db, project.id, "llm", run.id);
    expect(rows.map((row) => row.noteId).sort((a, b) => a - b)).toEqual(pool.noteIds.slice(1));
    expect(runProgress(await getRun(db, run.id))).toMatchObject({ done: 3, total: 3, failed: 0 });
  });

  it("refuses to go on when an example's note has become a gold note, and shows the model nothing", async () => {
    const db = freshDatabase();
    const project = await createProject(db, { name: "P", language: "en", schema });
    const pool = await importNotes(db, project.id, "", [hashed("ex", "Aspirin.", "ex.jsonl", [{ start: 0, end: 7, type: "Chemical" }]), hashed("p1", "HTN.")]);
    const run = await createAnnotationRun(db, project.id, runConfig(schema, endpoint, { examples: await fewShotExamples(db, [pool.noteIds[0]]) }));
    await setSplit(db, [pool.noteIds[0]], "gold");
    const engine = fakeEngine(() => "");
    await expect(runStored({ db, runId: run.id, schema, backend: { kind: "llm", engine } })).rejects.toThrow(ExampleLeakError);
    expect(engine.requests).toEqual([]);
  });
});
