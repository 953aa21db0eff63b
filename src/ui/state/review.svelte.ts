// The review step of one project: who is reviewing, the ranked queue of notes, the edit
// session of the open note (src/core/review/session.ts) with the span in focus and the
// text selection, saving, gold/dev marking, and the agreement of the saved reviews.
// One instance per project for the page's life (`reviewStateFor`).
//
// The text selection is ours (anchor and caret as character offsets), not the DOM's: the
// keyboard moves it character by character, which works the same in Japanese (no spaces)
// as in English, and a mouse selection is read once into it.
import type { AgreementReport } from "../../core/eval/review-agreement.ts";
import type { RankedNote } from "../../core/review/rank.ts";
import { ReviewSession, SpanEditError, type ReviewItem } from "../../core/review/session.ts";
import { loadNoteReview, projectAgreement, reviewQueue, saveNoteReview } from "../../core/review/store.ts";
import type { TaskSchema } from "../../core/schema/types.ts";
import { findNotes, setSplit, type AppDatabase, type NoteRow, type Split } from "../../core/store/index.ts";
import { attempt } from "./attempt.ts";
import { perProject } from "./per-project.svelte.ts";

const REVIEWER_KEY = "review:reviewer";

export interface SessionView {
  items: readonly ReviewItem[];
  canUndo: boolean;
  canRedo: boolean;
  dirty: boolean;
  pending: number;
}

const EMPTY_VIEW: SessionView = { items: [], canUndo: false, canRedo: false, dirty: false, pending: 0 };

const stateFor = perProject((projectId: string, db: AppDatabase, schema: () => TaskSchema) => new ReviewState(db, projectId, schema));

export function reviewStateFor(db: AppDatabase, projectId: string, schema: () => TaskSchema): ReviewState {
  return stateFor(projectId, db, schema);
}

export class ReviewState {
  reviewer = $state(localStorage.getItem(REVIEWER_KEY) ?? "");
  queue = $state.raw<RankedNote[]>([]);
  /** External ids of the queued notes, for the list. */
  names = $state.raw<Map<number, string>>(new Map());
  /** Notes saved by this reviewer since the queue was ranked. */
  reviewed = $state.raw<Set<number>>(new Set());
  position = $state(-1);
  note = $state.raw<NoteRow | null>(null);
  otherReviewers = $state.raw<string[]>([]);
  view = $state.raw<SessionView>(EMPTY_VIEW);
  focusedId = $state<number | null>(null);
  /** The selection in the note's text: [min, max) of anchor and caret; empty when equal. */
  anchor = $state(0);
  caret = $state(0);
  /** After `t`: the next digit retypes the span in focus. */
  retyping = $state(false);
  agreement = $state.raw<AgreementReport | null>(null);
  tab = $state<"notes" | "agreement">("notes");
  message = $state<string | null>(null);
  error = $state<string | null>(null);

  private session: ReviewSession | null = null;

  constructor(
    private readonly db: AppDatabase,
    readonly projectId: string,
    private readonly schema: () => TaskSchema,
  ) {}

  /** The schema's type names; a getter, since the schema may change in the Schema step. */
  get types(): string[] {
    return this.schema().entityTypes.map((type) => type.name);
  }
  selection = $derived({ start: Math.min(this.anchor, this.caret), end: Math.max(this.anchor, this.caret) });
  focused = $derived(this.view.items.find((item) => item.id === this.focusedId) ?? null);
  current = $derived(this.queue[this.position] ?? null);

  private attempt<T>(action: () => Promise<T>): Promise<T | undefined> {
    return attempt(this, action);
  }

  /** Runs a session operation; a refused one (empty selection, unknown type) shows its message. */
  private edit(operation: (session: ReviewSession) => void): void {
    if (!this.session) return;
    this.error = null;
    this.message = null;
    try {
      operation(this.session);
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
    this.sync();
  }

  private sync(): void {
    const session = this.session;
    this.view = session
      ? { items: session.items, canUndo: session.canUndo, canRedo: session.canRedo, dirty: session.dirty, pending: session.pendingCount }
      : EMPTY_VIEW;
    if (this.focusedId !== null && !this.view.items.some((item) => item.id === this.focusedId)) this.focusedId = null;
  }

  async setReviewer(name: string): Promise<void> {
    this.reviewer = name.trim();
    localStorage.setItem(REVIEWER_KEY, this.reviewer);
    this.session = null;
    this.note = null;
    this.sync();
    if (this.reviewer) await this.refreshQueue();
  }

  /** Ranks the notes this reviewer has not reviewed and opens the first. */
  async refreshQueue(): Promise<void> {
    if (!this.reviewer) return;
    await this.attempt(async () => {
      const queue = await reviewQueue(this.db, this.projectId, this.reviewer);
      // Names for the list only: the top of the queue is what a reviewer reads.
      const shown = await findNotes(this.db, queue.slice(0, 200).map((entry) => entry.noteId));
      this.names = new Map(shown.map((note) => [note.id, note.externalId]));
      this.queue = queue;
      this.reviewed = new Set();
      this.position = -1;
      if (queue.length > 0) await this.openAt(0);
      else {
        this.note = null;
        this.session = null;
        this.sync();
      }
    });
    await this.refreshAgreement();
  }

  async refreshAgreement(): Promise<void> {
    await this.attempt(async () => {
      this.agreement = await projectAgreement(this.db, this.projectId);
    });
  }

  /** Opens the note at `index` of the queue, saving the open one first if it changed. */
  async openAt(index: number): Promise<void> {
    if (index < 0 || index >= this.queue.length) return;
    await this.attempt(async () => {
      if (this.session?.dirty) await this.saveNow();
      const loaded = await loadNoteReview(this.db, this.queue[index].noteId, this.reviewer);
      this.session = new ReviewSession(loaded.note.text, this.schema(), loaded.candidates, loaded.saved);
      this.note = loaded.note;
      this.otherReviewers = loaded.otherReviewers;
      this.position = index;
      this.anchor = this.caret = 0;
      this.retyping = false;
      this.sync();
      this.focusedId = this.view.items[0]?.id ?? null;
      if (this.focusedId !== null) this.anchor = this.caret = this.view.items[0].start;
    });
  }

  next(): Promise<void> {
    return this.openAt(this.position + 1);
  }

  previous(): Promise<void> {
    return this.openAt(this.position - 1);
  }

  /** Saves the open note as this reviewer's review (also when nothing changed: "reviewed, all fine"). */
  async save(): Promise<void> {
    await this.attempt(() => this.saveNow());
  }

  private async saveNow(): Promise<void> {
    const session = this.session;
    const note = this.note;
    if (!session || !note) return;
    await saveNoteReview(this.db, note.id, this.reviewer, session.result());
    session.markSaved();
    this.reviewed = new Set(this.reviewed).add(note.id);
    this.sync();
    this.message = `Saved your review of ${note.externalId}.`;
    await this.refreshAgreement();
  }

  /** Moves the open note to a split and saves the review: a gold note is a reviewed note. */
  async markSplit(split: Split): Promise<void> {
    const note = this.note;
    if (!note) return;
    await this.attempt(async () => {
      await setSplit(this.db, [note.id], split);
      this.note = { ...note, split };
      await this.saveNow();
      this.message =
        split === "pool"
          ? `${note.externalId} is a pool note again: it may be annotated and trained on.`
          : `${note.externalId} is now a ${split} note: ${split === "gold" ? "evaluation only" : "early stopping only"}. ` +
            `It is never trained on and never shown to an LLM as a few-shot example.`;
    });
  }

  // --- edits -------------------------------------------------------------------------------

  addSelection(typeIndex: number): void {
    const type = this.types[typeIndex];
    const { start, end } = this.selection;
    this.edit((session) => {
      if (type === undefined) throw new SpanEditError(`There is no type ${typeIndex + 1}: the schema has ${this.types.length}.`);
      const id = session.add(start, end, type);
      this.focusedId = id;
      this.anchor = this.caret = session.item(id).end;
    });
  }

  retypeFocused(typeIndex: number): void {
    const id = this.focusedId;
    const type = this.types[typeIndex];
    this.retyping = false;
    this.edit((session) => {
      if (id === null) throw new SpanEditError("Choose a span first (Tab moves between spans).");
      if (type === undefined) throw new SpanEditError(`There is no type ${typeIndex + 1}: the schema has ${this.types.length}.`);
      session.retype(id, type);
    });
  }

  /** A digit: adds a span over the selection, or retypes the span in focus when there is no selection or after `t`. */
  typeKey(typeIndex: number): void {
    if (this.retyping || this.selection.start === this.selection.end) this.retypeFocused(typeIndex);
    else this.addSelection(typeIndex);
  }

  accept(id = this.focusedId): void {
    if (id === null) return;
    this.edit((session) => session.accept(id));
    this.focusNext();
  }

  reject(id = this.focusedId): void {
    if (id === null) return;
    const at = this.view.items.findIndex((item) => item.id === id);
    this.edit((session) => session.reject(id));
    // A deleted span leaves no item behind: focus what took its place.
    if (this.focusedId === null) this.focusedId = this.view.items[Math.min(at, this.view.items.length - 1)]?.id ?? null;
    else this.focusNext();
  }

  retype(id: number, type: string): void {
    this.edit((session) => session.retype(id, type));
  }

  acceptAll(): void {
    this.edit((session) => session.acceptAll());
  }

  rejectAll(): void {
    this.edit((session) => session.rejectAll());
  }

  undo(): void {
    this.stepHistory((session) => session.undo());
  }

  redo(): void {
    this.stepHistory((session) => session.redo());
  }

  /** Undo or redo, then focus the span it brought back or changed, so the next key acts on it. */
  private stepHistory(step: (session: ReviewSession) => void): void {
    const before = new Set(this.view.items);
    this.edit(step);
    const changed = this.view.items.find((item) => !before.has(item));
    if (changed) this.focus(changed.id);
  }

  // --- focus and selection -----------------------------------------------------------------

  focus(id: number | null): void {
    this.focusedId = id;
    const item = this.focused;
    if (item) this.anchor = this.caret = item.start;
  }

  focusNext(): void {
    this.focusStep(1);
  }

  focusPrevious(): void {
    this.focusStep(-1);
  }

  private focusStep(step: 1 | -1): void {
    const items = this.view.items;
    if (items.length === 0) return;
    const at = items.findIndex((item) => item.id === this.focusedId);
    const next = at === -1 ? (step === 1 ? 0 : items.length - 1) : Math.min(items.length - 1, Math.max(0, at + step));
    this.focus(items[next].id);
  }

  /** Moves the caret by `delta` characters (to an end with ±Infinity); `extend` keeps the anchor (Shift). */
  moveCaret(delta: number, extend: boolean): void {
    const length = this.note?.text.length ?? 0;
    this.caret = Math.max(0, Math.min(length, this.caret + delta));
    if (!extend) this.anchor = this.caret;
  }

  /** A selection made with the mouse, as character offsets. */
  select(anchor: number, caret: number): void {
    this.anchor = anchor;
    this.caret = caret;
  }
}
