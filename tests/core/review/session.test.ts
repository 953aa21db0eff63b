import { describe, expect, it } from "vitest";
import type { Span } from "../../../src/core/corpus/types.ts";
import { schemaWithTypes } from "../../../src/core/schema/types.ts";
import { ReviewSession, SpanEditError, type CandidateSet } from "../../../src/core/review/session.ts";

const SCHEMA = schemaWithTypes(["Chemical", "Disease"]);
//            0         1         2         3         4
//            0123456789012345678901234567890123456789012345
const TEXT = "Chest pain after aspirin; no fever. Hx asthma.";
const span = (start: number, end: number, type: string, confidence?: number): Span =>
  confidence === undefined ? { start, end, type } : { start, end, type, confidence };

const llm: CandidateSet = {
  origin: "llm",
  runId: "run-llm",
  spans: [span(0, 10, "Disease", 0.6), span(17, 24, "Chemical", 1), span(29, 34, "Disease", 0.4)],
};
const model: CandidateSet = { origin: "model", runId: "run-model", spans: [span(6, 10, "Disease"), span(17, 24, "Chemical")] };

const decisions = (session: ReviewSession) => session.items.map((item) => `${item.start}-${item.end} ${item.type} ${item.decision}`);

describe("ReviewSession", () => {
  it("merges identical candidates from several origins and keeps overlapping ones apart, each with its sources", () => {
    const session = new ReviewSession(TEXT, SCHEMA, [llm, model]);
    expect(decisions(session)).toEqual([
      "0-10 Disease pending",
      "6-10 Disease pending",
      "17-24 Chemical pending",
      "29-34 Disease pending",
    ]);
    const aspirin = session.items[2];
    expect(aspirin.sources).toEqual([
      { origin: "llm", runId: "run-llm", confidence: 1 },
      { origin: "model", runId: "run-model" },
    ]);
    expect(session.items[1].sources).toEqual([{ origin: "model", runId: "run-model" }]);
  });

  it("accepting a candidate rejects the pending candidates that overlap it; undo and redo step through", () => {
    const session = new ReviewSession(TEXT, SCHEMA, [llm, model]);
    session.accept(session.items[0].id);
    expect(decisions(session).slice(0, 2)).toEqual(["0-10 Disease accepted", "6-10 Disease rejected"]);
    expect(session.dirty).toBe(true);
    expect(session.undo()).toBe(true);
    expect(decisions(session).slice(0, 2)).toEqual(["0-10 Disease pending", "6-10 Disease pending"]);
    expect(session.dirty).toBe(false);
    expect(session.redo()).toBe(true);
    expect(decisions(session).slice(0, 2)).toEqual(["0-10 Disease accepted", "6-10 Disease rejected"]);
    expect(session.redo()).toBe(false);
  });

  it("adds a span from a selection, trimmed, and rejects the pending candidates under it", () => {
    const session = new ReviewSession(TEXT, SCHEMA, [llm]);
    // " asthma" selected with the space before it: the span is "asthma".
    const id = session.add(38, 45, "Disease");
    expect(session.item(id)).toMatchObject({ start: 39, end: 45, type: "Disease", sources: [], decision: "accepted" });
    expect(TEXT.slice(39, 45)).toBe("asthma");
    // A selection backwards (focus before anchor) is the same selection.
    session.undo();
    const again = session.add(45, 39, "Disease");
    expect(session.item(again)).toMatchObject({ start: 39, end: 45 });
    // Selecting "no fever" over the LLM's "fever" span: the candidate is turned down.
    session.add(26, 34, "Disease");
    expect(decisions(session)).toContain("29-34 Disease rejected");
  });

  it("adding exactly a candidate accepts the candidate instead of duplicating it", () => {
    const session = new ReviewSession(TEXT, SCHEMA, [llm]);
    const id = session.add(17, 24, "Chemical");
    expect(session.items).toHaveLength(3);
    expect(session.item(id).sources).toEqual([{ origin: "llm", runId: "run-llm", confidence: 1 }]);
    expect(session.item(id).decision).toBe("accepted");
  });

  it("refuses an empty selection, a selection outside the note and an unknown type", () => {
    const session = new ReviewSession(TEXT, SCHEMA, []);
    expect(() => session.add(10, 11, "Disease")).toThrow(SpanEditError); // one space
    expect(() => session.add(40, 99, "Disease")).toThrow(/outside the note \(46 characters\)/);
    expect(() => session.add(0, 5, "Symptom")).toThrow(/"Symptom" is not a type of this project's schema \(Chemical, Disease\)/);
    expect(session.canUndo).toBe(false);
  });

  it("retypes a candidate: accepted with the new type, its sources and old type kept; the old type counts as rejected", () => {
    const session = new ReviewSession(TEXT, SCHEMA, [llm]);
    const fever = session.items[2];
    session.retype(fever.id, "Chemical");
    expect(session.item(fever.id)).toMatchObject({ type: "Chemical", decision: "accepted", retypedFrom: "Disease" });
    // Back to its first type: no longer a retype.
    session.retype(fever.id, "Disease");
    expect(session.item(fever.id).retypedFrom).toBeUndefined();
    session.retype(fever.id, "Chemical");
    expect(session.result()).toEqual({
      spans: [span(29, 34, "Chemical")],
      provenance: [{ sources: [{ origin: "llm", runId: "run-llm", confidence: 0.4 }], retypedFrom: "Disease" }],
      rejected: [span(29, 34, "Disease")],
      relations: [],
      rejectedRelations: [],
      labels: {},
    });
  });

  it("accepting an accepted span or rejecting a rejected one changes nothing and adds no undo step", () => {
    const session = new ReviewSession(TEXT, SCHEMA, [llm]);
    session.accept(session.items[1].id);
    session.reject(session.items[2].id);
    session.accept(session.items[1].id);
    session.reject(session.items[2].id);
    expect(session.undo()).toBe(true);
    expect(session.undo()).toBe(true);
    expect(session.canUndo).toBe(false);
  });

  it("rejecting a candidate keeps it as rejected; rejecting an added span deletes it", () => {
    const session = new ReviewSession(TEXT, SCHEMA, [llm]);
    session.reject(session.items[0].id);
    expect(decisions(session)[0]).toBe("0-10 Disease rejected");
    const id = session.add(39, 45, "Disease");
    session.reject(id);
    expect(session.items.map((item) => item.id)).not.toContain(id);
    expect(() => session.item(id)).toThrow(SpanEditError);
  });

  it("accept-all takes the most confident first and rejects what overlaps an accepted span; reject-all rejects the rest", () => {
    const session = new ReviewSession(TEXT, SCHEMA, [llm, model]);
    // 0-10 (llm 0.6) and 6-10 (model, no confidence = 1) overlap: the model's is more confident.
    session.acceptAll();
    expect(decisions(session)).toEqual([
      "0-10 Disease rejected",
      "6-10 Disease accepted",
      "17-24 Chemical accepted",
      "29-34 Disease accepted",
    ]);
    session.undo();
    session.accept(session.items[3].id);
    session.rejectAll();
    expect(decisions(session)).toEqual([
      "0-10 Disease rejected",
      "6-10 Disease rejected",
      "17-24 Chemical rejected",
      "29-34 Disease accepted",
    ]);
    expect(session.pendingCount).toBe(0);
  });

  it("a saved review reloads with its decisions, its added spans and their provenance; newer candidates stay pending", () => {
    const first = new ReviewSession(TEXT, SCHEMA, [llm]);
    first.accept(first.items[1].id);
    first.reject(first.items[2].id);
    first.add(39, 45, "Disease");
    const result = first.result();
    expect(result.spans).toEqual([span(17, 24, "Chemical"), span(39, 45, "Disease")]);

    const later = new ReviewSession(TEXT, SCHEMA, [llm, model], {
      spans: result.spans,
      meta: { reviewer: "ana", provenance: result.provenance, rejected: result.rejected },
    });
    expect(decisions(later)).toEqual([
      "0-10 Disease pending",
      "6-10 Disease pending",
      "17-24 Chemical accepted",
      "29-34 Disease rejected",
      "39-45 Disease accepted",
    ]);
    expect(later.items[4].sources).toEqual([]);
    expect(later.dirty).toBe(false);
    // Same spans and decisions; aspirin now also names the model, which found it since.
    expect(later.result().spans).toEqual(result.spans);
    expect(later.result().rejected).toEqual(result.rejected);
    expect(later.result().provenance[0].sources.map((source) => source.origin)).toEqual(["llm", "model"]);
  });

  it("works on Japanese text, where a selection has no spaces to trim", () => {
    const text = "胸痛あり。アスピリン内服中。発熱なし。";
    const session = new ReviewSession(text, SCHEMA, [{ origin: "llm", runId: "r", spans: [span(0, 2, "Disease")] }]);
    const id = session.add(5, 10, "Chemical");
    expect(text.slice(session.item(id).start, session.item(id).end)).toBe("アスピリン");
    session.accept(session.items[0].id);
    expect(session.result().spans).toEqual([span(0, 2, "Disease"), span(5, 10, "Chemical")]);
  });

  it("drops candidate spans that do not fit the note instead of showing them at wrong places", () => {
    const session = new ReviewSession("short", SCHEMA, [{ origin: "import", runId: "", spans: [span(0, 5, "Disease"), span(3, 40, "Disease")] }]);
    expect(decisions(session)).toEqual(["0-5 Disease pending"]);
  });
});
