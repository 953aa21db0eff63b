// The review session beyond spans: attribute values, relations between items and the
// note's document labels, each undoable, and reloaded from a saved review. Expected values
// are worked out by hand from the candidates below.
import { describe, expect, it } from "vitest";
import type { Span } from "../../../src/core/corpus/types.ts";
import { nextAttributeValue, ReviewSession, SpanEditError, type CandidateSet, type ReviewSchema } from "../../../src/core/review/session.ts";

//            0         1         2         3         4
//            0123456789012345678901234567890123456789012345
const TEXT = "Aspirin for chest pain; no fever in the chest.";
const CERTAINTY = { name: "certainty", values: ["positive", "negative", "suspected"], default: "positive" };
const TEMPORALITY = { name: "temporality", values: ["current", "past"] };
const SCHEMA: ReviewSchema = {
  entityTypes: [
    { name: "Drug", color: "#f4a261", definition: "", examples: [] },
    { name: "Finding", color: "#2a9d8f", definition: "", examples: [], attributes: [CERTAINTY, TEMPORALITY] },
    { name: "Anatomy", color: "#e76f51", definition: "", examples: [] },
  ],
  relationTypes: [
    { name: "treats", from: ["Drug"], to: ["Finding"], directed: true },
    { name: "located", from: ["Finding"], to: ["Anatomy"], directed: false },
  ],
  documentLabels: [
    { name: "smoking", values: ["current", "former", "never"], multiple: false },
    { name: "topics", values: ["cardio", "renal", "pulm"], multiple: true },
  ],
};

const ASPIRIN: Span = { start: 0, end: 7, type: "Drug" };
const CHEST_PAIN: Span = { start: 12, end: 22, type: "Finding" };
const FEVER: Span = { start: 27, end: 32, type: "Finding" };
const CHEST: Span = { start: 40, end: 45, type: "Anatomy" };

// The LLM: four spans, aspirin treats chest pain and fever, fever located in the chest.
const llm: CandidateSet = {
  origin: "llm",
  runId: "run-llm",
  spans: [ASPIRIN, { ...CHEST_PAIN, attributes: { temporality: "current" } }, { ...FEVER, attributes: { certainty: "negative" } }, CHEST],
  relations: [
    { type: "treats", from: 0, to: 1 },
    { type: "treats", from: 0, to: 2 },
    { type: "located", from: 2, to: 3 },
  ],
  labels: { smoking: ["never"] },
};
// The model: fever (suspected) and the chest, joined the other way round (located is undirected).
const model: CandidateSet = {
  origin: "model",
  runId: "run-model",
  spans: [{ ...FEVER, attributes: { certainty: "suspected" } }, CHEST],
  relations: [{ type: "located", from: 1, to: 0, confidence: 0.7 }],
  labels: { topics: ["cardio"] },
};

const fresh = () => new ReviewSession(TEXT, SCHEMA, [llm, model]);
const itemAt = (session: ReviewSession, span: Span) => session.items.find((item) => item.start === span.start && item.end === span.end)!;
const words = (session: ReviewSession, id: number) => TEXT.slice(session.item(id).start, session.item(id).end);
/** Relations as "from -type-> to decision", by the words of their items. */
const relations = (session: ReviewSession) => session.relations.map((r) => `${words(session, r.from)} -${r.type}-> ${words(session, r.to)} ${r.decision}`);

describe("ReviewSession attributes", () => {
  it("merges the candidates' values per attribute, the first set's winning", () => {
    const session = fresh();
    expect(itemAt(session, CHEST_PAIN).attributes).toEqual({ temporality: "current" });
    expect(itemAt(session, FEVER).attributes).toEqual({ certainty: "negative" }); // llm before model
    expect(itemAt(session, ASPIRIN).attributes).toEqual({});
  });

  it("cycles a value through the values; with a default it never passes 'no value', without one it does", () => {
    expect(nextAttributeValue(CERTAINTY, "positive")).toBe("negative");
    expect(nextAttributeValue(CERTAINTY, "suspected")).toBe("positive");
    expect(nextAttributeValue(TEMPORALITY, undefined)).toBe("current");
    expect(nextAttributeValue(TEMPORALITY, "past")).toBeUndefined();
  });

  it("cycling accepts the item and stores only values other than the default; undo and redo step through", () => {
    const session = fresh();
    const fever = itemAt(session, FEVER).id;
    session.cycleAttribute(fever, "certainty"); // negative -> suspected
    expect(session.item(fever)).toMatchObject({ decision: "accepted", attributes: { certainty: "suspected" } });
    session.cycleAttribute(fever, "certainty"); // suspected -> positive, the default: not stored
    expect(session.item(fever).attributes).toEqual({});
    session.cycleAttribute(fever, "temporality"); // none -> current
    expect(session.item(fever).attributes).toEqual({ temporality: "current" });
    expect(session.result().spans).toEqual([{ ...FEVER, attributes: { temporality: "current" } }]);

    session.undo();
    expect(session.item(fever).attributes).toEqual({});
    session.undo();
    expect(session.item(fever).attributes).toEqual({ certainty: "suspected" });
    session.undo();
    expect(session.item(fever)).toMatchObject({ decision: "pending", attributes: { certainty: "negative" } });
    expect(session.canUndo).toBe(false);
    session.redo();
    expect(session.item(fever).attributes).toEqual({ certainty: "suspected" });
  });

  it("sets a value directly, refuses values and attributes the schema does not have, and adds no step for no change", () => {
    const session = fresh();
    const fever = itemAt(session, FEVER).id;
    session.setAttribute(fever, "certainty", "negative"); // the value it has: only accepts it
    expect(session.item(fever)).toMatchObject({ decision: "accepted", attributes: { certainty: "negative" } });
    session.setAttribute(fever, "certainty", "negative");
    expect(() => session.setAttribute(fever, "certainty", "likely")).toThrow(/"likely" is not a value of the attribute "certainty" \(positive, negative, suspected\)/);
    expect(() => session.setAttribute(itemAt(session, ASPIRIN).id, "certainty", "negative")).toThrow(SpanEditError);
    expect(() => session.cycleAttribute(itemAt(session, ASPIRIN).id, "certainty")).toThrow(/Drug has no attribute "certainty" .*it has none/);
    session.undo();
    expect(session.canUndo).toBe(false);
    session.redo();
    session.setAttribute(fever, "certainty", undefined); // back to the default
    expect(session.item(fever).attributes).toEqual({});
  });

  it("retyping keeps the values the new type also has and drops the others; undo brings them back", () => {
    const session = fresh();
    const fever = itemAt(session, FEVER).id;
    session.retype(fever, "Anatomy");
    expect(session.item(fever).attributes).toEqual({});
    session.undo();
    expect(session.item(fever).attributes).toEqual({ certainty: "negative" });
  });
});

describe("ReviewSession relations", () => {
  it("proposes the candidates' relations pending, one per pair and type with every source (undirected either way)", () => {
    const session = fresh();
    expect(relations(session)).toEqual([
      "Aspirin -treats-> chest pain pending",
      "Aspirin -treats-> fever pending",
      "fever -located-> chest pending",
    ]);
    expect(session.relations[2].sources).toEqual([
      { origin: "llm", runId: "run-llm" },
      { origin: "model", runId: "run-model", confidence: 0.7 },
    ]);
    // Nothing accepted yet: no span, so no relation in the result.
    expect(session.result().relations).toEqual([]);
  });

  it("keeps a pending relation between accepted items, drops a rejected one and those of a rejected item", () => {
    const session = fresh();
    session.acceptAll();
    // Spans in text order: Aspirin 0, chest pain 1, fever 2, chest 3.
    expect(session.result().relations).toEqual([
      { type: "treats", from: 0, to: 1 },
      { type: "treats", from: 0, to: 2 },
      { type: "located", from: 2, to: 3 },
    ]);
    session.rejectRelation(session.relations[1].id); // Aspirin -treats-> fever
    session.reject(itemAt(session, CHEST_PAIN).id); // and chest pain with its relation
    // Spans now: Aspirin 0, fever 1, chest 2.
    const result = session.result();
    expect(result.spans.map((span) => TEXT.slice(span.start, span.end))).toEqual(["Aspirin", "fever", "chest"]);
    expect(result.relations).toEqual([{ type: "located", from: 1, to: 2 }]);
    expect(result.rejectedRelations).toEqual([{ type: "treats", from: ASPIRIN, to: FEVER }]);
    // Undo twice: both relations are back.
    session.undo();
    session.undo();
    expect(session.result().relations).toHaveLength(3);
  });

  it("adds a relation between two items, accepting them, and lists the relation types that fit a pair", () => {
    const session = fresh();
    const [aspirin, fever, chest] = [itemAt(session, ASPIRIN).id, itemAt(session, FEVER).id, itemAt(session, CHEST).id];
    expect(session.relationTypesBetween(aspirin, fever)).toEqual(["treats"]);
    expect(session.relationTypesBetween(fever, aspirin)).toEqual([]);
    expect(session.relationTypesBetween(chest, fever)).toEqual(["located"]); // undirected: either way
    const hip = session.add(40, 45, "Finding"); // "chest" again, as a finding: rejects the pending Anatomy there
    const id = session.addRelation("treats", aspirin, hip);
    expect(session.relation(id)).toMatchObject({ type: "treats", from: aspirin, to: hip, sources: [], decision: "accepted" });
    expect(session.item(aspirin).decision).toBe("accepted");
    expect(session.result().relations).toEqual([{ type: "treats", from: 0, to: 1 }]);
    // Deleting the added span deletes its relation; undo brings both back.
    session.reject(hip);
    expect(session.relations.some((relation) => relation.id === id)).toBe(false);
    session.undo();
    expect(session.relation(id).to).toBe(hip);
  });

  it("adding a relation that is proposed accepts the proposal (also the other way round when undirected)", () => {
    const session = fresh();
    const [fever, chest] = [itemAt(session, FEVER).id, itemAt(session, CHEST).id];
    const proposed = session.relations[2].id;
    expect(session.addRelation("located", chest, fever)).toBe(proposed);
    expect(session.relation(proposed).decision).toBe("accepted");
    expect(session.relations).toHaveLength(3);
    expect([session.item(fever).decision, session.item(chest).decision]).toEqual(["accepted", "accepted"]);
    // One step: undo makes all three pending again.
    session.undo();
    expect(session.relation(proposed).decision).toBe("pending");
    expect(session.item(fever).decision).toBe("pending");
  });

  it("refuses a relation type the schema lacks, one that does not fit the pair, and a span joined to itself", () => {
    const session = fresh();
    const [aspirin, fever] = [itemAt(session, ASPIRIN).id, itemAt(session, FEVER).id];
    expect(() => session.addRelation("causes", aspirin, fever)).toThrow(/"causes" is not a relation type of this project's schema \(treats, located\)/);
    expect(() => session.addRelation("treats", fever, aspirin)).toThrow("A treats relation goes from Drug to Finding, not from Finding to Drug.");
    expect(() => session.addRelation("treats", aspirin, aspirin)).toThrow(SpanEditError);
    expect(session.canUndo).toBe(false);
  });

  it("relations follow their items when the items are retyped", () => {
    const session = fresh();
    session.acceptAll();
    session.retype(itemAt(session, CHEST_PAIN).id, "Anatomy");
    expect(relations(session)[0]).toBe("Aspirin -treats-> chest pain pending");
    expect(session.result().spans[1]).toEqual({ ...CHEST_PAIN, type: "Anatomy" });
    expect(session.result().relations[0]).toEqual({ type: "treats", from: 0, to: 1 });
  });

  it("rejecting a relation the reviewer added deletes it; accepting a relation accepts its items", () => {
    const session = fresh();
    const [aspirin, chestPain] = [itemAt(session, ASPIRIN).id, itemAt(session, CHEST_PAIN).id];
    session.reject(aspirin);
    session.acceptRelation(session.relations[0].id);
    expect([session.item(aspirin).decision, session.item(chestPain).decision, session.relations[0].decision]).toEqual(["accepted", "accepted", "accepted"]);
    const fever = itemAt(session, FEVER).id;
    session.rejectRelation(session.relations[1].id); // a proposal: kept, rejected
    const added = session.addRelation("treats", aspirin, fever);
    expect(added).toBe(session.relations[1].id); // the rejected proposal, accepted again
    session.undo();
    expect(session.relations[1].decision).toBe("rejected");
  });
});

describe("ReviewSession document labels", () => {
  it("start as the first candidate set's that has any (import, LLM, model), and each set's are listed", () => {
    const session = fresh();
    expect(session.labels).toEqual({ smoking: ["never"] });
    expect(session.proposedLabels).toEqual([
      { origin: "llm", labels: { smoking: ["never"] } },
      { origin: "model", labels: { topics: ["cardio"] } },
    ]);
    const imported: CandidateSet = { origin: "import", runId: "", spans: [], labels: { smoking: ["former"] } };
    expect(new ReviewSession(TEXT, SCHEMA, [llm, model, imported]).labels).toEqual({ smoking: ["former"] });
  });

  it("sets one value of a single-choice label and several of a multiple-choice one (in schema order); undo steps back", () => {
    const session = fresh();
    session.setLabel("smoking", "current");
    expect(session.labels).toEqual({ smoking: ["current"] });
    session.toggleLabel("topics", "pulm");
    session.toggleLabel("topics", "cardio");
    expect(session.labels).toEqual({ smoking: ["current"], topics: ["cardio", "pulm"] });
    session.toggleLabel("topics", "pulm");
    session.clearLabel("smoking");
    expect(session.labels).toEqual({ topics: ["cardio"] });
    expect(session.result().labels).toEqual({ topics: ["cardio"] });
    session.undo();
    session.undo();
    expect(session.labels).toEqual({ smoking: ["current"], topics: ["cardio", "pulm"] });
    session.toggleLabel("smoking", "current"); // a chosen single value toggled: cleared
    expect(session.labels).toEqual({ topics: ["cardio", "pulm"] });
  });

  it("refuses labels and values the schema does not have, and adds no step for no change", () => {
    const session = fresh();
    expect(() => session.setLabel("stage", "II")).toThrow(/"stage" is not a document label of this project's schema \(smoking, topics\)/);
    expect(() => session.setLabel("smoking", "daily")).toThrow(/"daily" is not a value of the document label "smoking" \(current, former, never\)/);
    session.setLabel("smoking", "never");
    session.clearLabel("topics");
    session.unsetLabel("smoking", "current");
    expect(session.canUndo).toBe(false);
  });
});

describe("ReviewSession reloaded from a saved review", () => {
  it("comes back with the same attributes, relations (accepted, rejected, added) and labels, and saves the same", () => {
    const first = fresh();
    first.acceptAll();
    first.cycleAttribute(itemAt(first, FEVER).id, "certainty"); // negative -> suspected
    first.rejectRelation(first.relations[1].id); // Aspirin -treats-> fever
    first.retype(itemAt(first, CHEST_PAIN).id, "Anatomy");
    const chestOfPain = first.add(12, 17, "Anatomy"); // "chest" of chest pain
    first.addRelation("located", itemAt(first, FEVER).id, chestOfPain);
    first.setLabel("topics", "renal");
    const result = first.result();
    // Spans by start, then end: Aspirin 0, chest (12-17) 1, chest pain (Anatomy) 2, fever 3, chest 4.
    expect(result.relations).toEqual([
      { type: "treats", from: 0, to: 2 },
      { type: "located", from: 3, to: 4 },
      { type: "located", from: 3, to: 1 },
    ]);
    expect(result.labels).toEqual({ smoking: ["never"], topics: ["renal"] });

    const later = new ReviewSession(TEXT, SCHEMA, [llm, model], {
      spans: result.spans,
      relations: result.relations,
      labels: result.labels,
      meta: { reviewer: "ana", provenance: result.provenance, rejected: result.rejected, rejectedRelations: result.rejectedRelations },
    });
    expect(later.dirty).toBe(false);
    expect(relations(later)).toEqual([
      "Aspirin -treats-> chest pain accepted",
      "Aspirin -treats-> fever rejected",
      "fever -located-> chest accepted",
      "fever -located-> chest accepted",
    ]);
    expect(later.relations[3].sources).toEqual([]);
    expect(itemAt(later, FEVER).attributes).toEqual({ certainty: "suspected" });
    expect(later.labels).toEqual({ smoking: ["never"], topics: ["renal"] });
    expect(later.result()).toEqual(result);
  });

  it("a saved review without labels keeps none, even when a candidate proposes some", () => {
    const session = new ReviewSession(TEXT, SCHEMA, [llm, model], { spans: [ASPIRIN], meta: { reviewer: "ana", provenance: [{ sources: [] }], rejected: [] } });
    expect(session.labels).toEqual({});
  });
});
