import { describe, expect, it } from "vitest";
import type { Span } from "../../../src/core/corpus/types.ts";
import { ExampleLeakError } from "../../../src/core/annotate/errors.ts";
import { evaluationNoteIds, fewShotExamples } from "../../../src/core/annotate/examples.ts";
import { schemaWithTypes } from "../../../src/core/schema/types.ts";
import { ReviewSession } from "../../../src/core/review/session.ts";
import { loadNoteReview, projectAgreement, reviewQueue, reviewerOf, ReviewerNameError, saveNoteReview } from "../../../src/core/review/store.ts";
import { annotationsForNote, putAnnotation } from "../../../src/core/store/annotations.ts";
import { importNotes, setSplit } from "../../../src/core/store/notes.ts";
import { createProject } from "../../../src/core/store/projects.ts";
import { planTraining } from "../../../src/core/train/run-data.ts";
import { freshDatabase, hashed } from "../store/helpers.ts";

const SCHEMA = schemaWithTypes(["Chemical", "Disease"]);
const span = (start: number, end: number, type: string, confidence?: number): Span =>
  confidence === undefined ? { start, end, type } : { start, end, type, confidence };

async function setup() {
  const db = freshDatabase();
  const project = await createProject(db, { name: "P", language: "en" });
  const { noteIds } = await importNotes(db, project.id, "", [
    hashed("a", "aspirin and ibuprofen cause gastritis"),
    hashed("b", "fever since monday"),
    hashed("c", "no findings"),
  ]);
  const [a, b, c] = noteIds;
  await putAnnotation(db, { noteId: a, origin: "llm", runId: "llm-1", spans: [span(0, 7, "Chemical", 1), span(28, 37, "Disease", 0.5)] });
  await putAnnotation(db, { noteId: a, origin: "model", runId: "infer-1", spans: [span(0, 7, "Chemical")] });
  await putAnnotation(db, { noteId: b, origin: "llm", runId: "llm-1", spans: [span(0, 5, "Disease", 1)] });
  await putAnnotation(db, { noteId: b, origin: "model", runId: "infer-1", spans: [span(0, 5, "Disease")] });
  return { db, project, a, b, c };
}

async function review(db: ReturnType<typeof freshDatabase>, noteId: number, reviewer: string, edit: (session: ReviewSession) => void) {
  const loaded = await loadNoteReview(db, noteId, reviewer);
  const session = new ReviewSession(loaded.note.text, SCHEMA, loaded.candidates, loaded.saved);
  edit(session);
  return saveNoteReview(db, noteId, reviewer, session.result());
}

describe("reviews in the store", () => {
  it("keeps the relations between spans the reviewer kept, re-pointed, and the note's labels", async () => {
    const db = freshDatabase();
    const project = await createProject(db, { name: "P", language: "en" });
    const text = "aspirin and ibuprofen cause gastritis";
    const { noteIds } = await importNotes(db, project.id, "", [hashed("a", text)]);
    // The LLM: aspirin → gastritis and ibuprofen → gastritis (Causes), a label; the model: aspirin only.
    await putAnnotation(db, {
      noteId: noteIds[0],
      origin: "llm",
      runId: "llm-1",
      spans: [span(0, 7, "Chemical"), span(12, 21, "Chemical"), span(28, 37, "Disease")],
      relations: [
        { type: "Causes", from: 0, to: 2 },
        { type: "Causes", from: 1, to: 2 },
      ],
      labels: { severity: ["mild"] },
    });
    await putAnnotation(db, { noteId: noteIds[0], origin: "model", runId: "infer-1", spans: [span(0, 7, "Chemical")] });
    // ibuprofen rejected, gastritis retyped, the relations and labels untouched: the saved
    // spans are aspirin (0) and gastritis (1), with the one relation between them.
    const saved = await review(db, noteIds[0], "ana", (session) => {
      const [aspirin, ibuprofen, gastritis] = session.items;
      session.accept(aspirin.id);
      session.reject(ibuprofen.id);
      session.retype(gastritis.id, "Chemical");
    });
    expect(saved.spans).toEqual([span(0, 7, "Chemical"), span(28, 37, "Chemical")]);
    expect(saved.relations).toEqual([{ type: "Causes", from: 0, to: 1 }]);
    expect(saved.labels).toEqual({ severity: ["mild"] });
  });

  it("saves the reviewer's attributes, relations and labels, and the rejected relations by their spans, and reloads them", async () => {
    const db = freshDatabase();
    const project = await createProject(db, { name: "P", language: "en" });
    const text = "aspirin and ibuprofen cause gastritis";
    const { noteIds } = await importNotes(db, project.id, "", [hashed("a", text)]);
    const schema = {
      entityTypes: [
        { name: "Chemical", color: "#f4a261", definition: "", examples: [] },
        { name: "Disease", color: "#2a9d8f", definition: "", examples: [], attributes: [{ name: "certainty", values: ["positive", "negative"], default: "positive" }] },
      ],
      relationTypes: [{ name: "Causes", from: ["Chemical"], to: ["Disease"], directed: true }],
      documentLabels: [{ name: "severity", values: ["mild", "severe"], multiple: false }],
    };
    await putAnnotation(db, {
      noteId: noteIds[0],
      origin: "import",
      runId: "",
      spans: [span(0, 7, "Chemical"), span(12, 21, "Chemical"), { ...span(28, 37, "Disease"), attributes: { certainty: "negative" } }],
      relations: [{ type: "Causes", from: 1, to: 2 }],
      labels: { severity: ["mild"] },
    });
    const load = async () => {
      const loaded = await loadNoteReview(db, noteIds[0], "ana");
      return new ReviewSession(loaded.note.text, schema, loaded.candidates, loaded.saved);
    };
    const session = await load();
    session.acceptAll();
    const [aspirin, , gastritis] = session.items;
    session.cycleAttribute(gastritis.id, "certainty"); // negative -> positive, the default
    session.rejectRelation(session.relations[0].id); // ibuprofen -> gastritis
    session.addRelation("Causes", aspirin.id, gastritis.id);
    session.setLabel("severity", "severe");
    const saved = await saveNoteReview(db, noteIds[0], "ana", session.result());
    expect(saved.spans).toEqual([span(0, 7, "Chemical"), span(12, 21, "Chemical"), span(28, 37, "Disease")]);
    expect(saved.relations).toEqual([{ type: "Causes", from: 0, to: 2 }]);
    expect(saved.labels).toEqual({ severity: ["severe"] });
    expect(saved.meta?.review?.rejectedRelations).toEqual([{ type: "Causes", from: span(12, 21, "Chemical"), to: span(28, 37, "Disease") }]);

    const again = await load();
    expect(again.relations.map((relation) => `${relation.type} ${relation.from}->${relation.to} ${relation.decision}`)).toEqual([
      `Causes ${again.items[1].id}->${again.items[2].id} rejected`,
      `Causes ${again.items[0].id}->${again.items[2].id} accepted`,
    ]);
    expect(again.items[2].attributes).toEqual({});
    expect(again.labels).toEqual({ severity: ["severe"] });
    expect(again.result()).toEqual(session.result());
  });

  it("saves a review as the reviewer's own human row and reloads it with its decisions", async () => {
    const { db, a } = await setup();
    await review(db, a, " ana ", (session) => {
      session.accept(session.items[0].id);
      session.retype(session.items[1].id, "Chemical");
    });
    const rows = (await annotationsForNote(db, a)).filter((row) => row.origin === "human");
    expect(rows).toHaveLength(1);
    expect(rows[0].runId).toBe("review:ana");
    expect(reviewerOf(rows[0])).toBe("ana");
    expect(rows[0].spans).toEqual([span(0, 7, "Chemical"), span(28, 37, "Chemical")]);
    // No relations, labels or rejected relations: the row a review wrote before they existed.
    expect(Object.keys(rows[0]).sort()).toEqual(["id", "meta", "noteId", "origin", "projectId", "runId", "spans", "updatedAt"]);
    expect(Object.keys(rows[0].meta!.review!).sort()).toEqual(["provenance", "rejected", "reviewer"]);
    expect(rows[0].meta?.review?.provenance[0].sources).toEqual([
      { origin: "llm", runId: "llm-1", confidence: 1 },
      { origin: "model", runId: "infer-1" },
    ]);

    const again = await loadNoteReview(db, a, "ana");
    const session = new ReviewSession(again.note.text, SCHEMA, again.candidates, again.saved);
    expect(session.items.map((item) => `${item.start}-${item.end} ${item.type} ${item.decision}`)).toEqual([
      "0-7 Chemical accepted",
      "28-37 Chemical accepted",
    ]);
    expect(session.items[1].retypedFrom).toBe("Disease");
  });

  it("keeps two reviewers of one note apart, each seeing only the machines' candidates, and reads old rows as unnamed", async () => {
    const { db, a, b } = await setup();
    await review(db, a, "ana", (session) => session.acceptAll());
    await review(db, a, "ben", (session) => session.rejectAll());
    await putAnnotation(db, { noteId: b, origin: "human", spans: [span(0, 5, "Disease")] });
    const forCara = await loadNoteReview(db, a, "cara");
    expect(forCara.candidates.map((set) => set.origin)).toEqual(["llm", "model"]);
    expect(forCara.saved).toBeUndefined();
    expect(forCara.otherReviewers.sort()).toEqual(["ana", "ben"]);
    expect((await loadNoteReview(db, b, "ana")).otherReviewers).toEqual([""]);
    expect((await annotationsForNote(db, a)).filter((row) => row.origin === "human").map(reviewerOf).sort()).toEqual(["ana", "ben"]);
  });

  it("refuses a blank reviewer name", async () => {
    const { db, a } = await setup();
    await expect(loadNoteReview(db, a, "  ")).rejects.toThrow(ReviewerNameError);
    await expect(saveNoteReview(db, a, "", { spans: [], provenance: [], rejected: [], relations: [], rejectedRelations: [], labels: {} })).rejects.toThrow(/Enter your name as reviewer/);
  });

  it("queues the notes this reviewer has not reviewed, most useful first, with reasons", async () => {
    const { db, a, b, c } = await setup();
    // a: LLM and model differ (gastritis) and the LLM is unsure of it; b: they agree; c: nothing.
    const queue = await reviewQueue(db, (await db.projects.toArray())[0].id, "ana");
    expect(queue.map((note) => note.noteId)).toEqual([a, b, c]);
    expect(queue[0].reason).toContain("LLM and model disagree");
    expect(queue[0].reason).toContain("1 of 2 LLM spans uncertain");
    await review(db, a, "ana", (session) => session.acceptAll());
    const after = await reviewQueue(db, (await db.projects.toArray())[0].id, "ana");
    expect(after.map((note) => note.noteId)).toEqual([b, c]);
    expect((await reviewQueue(db, (await db.projects.toArray())[0].id, "ben")).map((note) => note.noteId)).toEqual([a, b, c]);
  });

  it("reports LLM vs human and human vs human agreement of the saved reviews", async () => {
    const { db, project, a } = await setup();
    await review(db, a, "ana", (session) => {
      session.acceptAll(); // aspirin Chemical, gastritis Disease
      session.add(12, 21, "Chemical"); // ibuprofen
    });
    await review(db, a, "ben", (session) => {
      session.accept(session.items[0].id);
      session.retype(session.items[1].id, "Chemical");
    });
    const report = await projectAgreement(db, project.id);
    // The latest review (ben: aspirin C, gastritis C) against the LLM (aspirin C, gastritis D).
    expect(report.llm.notes).toBe(1);
    expect(report.llm.strict.micro.f1).toBeCloseTo(0.5, 12);
    // ana vs ben: strict tp 1, fp 1, fn 2 → F1 0.4; kappa 1/3 (hand-computed in review-agreement.test.ts).
    expect(report.humans).toHaveLength(1);
    expect(report.humans[0].strict.f1).toBeCloseTo(0.4, 12);
    expect(report.humans[0].kappa.kappa).toBeCloseTo(1 / 3, 12);
    expect(report.overTime).toHaveLength(1);
  });

  it("a reviewed note marked gold or dev is left out of training and refused as a few-shot example", async () => {
    const { db, project, a, b, c } = await setup();
    await review(db, a, "ana", (session) => session.acceptAll());
    await review(db, b, "ana", (session) => session.acceptAll());
    await review(db, c, "ana", () => undefined);
    expect((await planTraining(db, project.id, "human")).trainNoteIds).toEqual([a, b, c]);
    await setSplit(db, [a], "gold");
    await setSplit(db, [b], "dev");
    const plan = await planTraining(db, project.id, "both");
    expect(plan.trainNoteIds).toEqual([c]);
    expect(plan.counts.goldNotesExcluded).toBe(1);
    expect(plan.counts.devNotesExcluded).toBe(1);
    await expect(fewShotExamples(db, [c, a])).rejects.toThrow(ExampleLeakError);
    await expect(fewShotExamples(db, [b])).rejects.toThrow(/"b" is a dev note/);
    expect(await fewShotExamples(db, [c])).toEqual([{ id: String(c), text: "no findings", spans: [] }]);
    expect([...(await evaluationNoteIds(db, project.id))].sort()).toEqual([String(a), String(b)].sort());
  });
});
