// An edit session over one note's spans: what a reviewer does to turn machine candidates
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
// - Every operation replaces the item list (never mutates it), so undo and redo are
//   stacks of earlier lists.

import type { Span } from "../corpus/types.ts";
import { AppError } from "../errors.ts";
import type { AnnotationOrigin, ReviewMeta, SpanSource } from "../store/db.ts";

export type Decision = "pending" | "accepted" | "rejected";

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
}

/** One annotator's spans on the note, as stored. */
export interface CandidateSet {
  origin: Exclude<AnnotationOrigin, "human">;
  runId: string;
  spans: readonly Span[];
}

/** A review saved earlier by the same reviewer: its spans and meta. */
export interface SavedReview {
  spans: readonly Span[];
  meta?: ReviewMeta;
}

export interface ReviewResult {
  spans: Span[];
  provenance: ReviewMeta["provenance"];
  rejected: Span[];
}

/** A selection or type the session cannot take; says which and why. */
export class SpanEditError extends AppError {
  override name = "SpanEditError";
}

const keyOf = (span: { start: number; end: number; type: string }) => `${span.start}:${span.end}:${span.type}`;
const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) => a.start < b.end && b.start < a.end;
const byPosition = (a: ReviewItem, b: ReviewItem) => a.start - b.start || a.end - b.end || a.id - b.id;

/** The highest confidence any source gave (1 when a source gave none: a greedy answer or an import). */
export function itemConfidence(item: ReviewItem): number | undefined {
  if (item.sources.length === 0) return undefined;
  return Math.max(...item.sources.map((source) => source.confidence ?? 1));
}

export class ReviewSession {
  private current: readonly ReviewItem[];
  private past: (readonly ReviewItem[])[] = [];
  private future: (readonly ReviewItem[])[] = [];
  private nextId = 1;
  /** The list as last saved (or loaded): `dirty` compares against it. */
  private savedItems: readonly ReviewItem[];

  constructor(
    readonly text: string,
    readonly types: readonly string[],
    candidates: readonly CandidateSet[],
    saved?: SavedReview,
  ) {
    this.current = this.initialItems(candidates, saved);
    this.savedItems = this.current;
  }

  /** Items in text order (start, then end). */
  get items(): readonly ReviewItem[] {
    return this.current;
  }

  get canUndo(): boolean {
    return this.past.length > 0;
  }

  get canRedo(): boolean {
    return this.future.length > 0;
  }

  /** Whether the items differ from what was loaded or last saved. */
  get dirty(): boolean {
    return this.current !== this.savedItems;
  }

  get pendingCount(): number {
    return this.current.filter((item) => item.decision === "pending").length;
  }

  item(id: number): ReviewItem {
    const found = this.current.find((item) => item.id === id);
    if (!found) throw new SpanEditError(`No span with id ${id} in this note: it may have been undone.`);
    return found;
  }

  /**
   * Adds a span of `type` over a selection [start, end), trimmed of surrounding white
   * space. A candidate with the same boundaries and type is accepted instead. Returns the
   * id of the accepted item.
   */
  add(start: number, end: number, type: string): number {
    this.checkType(type);
    const [from, to] = this.trimmed(Math.min(start, end), Math.max(start, end));
    const same = this.current.find((item) => item.start === from && item.end === to && item.type === type);
    if (same) {
      if (same.decision !== "accepted") this.accept(same.id);
      return same.id;
    }
    const added: ReviewItem = { id: this.nextId++, start: from, end: to, type, sources: [], decision: "accepted" };
    this.commit(this.rejectPendingOverlapping([...this.current, added], added));
    return added.id;
  }

  accept(id: number): void {
    if (this.item(id).decision === "accepted") return;
    const target = { ...this.item(id), decision: "accepted" as const };
    this.commit(this.rejectPendingOverlapping(this.replace(target), target));
  }

  /** Rejects a candidate (kept, greyed) or deletes a span the reviewer added. */
  reject(id: number): void {
    const target = this.item(id);
    if (target.decision === "rejected") return;
    if (target.sources.length === 0) this.commit(this.current.filter((item) => item.id !== id));
    else this.commit(this.replace({ ...target, decision: "rejected" }));
  }

  retype(id: number, type: string): void {
    this.checkType(type);
    const target = this.item(id);
    if (target.type === type && target.decision === "accepted") return;
    const original = target.retypedFrom ?? target.type;
    const changed: ReviewItem = { ...target, type, decision: "accepted" };
    if (target.sources.length > 0 && original !== type) changed.retypedFrom = original;
    else delete changed.retypedFrom;
    this.commit(this.rejectPendingOverlapping(this.replace(changed), changed));
  }

  /** Accepts every pending candidate that overlaps no accepted span; the others are rejected. */
  acceptAll(): void {
    const pending = this.current.filter((item) => item.decision === "pending");
    if (pending.length === 0) return;
    const order = [...pending].sort(
      (a, b) => (itemConfidence(b) ?? 1) - (itemConfidence(a) ?? 1) || b.end - b.start - (a.end - a.start) || byPosition(a, b),
    );
    const accepted = this.current.filter((item) => item.decision === "accepted");
    const decided = new Map<number, Decision>();
    for (const item of order) {
      const clash = accepted.some((other) => overlaps(other, item));
      decided.set(item.id, clash ? "rejected" : "accepted");
      if (!clash) accepted.push(item);
    }
    this.commit(this.current.map((item) => (decided.has(item.id) ? { ...item, decision: decided.get(item.id)! } : item)));
  }

  rejectAll(): void {
    if (this.pendingCount === 0) return;
    this.commit(this.current.map((item) => (item.decision === "pending" ? { ...item, decision: "rejected" as const } : item)));
  }

  undo(): boolean {
    const previous = this.past.pop();
    if (!previous) return false;
    this.future.push(this.current);
    this.current = previous;
    return true;
  }

  redo(): boolean {
    const next = this.future.pop();
    if (!next) return false;
    this.past.push(this.current);
    this.current = next;
    return true;
  }

  /** Call after the result was stored: `dirty` is false until the next change. */
  markSaved(): void {
    this.savedItems = this.current;
  }

  /** What is stored: accepted spans (exact duplicates once) with their provenance, and the rejected candidates. */
  result(): ReviewResult {
    const spans: Span[] = [];
    const provenance: ReviewMeta["provenance"] = [];
    const rejected: Span[] = [];
    const seen = new Set<string>();
    for (const item of this.current) {
      if (item.decision === "accepted" && !seen.has(keyOf(item))) {
        seen.add(keyOf(item));
        spans.push({ start: item.start, end: item.end, type: item.type });
        provenance.push({ sources: [...item.sources], ...(item.retypedFrom !== undefined ? { retypedFrom: item.retypedFrom } : {}) });
      }
      if (item.decision === "rejected") rejected.push({ start: item.start, end: item.end, type: item.type });
      if (item.decision === "accepted" && item.retypedFrom !== undefined) rejected.push({ start: item.start, end: item.end, type: item.retypedFrom });
    }
    return { spans, provenance, rejected };
  }

  // --- internals --------------------------------------------------------------------------

  private initialItems(candidates: readonly CandidateSet[], saved?: SavedReview): ReviewItem[] {
    const byKey = new Map<string, ReviewItem>();
    for (const set of candidates) {
      for (const span of set.spans) {
        if (!(span.start >= 0 && span.end <= this.text.length && span.start < span.end)) continue;
        const source: SpanSource = { origin: set.origin, runId: set.runId, ...(span.confidence !== undefined ? { confidence: span.confidence } : {}) };
        const existing = byKey.get(keyOf(span));
        if (existing) existing.sources = [...existing.sources, source];
        else byKey.set(keyOf(span), { id: this.nextId++, start: span.start, end: span.end, type: span.type, sources: [source], decision: "pending" });
      }
    }
    if (saved) this.applySaved(byKey, saved);
    return [...byKey.values()].sort(byPosition);
  }

  /** Decisions of an earlier review: its spans accepted, its rejected spans rejected, candidates new since then pending. */
  private applySaved(byKey: Map<string, ReviewItem>, saved: SavedReview): void {
    const rejected = new Set((saved.meta?.rejected ?? []).map(keyOf));
    for (const item of byKey.values()) if (rejected.has(keyOf(item))) item.decision = "rejected";
    saved.spans.forEach((span, index) => {
      const provenance = saved.meta?.provenance[index];
      const candidate = byKey.get(keyOf(span));
      if (candidate) {
        candidate.decision = "accepted";
        return;
      }
      // A retyped candidate is one item again: the candidate, accepted under its new type.
      const original = provenance?.retypedFrom !== undefined ? byKey.get(keyOf({ ...span, type: provenance.retypedFrom })) : undefined;
      if (original) {
        byKey.delete(keyOf(original));
        Object.assign(original, { type: span.type, decision: "accepted", retypedFrom: provenance!.retypedFrom });
        byKey.set(keyOf(original), original);
        return;
      }
      const item: ReviewItem = { id: this.nextId++, start: span.start, end: span.end, type: span.type, sources: provenance?.sources ?? [], decision: "accepted" };
      if (provenance?.retypedFrom !== undefined) item.retypedFrom = provenance.retypedFrom;
      byKey.set(keyOf(span), item);
    });
  }

  private checkType(type: string): void {
    if (!this.types.includes(type)) {
      throw new SpanEditError(`"${type}" is not a type of this project's schema (${this.types.join(", ") || "no types yet"}).`);
    }
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

  private replace(changed: ReviewItem): ReviewItem[] {
    return this.current.map((item) => (item.id === changed.id ? changed : item));
  }

  private rejectPendingOverlapping(items: ReviewItem[], kept: ReviewItem): ReviewItem[] {
    return items.map((item) => (item.id !== kept.id && item.decision === "pending" && overlaps(item, kept) ? { ...item, decision: "rejected" } : item));
  }

  private commit(items: ReviewItem[]): void {
    this.past.push(this.current);
    this.future = [];
    this.current = [...items].sort(byPosition);
  }
}
