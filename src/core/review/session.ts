// An edit session over one note's annotation (spans with their attributes, relations between
// them, the note's document labels): what a reviewer does to turn machine candidates
// (LLM, model, imported) into a person's annotation. Pure: no store, no DOM; the UI holds
// one session per open note and saves `result()` as the note's human row.
//
// Choices:
// - Candidates with the same start, end and type from several annotators are ONE item
//   with several sources (an LLM span the model also found is accepted once). Candidates
//   that only overlap stay separate items, each with its own provenance.
// - Accepting an item (or adding one) rejects the PENDING items that overlap it: they are
//   other answers for the same words. Accepted items are never changed behind the
//   reviewer's back; two overlapping accepted spans stay until one is deleted.
// - Accept-all takes pending items most confident first (then longer first), skipping
//   any that overlaps one already accepted: those are rejected.
// - Rejecting a span the reviewer added removes it; rejecting a candidate keeps it as
//   "rejected" so the screen still shows (greyed) what the machine proposed.
// - Retyping accepts the item with its new type and keeps its sources and the old type.
// - Attributes: an item holds its values other than the attribute's default (as stored
//   spans do); candidates' values merge per attribute, the first candidate set that gives
//   one wins. Changing an attribute accepts the item, like retyping; retyping keeps the
//   values the new type also has.
// - Relations join items by id, so they follow an item that is retyped. Candidates'
//   relations start pending (the same relation from several annotators is one, with
//   several sources). A relation is kept in the result unless it is rejected or one of its
//   items is not accepted: a pending relation between two accepted items is kept, which is
//   what reviews did before relations could be reviewed. Adding or accepting a relation
//   accepts its two items; deleting an item deletes its relations.
// - Document labels start as the saved review's, else as the first candidate set's (import,
//   then LLM, then model) that has any; the reviewer sets and clears values.
// - Every operation replaces the snapshot (items, relations, labels) and never mutates it,
//   so undo and redo are stacks of earlier snapshots.

import type { DocumentLabels, Relation, Span } from "../corpus/types.ts";
import { AppError } from "../errors.ts";
import type { AttributeDef, TaskSchema } from "../schema/types.ts";
import { isDirected } from "../schema/validate.ts";
import type { AnnotationOrigin, RejectedRelation, ReviewMeta, SpanSource } from "../store/db.ts";

export type Decision = "pending" | "accepted" | "rejected";

/** The parts of a project's schema a review edits. */
export type ReviewSchema = Pick<TaskSchema, "entityTypes" | "relationTypes" | "documentLabels">;

export interface ReviewItem {
  id: number;
  start: number;
  end: number;
  type: string;
  /** Who proposed it; [] for a span the reviewer added. */
  sources: readonly SpanSource[];
  decision: Decision;
  /** The type the candidate had before the reviewer changed it. */
  retypedFrom?: string;
  /** Attribute values other than the attribute's default (a missing one has the default). */
  attributes: Readonly<Record<string, string>>;
}

/** A relation between two items of the session (by item id). */
export interface ReviewRelation {
  id: number;
  type: string;
  from: number;
  to: number;
  /** Who proposed it; [] for one the reviewer added. */
  sources: readonly SpanSource[];
  decision: Decision;
}

/** One annotator's annotation of the note, as stored. */
export interface CandidateSet {
  origin: Exclude<AnnotationOrigin, "human">;
  runId: string;
  spans: readonly Span[];
  /** Relations between `spans` (indexes into it). */
  relations?: readonly Relation[];
  labels?: DocumentLabels;
}

/** A review saved earlier by the same reviewer: its row's spans, relations, labels and meta. */
export interface SavedReview {
  spans: readonly Span[];
  relations?: readonly Relation[];
  labels?: DocumentLabels;
  meta?: ReviewMeta;
}

export interface ReviewResult {
  spans: Span[];
  provenance: ReviewMeta["provenance"];
  rejected: Span[];
  /** Relations between `spans` (indexes into it). */
  relations: Relation[];
  rejectedRelations: RejectedRelation[];
  labels: DocumentLabels;
}

/** A selection, type, attribute, relation or label the session cannot take; says which and why. */
export class SpanEditError extends AppError {
  override name = "SpanEditError";
}

/** What undo and redo step through: every operation makes a new one. */
interface Snapshot {
  items: readonly ReviewItem[];
  relations: readonly ReviewRelation[];
  labels: Readonly<DocumentLabels>;
}

const keyOf = (span: { start: number; end: number; type: string }) => `${span.start}:${span.end}:${span.type}`;
const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) => a.start < b.end && b.start < a.end;
const byPosition = (a: ReviewItem, b: ReviewItem) => a.start - b.start || a.end - b.end || a.id - b.id;
/** The span a candidate item was proposed as (its type before any retype). */
const candidateSpan = (item: ReviewItem): Span => ({ start: item.start, end: item.end, type: item.retypedFrom ?? item.type });
const CANDIDATE_LABEL_ORDER: readonly CandidateSet["origin"][] = ["import", "llm", "model"];

/** The highest confidence any source gave (1 when a source gave none: a greedy answer or an import). */
export function itemConfidence(item: ReviewItem): number | undefined {
  if (item.sources.length === 0) return undefined;
  return Math.max(...item.sources.map((source) => source.confidence ?? 1));
}

/** The value an item has for an attribute: its own, else the default (undefined: none). */
export function attributeValue(item: Pick<ReviewItem, "attributes">, attribute: AttributeDef): string | undefined {
  return item.attributes[attribute.name] ?? attribute.default;
}

/**
 * The value after `current` when an attribute is cycled: the values in order, wrapping; an
 * attribute without a default also passes through "no value" after its last value.
 */
export function nextAttributeValue(attribute: AttributeDef, current: string | undefined): string | undefined {
  const cycle: (string | undefined)[] = attribute.default === undefined ? [...attribute.values, undefined] : [...attribute.values];
  const at = cycle.indexOf(current);
  return cycle[(at + 1) % cycle.length];
}

export class ReviewSession {
  readonly types: readonly string[];
  private state: Snapshot;
  private past: Snapshot[] = [];
  private future: Snapshot[] = [];
  private nextId = 1;
  /** The snapshot as last saved (or loaded): `dirty` compares against it. */
  private savedState: Snapshot;
  /** Each candidate set's document labels, for the screen to show what was proposed. */
  readonly proposedLabels: readonly { origin: CandidateSet["origin"]; labels: DocumentLabels }[];

  constructor(
    readonly text: string,
    readonly schema: ReviewSchema,
    candidates: readonly CandidateSet[],
    saved?: SavedReview,
  ) {
    this.types = schema.entityTypes.map((type) => type.name);
    this.proposedLabels = candidates.filter((set) => set.labels && Object.keys(set.labels).length > 0).map((set) => ({ origin: set.origin, labels: set.labels! }));
    this.state = this.initialState(candidates, saved);
    this.savedState = this.state;
  }

  /** Items in text order (start, then end). */
  get items(): readonly ReviewItem[] {
    return this.state.items;
  }

  /** Relations, candidates' first (in the order proposed), then the reviewer's in the order added. */
  get relations(): readonly ReviewRelation[] {
    return this.state.relations;
  }

  get labels(): Readonly<DocumentLabels> {
    return this.state.labels;
  }

  get canUndo(): boolean {
    return this.past.length > 0;
  }

  get canRedo(): boolean {
    return this.future.length > 0;
  }

  /** Whether the annotation differs from what was loaded or last saved. */
  get dirty(): boolean {
    return this.state !== this.savedState;
  }

  get pendingCount(): number {
    return this.state.items.filter((item) => item.decision === "pending").length;
  }

  item(id: number): ReviewItem {
    const found = this.state.items.find((item) => item.id === id);
    if (!found) throw new SpanEditError(`No span with id ${id} in this note: it may have been undone.`);
    return found;
  }

  relation(id: number): ReviewRelation {
    const found = this.state.relations.find((relation) => relation.id === id);
    if (!found) throw new SpanEditError(`No relation with id ${id} in this note: it may have been undone.`);
    return found;
  }

  /** The schema's attributes of an entity type ([] for a type without any). */
  attributesOf(type: string): readonly AttributeDef[] {
    return this.schema.entityTypes.find((entityType) => entityType.name === type)?.attributes ?? [];
  }

  // --- spans -----------------------------------------------------------------------------

  /**
   * Adds a span of `type` over a selection [start, end), trimmed of surrounding white
   * space. A candidate with the same boundaries and type is accepted instead. Returns the
   * id of the accepted item.
   */
  add(start: number, end: number, type: string): number {
    this.checkType(type);
    const [from, to] = this.trimmed(Math.min(start, end), Math.max(start, end));
    const same = this.state.items.find((item) => item.start === from && item.end === to && item.type === type);
    if (same) {
      if (same.decision !== "accepted") this.accept(same.id);
      return same.id;
    }
    const added: ReviewItem = { id: this.nextId++, start: from, end: to, type, sources: [], decision: "accepted", attributes: {} };
    this.commit({ items: this.rejectPendingOverlapping([...this.state.items, added], added) });
    return added.id;
  }

  accept(id: number): void {
    if (this.item(id).decision === "accepted") return;
    this.commit({ items: this.withAccepted(this.state.items, id) });
  }

  /** Rejects a candidate (kept, greyed) or deletes a span the reviewer added (and its relations). */
  reject(id: number): void {
    const target = this.item(id);
    if (target.decision === "rejected") return;
    if (target.sources.length === 0) this.commit({ items: this.state.items.filter((item) => item.id !== id) });
    else this.commit({ items: this.replace({ ...target, decision: "rejected" }) });
  }

  retype(id: number, type: string): void {
    this.checkType(type);
    const target = this.item(id);
    if (target.type === type && target.decision === "accepted") return;
    const original = target.retypedFrom ?? target.type;
    const changed: ReviewItem = { ...target, type, decision: "accepted", attributes: this.attributesKept(target.attributes, type) };
    if (target.sources.length > 0 && original !== type) changed.retypedFrom = original;
    else delete changed.retypedFrom;
    this.commit({ items: this.rejectPendingOverlapping(this.replace(changed), changed) });
  }

  /** Accepts every pending candidate that overlaps no accepted span; the others are rejected. */
  acceptAll(): void {
    const pending = this.state.items.filter((item) => item.decision === "pending");
    if (pending.length === 0) return;
    const order = [...pending].sort(
      (a, b) => (itemConfidence(b) ?? 1) - (itemConfidence(a) ?? 1) || b.end - b.start - (a.end - a.start) || byPosition(a, b),
    );
    const accepted = this.state.items.filter((item) => item.decision === "accepted");
    const decided = new Map<number, Decision>();
    for (const item of order) {
      const clash = accepted.some((other) => overlaps(other, item));
      decided.set(item.id, clash ? "rejected" : "accepted");
      if (!clash) accepted.push(item);
    }
    this.commit({ items: this.state.items.map((item) => (decided.has(item.id) ? { ...item, decision: decided.get(item.id)! } : item)) });
  }

  rejectAll(): void {
    if (this.pendingCount === 0) return;
    this.commit({ items: this.state.items.map((item) => (item.decision === "pending" ? { ...item, decision: "rejected" as const } : item)) });
  }

  // --- attributes ------------------------------------------------------------------------

  /** Sets an attribute of an item (undefined: back to the default, or no value); accepts the item. */
  setAttribute(id: number, name: string, value: string | undefined): void {
    const target = this.item(id);
    const attribute = this.attributeDef(target.type, name);
    if (value !== undefined && !attribute.values.includes(value)) {
      throw new SpanEditError(`"${value}" is not a value of the attribute "${name}" (${attribute.values.join(", ")}).`);
    }
    const attributes = { ...target.attributes };
    if (value === undefined || value === attribute.default) delete attributes[name];
    else attributes[name] = value;
    if (target.decision === "accepted" && attributes[name] === target.attributes[name]) return;
    const changed: ReviewItem = { ...target, attributes, decision: "accepted" };
    this.commit({ items: this.rejectPendingOverlapping(this.replace(changed), changed) });
  }

  /** Moves an attribute of an item to its next value (see nextAttributeValue); accepts the item. */
  cycleAttribute(id: number, name: string): void {
    const target = this.item(id);
    const attribute = this.attributeDef(target.type, name);
    this.setAttribute(id, name, nextAttributeValue(attribute, attributeValue(target, attribute)));
  }

  // --- relations -------------------------------------------------------------------------

  /** The schema's relation types that may join these two items in this order (or either order when undirected). */
  relationTypesBetween(fromId: number, toId: number): string[] {
    const [from, to] = [this.item(fromId), this.item(toId)];
    const fits = (a: ReviewItem, b: ReviewItem, type: ReviewSchema["relationTypes"][number]) => type.from.includes(a.type) && type.to.includes(b.type);
    return this.schema.relationTypes.filter((type) => fits(from, to, type) || (!type.directed && fits(to, from, type))).map((type) => type.name);
  }

  /**
   * Adds a relation of `type` from one item to another and accepts both items. The same
   * relation already proposed is accepted instead. Returns the relation's id.
   */
  addRelation(type: string, fromId: number, toId: number): number {
    if (fromId === toId) throw new SpanEditError("A relation joins two different spans: choose another span as its target.");
    if (!this.schema.relationTypes.some((relationType) => relationType.name === type)) {
      const names = this.schema.relationTypes.map((relationType) => relationType.name);
      throw new SpanEditError(`"${type}" is not a relation type of this project's schema (${names.join(", ") || "no relation types yet"}).`);
    }
    const [from, to] = [this.item(fromId), this.item(toId)];
    if (!this.relationTypesBetween(fromId, toId).includes(type)) {
      const relationType = this.schema.relationTypes.find((relationType) => relationType.name === type)!;
      throw new SpanEditError(
        `A ${type} relation goes from ${relationType.from.join(" or ")} to ${relationType.to.join(" or ")}${relationType.directed ? "" : " (either way)"}, ` +
          `not from ${from.type} to ${to.type}.`,
      );
    }
    const key = this.relationKey(type, fromId, toId);
    const same = this.state.relations.find((relation) => this.relationKey(relation.type, relation.from, relation.to) === key);
    if (same) {
      this.acceptRelation(same.id);
      return same.id;
    }
    const added: ReviewRelation = { id: this.nextId++, type, from: fromId, to: toId, sources: [], decision: "accepted" };
    this.commit({ items: this.withAccepted(this.withAccepted(this.state.items, fromId), toId), relations: [...this.state.relations, added] });
    return added.id;
  }

  /** Accepts a relation and its two items. */
  acceptRelation(id: number): void {
    const target = this.relation(id);
    const items = this.withAccepted(this.withAccepted(this.state.items, target.from), target.to);
    if (target.decision === "accepted" && items === this.state.items) return;
    this.commit({ items, relations: this.state.relations.map((relation) => (relation.id === id ? { ...relation, decision: "accepted" as const } : relation)) });
  }

  /** Rejects a proposed relation (kept, greyed) or deletes one the reviewer added. */
  rejectRelation(id: number): void {
    const target = this.relation(id);
    if (target.decision === "rejected") return;
    const relations =
      target.sources.length === 0
        ? this.state.relations.filter((relation) => relation.id !== id)
        : this.state.relations.map((relation) => (relation.id === id ? { ...relation, decision: "rejected" as const } : relation));
    this.commit({ relations });
  }

  // --- document labels -------------------------------------------------------------------

  /** Chooses a value of a label: the only one for a single-choice label, one more for a multiple-choice one. */
  setLabel(name: string, value: string): void {
    const label = this.labelDef(name, value);
    const current = this.state.labels[name] ?? [];
    if (current.includes(value) && (label.multiple || current.length === 1)) return;
    const values = label.multiple ? label.values.filter((option) => option === value || current.includes(option)) : [value];
    this.commit({ labels: { ...this.state.labels, [name]: values } });
  }

  /** Takes a value of a label away. */
  unsetLabel(name: string, value: string): void {
    this.labelDef(name, value);
    const current = this.state.labels[name] ?? [];
    if (!current.includes(value)) return;
    this.commitLabel(name, current.filter((option) => option !== value));
  }

  /** Sets a value that is not chosen, takes away one that is. */
  toggleLabel(name: string, value: string): void {
    if ((this.state.labels[name] ?? []).includes(value)) this.unsetLabel(name, value);
    else this.setLabel(name, value);
  }

  /** Takes every value of a label away. */
  clearLabel(name: string): void {
    if (!(name in this.state.labels)) return;
    this.commitLabel(name, []);
  }

  // --- history ---------------------------------------------------------------------------

  undo(): boolean {
    const previous = this.past.pop();
    if (!previous) return false;
    this.future.push(this.state);
    this.state = previous;
    return true;
  }

  redo(): boolean {
    const next = this.future.pop();
    if (!next) return false;
    this.past.push(this.state);
    this.state = next;
    return true;
  }

  /** Call after the result was stored: `dirty` is false until the next change. */
  markSaved(): void {
    this.savedState = this.state;
  }

  /**
   * What is stored: accepted spans (exact duplicates once) with their attributes and
   * provenance, the rejected candidates, the relations kept between those spans (once), the
   * rejected candidate relations, and the labels.
   */
  result(): ReviewResult {
    const spans: Span[] = [];
    const provenance: ReviewMeta["provenance"] = [];
    const rejected: Span[] = [];
    const indexOfKey = new Map<string, number>();
    const indexOfItem = new Map<number, number>();
    for (const item of this.state.items) {
      if (item.decision === "accepted") {
        if (!indexOfKey.has(keyOf(item))) {
          indexOfKey.set(keyOf(item), spans.length);
          spans.push({ start: item.start, end: item.end, type: item.type, ...(Object.keys(item.attributes).length > 0 ? { attributes: { ...item.attributes } } : {}) });
          provenance.push({ sources: [...item.sources], ...(item.retypedFrom !== undefined ? { retypedFrom: item.retypedFrom } : {}) });
        }
        indexOfItem.set(item.id, indexOfKey.get(keyOf(item))!);
      }
      if (item.decision === "rejected") rejected.push({ start: item.start, end: item.end, type: item.type });
      if (item.decision === "accepted" && item.retypedFrom !== undefined) rejected.push({ start: item.start, end: item.end, type: item.retypedFrom });
    }
    return { spans, provenance, rejected, ...this.relationsResult(indexOfItem), labels: structuredClone(this.state.labels) as DocumentLabels };
  }

  // --- internals --------------------------------------------------------------------------

  private relationsResult(indexOfItem: ReadonlyMap<number, number>): Pick<ReviewResult, "relations" | "rejectedRelations"> {
    const relations: Relation[] = [];
    const rejectedRelations: RejectedRelation[] = [];
    const seen = new Set<string>();
    for (const relation of this.state.relations) {
      if (relation.decision === "rejected") {
        if (relation.sources.length > 0) rejectedRelations.push({ type: relation.type, from: candidateSpan(this.item(relation.from)), to: candidateSpan(this.item(relation.to)) });
        continue;
      }
      const [from, to] = [indexOfItem.get(relation.from), indexOfItem.get(relation.to)];
      // Not kept: an item not accepted, or two items that are one span (a retype made them equal).
      if (from === undefined || to === undefined || from === to) continue;
      const key = this.relationKey(relation.type, from, to);
      if (seen.has(key)) continue;
      seen.add(key);
      relations.push({ type: relation.type, from, to });
    }
    return { relations, rejectedRelations };
  }

  private initialState(candidates: readonly CandidateSet[], saved?: SavedReview): Snapshot {
    const byKey = new Map<string, ReviewItem & { attributes: Record<string, string> }>();
    // Per candidate set, the item each of its spans became (undefined: dropped, outside the note).
    const itemsOfSets = candidates.map((set) =>
      set.spans.map((span) => {
        if (!(span.start >= 0 && span.end <= this.text.length && span.start < span.end)) return undefined;
        const source: SpanSource = { origin: set.origin, runId: set.runId, ...(span.confidence !== undefined ? { confidence: span.confidence } : {}) };
        let item = byKey.get(keyOf(span));
        if (item) item.sources = [...item.sources, source];
        else {
          item = { id: this.nextId++, start: span.start, end: span.end, type: span.type, sources: [source], decision: "pending", attributes: {} };
          byKey.set(keyOf(span), item);
        }
        for (const [name, value] of Object.entries(span.attributes ?? {})) item.attributes[name] ??= value;
        return item;
      }),
    );
    const relations = this.candidateRelations(candidates, itemsOfSets);
    let labels: DocumentLabels = {};
    if (saved) {
      const savedItems = this.applySaved(byKey, saved);
      this.applySavedRelations(relations, byKey, savedItems, saved);
      labels = structuredClone(saved.labels ?? {});
    } else {
      const first = CANDIDATE_LABEL_ORDER.map((origin) => this.proposedLabels.find((proposal) => proposal.origin === origin)).find((proposal) => proposal !== undefined);
      labels = structuredClone(first?.labels ?? {});
    }
    return { items: [...byKey.values()].sort(byPosition), relations, labels };
  }

  /** The candidates' relations between items, pending; one per type and pair of items, with every source. */
  private candidateRelations(candidates: readonly CandidateSet[], itemsOfSets: readonly (ReviewItem | undefined)[][]): ReviewRelation[] {
    const byKey = new Map<string, ReviewRelation>();
    candidates.forEach((set, setIndex) => {
      for (const relation of set.relations ?? []) {
        const [from, to] = [itemsOfSets[setIndex][relation.from], itemsOfSets[setIndex][relation.to]];
        if (!from || !to || from === to) continue;
        const source: SpanSource = { origin: set.origin, runId: set.runId, ...(relation.confidence !== undefined ? { confidence: relation.confidence } : {}) };
        const key = this.relationKey(relation.type, from.id, to.id);
        const existing = byKey.get(key);
        if (existing) existing.sources = [...existing.sources, source];
        else byKey.set(key, { id: this.nextId++, type: relation.type, from: from.id, to: to.id, sources: [source], decision: "pending" });
      }
    });
    return [...byKey.values()];
  }

  /**
   * Decisions of an earlier review: its spans accepted (with its attribute values), its
   * rejected spans rejected, candidates new since then pending. Returns the item each saved
   * span became, by the span's index.
   */
  private applySaved(byKey: Map<string, ReviewItem>, saved: SavedReview): (ReviewItem | undefined)[] {
    const rejected = new Set((saved.meta?.rejected ?? []).map(keyOf));
    for (const item of byKey.values()) if (rejected.has(keyOf(item))) item.decision = "rejected";
    return saved.spans.map((span, index) => {
      const provenance = saved.meta?.provenance[index];
      const attributes = { ...(span.attributes ?? {}) };
      const candidate = byKey.get(keyOf(span));
      if (candidate) {
        Object.assign(candidate, { decision: "accepted", attributes });
        return candidate;
      }
      // A retyped candidate is one item again: the candidate, accepted under its new type.
      const original = provenance?.retypedFrom !== undefined ? byKey.get(keyOf({ ...span, type: provenance.retypedFrom })) : undefined;
      if (original) {
        byKey.delete(keyOf(original));
        Object.assign(original, { type: span.type, decision: "accepted", retypedFrom: provenance!.retypedFrom, attributes });
        byKey.set(keyOf(original), original);
        return original;
      }
      if (!(span.start >= 0 && span.end <= this.text.length && span.start < span.end)) return undefined;
      const item: ReviewItem = { id: this.nextId++, start: span.start, end: span.end, type: span.type, sources: provenance?.sources ?? [], decision: "accepted", attributes };
      if (provenance?.retypedFrom !== undefined) item.retypedFrom = provenance.retypedFrom;
      byKey.set(keyOf(span), item);
      return item;
    });
  }

  /** The saved review's relations accepted (added where no candidate proposed them), its rejected ones rejected. */
  private applySavedRelations(relations: ReviewRelation[], items: ReadonlyMap<string, ReviewItem>, savedItems: readonly (ReviewItem | undefined)[], saved: SavedReview): void {
    const byKey = new Map(relations.map((relation) => [this.relationKey(relation.type, relation.from, relation.to), relation]));
    for (const relation of saved.relations ?? []) {
      const [from, to] = [savedItems[relation.from], savedItems[relation.to]];
      if (!from || !to || from === to) continue;
      const candidate = byKey.get(this.relationKey(relation.type, from.id, to.id));
      if (candidate) candidate.decision = "accepted";
      else relations.push({ id: this.nextId++, type: relation.type, from: from.id, to: to.id, sources: [], decision: "accepted" });
    }
    const named = (type: string, from: Span, to: Span) => `${type}|${keyOf(from)}|${keyOf(to)}`;
    const rejected = new Set((saved.meta?.rejectedRelations ?? []).map((relation) => named(relation.type, relation.from, relation.to)));
    if (rejected.size === 0) return;
    const itemById = new Map([...items.values()].map((item) => [item.id, item]));
    for (const relation of relations) {
      if (relation.decision !== "pending") continue;
      const [from, to] = [candidateSpan(itemById.get(relation.from)!), candidateSpan(itemById.get(relation.to)!)];
      const either = !isDirected(this.schema.relationTypes, relation.type) && rejected.has(named(relation.type, to, from));
      if (rejected.has(named(relation.type, from, to)) || either) relation.decision = "rejected";
    }
  }

  private relationKey(type: string, from: number, to: number): string {
    const [a, b] = isDirected(this.schema.relationTypes, type) ? [from, to] : [Math.min(from, to), Math.max(from, to)];
    return `${type}:${a}:${b}`;
  }

  private checkType(type: string): void {
    if (!this.types.includes(type)) {
      throw new SpanEditError(`"${type}" is not a type of this project's schema (${this.types.join(", ") || "no types yet"}).`);
    }
  }

  private attributeDef(type: string, name: string): AttributeDef {
    const attributes = this.attributesOf(type);
    const found = attributes.find((attribute) => attribute.name === name);
    if (!found) {
      throw new SpanEditError(`${type} has no attribute "${name}" in this project's schema (${attributes.map((attribute) => attribute.name).join(", ") || "it has none"}).`);
    }
    return found;
  }

  /** Values an item keeps when it becomes `type`: those of attributes the type also has, with a value it allows. */
  private attributesKept(attributes: Readonly<Record<string, string>>, type: string): Record<string, string> {
    const defs = this.attributesOf(type);
    return Object.fromEntries(Object.entries(attributes).filter(([name, value]) => defs.some((def) => def.name === name && def.values.includes(value))));
  }

  private labelDef(name: string, value: string): ReviewSchema["documentLabels"][number] {
    const label = this.schema.documentLabels.find((def) => def.name === name);
    if (!label) {
      const names = this.schema.documentLabels.map((def) => def.name);
      throw new SpanEditError(`"${name}" is not a document label of this project's schema (${names.join(", ") || "no labels yet"}).`);
    }
    if (!label.values.includes(value)) throw new SpanEditError(`"${value}" is not a value of the document label "${name}" (${label.values.join(", ")}).`);
    return label;
  }

  private commitLabel(name: string, values: string[]): void {
    const labels = { ...this.state.labels };
    if (values.length === 0) delete labels[name];
    else labels[name] = values;
    this.commit({ labels });
  }

  private trimmed(start: number, end: number): [number, number] {
    if (start < 0 || end > this.text.length) {
      throw new SpanEditError(`The selection ${start}–${end} lies outside the note (${this.text.length} characters).`);
    }
    let from = start;
    let to = end;
    while (from < to && /\s/.test(this.text[from])) from++;
    while (to > from && /\s/.test(this.text[to - 1])) to--;
    if (from === to) throw new SpanEditError("Select some words of the note first: the selection is empty or only white space.");
    return [from, to];
  }

  private replace(changed: ReviewItem, items: readonly ReviewItem[] = this.state.items): ReviewItem[] {
    return items.map((item) => (item.id === changed.id ? changed : item));
  }

  /** `items` with item `id` accepted and the pending items overlapping it rejected; `items` itself when it was accepted. */
  private withAccepted(items: readonly ReviewItem[], id: number): readonly ReviewItem[] {
    const target = items.find((item) => item.id === id)!;
    if (target.decision === "accepted") return items;
    const accepted: ReviewItem = { ...target, decision: "accepted" };
    return this.rejectPendingOverlapping(this.replace(accepted, items), accepted);
  }

  private rejectPendingOverlapping(items: readonly ReviewItem[], kept: ReviewItem): ReviewItem[] {
    return items.map((item) => (item.id !== kept.id && item.decision === "pending" && overlaps(item, kept) ? { ...item, decision: "rejected" } : item));
  }

  /** A new snapshot with the parts given; relations whose items are gone go with them. */
  private commit(change: Partial<Snapshot>): void {
    const items = change.items ? [...change.items].sort(byPosition) : this.state.items;
    const ids = new Set(items.map((item) => item.id));
    const relations = (change.relations ?? this.state.relations).filter((relation) => ids.has(relation.from) && ids.has(relation.to));
    this.past.push(this.state);
    this.future = [];
    this.state = { items, relations, labels: change.labels ?? this.state.labels };
  }
}
