// The review step of one project: who is reviewing, the ranked queue of notes, the edit
// session of the open note (src/core/review/session.ts) with the span (or relation) in
// focus, the text selection and the key mode, saving, gold/dev marking, and the agreement of
// the saved reviews. One instance per project for the page's life (`reviewStateFor`).
//
// Keys that need a second key (t then a type, e with several attributes, l then a target
// and a relation type, c then a label and a value) put the editor in a mode: the digits go
// to the mode, and Escape leaves it.
//
// The text selection is ours (anchor and caret as character offsets), not the DOM's: the
// keyboard moves it character by character, which works the same in Japanese (no spaces)
// as in English, and a mouse selection is read once into it.
import type { AgreementReport } from "../../core/eval/review-agreement.ts";
import type { RankedNote } from "../../core/review/rank.ts";
import type { DocumentLabels } from "../../core/corpus/types.ts";
import { ReviewSession, SpanEditError, type ReviewItem, type ReviewRelation } from "../../core/review/session.ts";
import { loadNoteReview, projectAgreement, reviewQueue, saveNoteReview } from "../../core/review/store.ts";
import type { AttributeDef, DocumentLabelDef, TaskSchema } from "../../core/schema/types.ts";
import { findNotes, setSplit, type AppDatabase, type NoteRow, type Split } from "../../core/store/index.ts";
import { attempt } from "./attempt.ts";
import { perProject } from "./per-project.svelte.ts";

const REVIEWER_KEY = "review:reviewer";

export interface SessionView {
  items: readonly ReviewItem[];
  relations: readonly ReviewRelation[];
  labels: Readonly<DocumentLabels>;
  /** Each candidate set's labels, to show what was proposed. */
  proposedLabels: ReviewSession["proposedLabels"];
  canUndo: boolean;
  canRedo: boolean;
  dirty: boolean;
  pending: number;
}

const EMPTY_VIEW: SessionView = { items: [], relations: [], labels: {}, proposedLabels: [], canUndo: false, canRedo: false, dirty: false, pending: 0 };

/** What the next digit (and Enter) does. */
export type KeyMode =
  | { kind: "none" }
  /** After `t`: a digit retypes the span in focus. */
  | { kind: "retype" }
  /** After `e` on a span with several attributes: a digit cycles that attribute. */
  | { kind: "attributes" }
  /** After `l`: Tab/j/k move to the target span, Enter picks it. */
  | { kind: "relation-target"; from: number }
  /** Then: a digit picks one of `types`. */
  | { kind: "relation-type"; from: number; to: number; types: string[] }
  /** After `c` with several labels: a digit picks the label. */
  | { kind: "labels" }
  /** Then (or after `c` with one label): a digit toggles a value, 0 clears the label. */
  | { kind: "label-values"; label: string };

const NO_MODE: KeyMode = { kind: "none" };

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
  /** A relation in focus (after L): a, Enter, r and Delete act on it instead of the span. */
  focusedRelationId = $state<number | null>(null);
  /** The selection in the note's text: [min, max) of anchor and caret; empty when equal. */
  anchor = $state(0);
  caret = $state(0);
  mode = $state.raw<KeyMode>(NO_MODE);
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
  get retyping(): boolean {
    return this.mode.kind === "retype";
  }

  /** Whether the schema has attributes, relation types, document labels: their keys and lists exist only then. */
  get hasAttributes(): boolean {
    return this.schema().entityTypes.some((type) => (type.attributes?.length ?? 0) > 0);
  }

  get hasRelations(): boolean {
    return this.schema().relationTypes.length > 0 || this.view.relations.length > 0;
  }

  get schemaRelationTypes(): TaskSchema["relationTypes"] {
    return this.schema().relationTypes;
  }

  get labelDefs(): readonly DocumentLabelDef[] {
    return this.schema().documentLabels;
  }

  attributesOf(type: string): readonly AttributeDef[] {
    return this.schema().entityTypes.find((entityType) => entityType.name === type)?.attributes ?? [];
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

  /** A key that cannot act here: says why, changes nothing. */
  private refuse(message: string): void {
    this.message = null;
    this.error = message;
  }

  private sync(): void {
    const session = this.session;
    this.view = session
      ? {
          items: session.items,
          relations: session.relations,
          labels: session.labels,
          proposedLabels: session.proposedLabels,
          canUndo: session.canUndo,
          canRedo: session.canRedo,
          dirty: session.dirty,
          pending: session.pendingCount,
        }
      : EMPTY_VIEW;
    if (this.focusedId !== null && !this.view.items.some((item) => item.id === this.focusedId)) this.focusedId = null;
    if (this.focusedRelationId !== null && !this.view.relations.some((relation) => relation.id === this.focusedRelationId)) this.focusedRelationId = null;
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
      this.mode = NO_MODE;
      this.focusedRelationId = null;
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
    this.mode = NO_MODE;
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

  /** Digit `n` (0–9) pressed: for the mode the editor is in, else a type (1–9). */
  digitKey(n: number): void {
    const mode = this.mode;
    const index = n - 1;
    if (mode.kind === "attributes") this.cycleFocusedAttribute(index);
    else if (mode.kind === "relation-type") this.pickRelationType(index);
    else if (mode.kind === "labels") this.chooseLabel(index);
    else if (mode.kind === "label-values") this.toggleLabelValue(mode.label, index);
    // Choosing a relation's target: a digit would retype the span passed on the way.
    else if (mode.kind === "relation-target") this.refuse("Move to the span the relation goes to (Tab, j, k) and press Enter, or Escape to cancel.");
    else if (n > 0) this.typeKey(index);
  }

  /** `t`: the next digit retypes the span in focus. */
  startRetype(): void {
    if (this.focusedId !== null) this.mode = { kind: "retype" };
  }

  /** Escape: leaves any mode. */
  cancelMode(): void {
    this.mode = NO_MODE;
  }

  /** Enter: picks the relation target in that mode, else accepts what is in focus. */
  enterKey(): void {
    const mode = this.mode;
    if (mode.kind === "relation-target") this.chooseRelationTarget(mode.from);
    else if (mode.kind === "attributes") this.mode = NO_MODE;
    else this.acceptFocused();
  }

  /** a / Enter: accepts the relation in focus, else the span in focus. */
  acceptFocused(): void {
    if (this.focusedRelationId !== null) this.acceptRelation(this.focusedRelationId);
    else this.accept();
  }

  /** r / Delete: rejects (or deletes) the relation in focus, else the span in focus. */
  rejectFocused(): void {
    if (this.focusedRelationId !== null) this.rejectRelation(this.focusedRelationId);
    else this.reject();
  }

  // --- attributes --------------------------------------------------------------------------

  /** `e`: cycles the focused span's attribute; with several, opens the chooser (a digit cycles that one). */
  attributeKey(): void {
    const item = this.focused;
    if (this.mode.kind === "attributes") {
      this.mode = NO_MODE;
      return;
    }
    if (!item) return this.refuse("Choose a span first (Tab moves between spans).");
    const attributes = this.attributesOf(item.type);
    if (attributes.length === 0) return this.refuse(`${item.type} has no attributes in this project's schema.`);
    if (attributes.length === 1) this.cycleAttribute(item.id, attributes[0].name);
    else this.mode = { kind: "attributes" };
  }

  private cycleFocusedAttribute(index: number): void {
    const item = this.focused;
    const attribute = item ? this.attributesOf(item.type)[index] : undefined;
    if (!item || !attribute) return this.refuse(`There is no attribute ${index + 1} here: press 1–${item ? this.attributesOf(item.type).length : 0}, or Escape.`);
    this.cycleAttribute(item.id, attribute.name);
  }

  cycleAttribute(id: number, name: string): void {
    this.edit((session) => session.cycleAttribute(id, name));
  }

  setAttribute(id: number, name: string, value: string | undefined): void {
    this.edit((session) => session.setAttribute(id, name, value));
  }

  // --- relations ---------------------------------------------------------------------------

  /** `l`: a relation from the span in focus; Tab/j/k to the target, then Enter. */
  startRelation(): void {
    const from = this.focusedId;
    if (from === null) return this.refuse("Choose the span the relation starts from first (Tab moves between spans).");
    this.mode = { kind: "relation-target", from };
  }

  private chooseRelationTarget(from: number): void {
    const to = this.focusedId;
    let types: string[] = [];
    this.edit((session) => {
      if (to === null || to === from) throw new SpanEditError("Move to the span the relation goes to (Tab, j, k), then press Enter.");
      const [a, b] = [session.item(from), session.item(to)];
      types = session.relationTypesBetween(from, to);
      if (types.length === 0) throw new SpanEditError(`No relation type of this project's schema goes from ${a.type} to ${b.type}: choose another span, or Escape.`);
    });
    if (to !== null && types.length > 0) this.mode = { kind: "relation-type", from, to, types };
  }

  private pickRelationType(index: number): void {
    const mode = this.mode;
    if (mode.kind !== "relation-type") return;
    const type = mode.types[index];
    if (type === undefined) return this.refuse(`There is no relation type ${index + 1} here: press 1–${mode.types.length}, or Escape.`);
    this.mode = NO_MODE;
    this.edit((session) => {
      this.focusedRelationId = session.addRelation(type, mode.from, mode.to);
    });
  }

  acceptRelation(id: number): void {
    this.edit((session) => session.acceptRelation(id));
  }

  rejectRelation(id: number): void {
    this.edit((session) => session.rejectRelation(id));
  }

  /** `L`: the next relation (wrapping), so a, Enter, r and Delete act on it. */
  focusNextRelation(): void {
    const relations = this.view.relations;
    if (relations.length === 0) return;
    const at = relations.findIndex((relation) => relation.id === this.focusedRelationId);
    this.focusedRelationId = relations[(at + 1) % relations.length].id;
  }

  // --- document labels ---------------------------------------------------------------------

  /** `c`: the labels; with one label, straight to its values. */
  labelKey(): void {
    const labels = this.labelDefs;
    if (labels.length === 1) this.mode = { kind: "label-values", label: labels[0].name };
    else if (labels.length > 1) this.mode = { kind: "labels" };
  }

  private chooseLabel(index: number): void {
    const label = this.labelDefs[index];
    if (!label) return this.refuse(`There is no document label ${index + 1}: press 1–${this.labelDefs.length}, or Escape.`);
    this.mode = { kind: "label-values", label: label.name };
  }

  /** A value's digit toggles it; 0 (index -1) clears the label. */
  private toggleLabelValue(name: string, index: number): void {
    const values = this.labelDefs.find((label) => label.name === name)?.values ?? [];
    if (index >= values.length) return this.refuse(`"${name}" has no value ${index + 1}: press 1–${values.length}, 0 to clear it, or Escape.`);
    this.mode = NO_MODE;
    if (index < 0) this.clearLabel(name);
    else this.toggleLabel(name, values[index]);
  }

  toggleLabel(name: string, value: string): void {
    this.edit((session) => session.toggleLabel(name, value));
  }

  clearLabel(name: string): void {
    this.edit((session) => session.clearLabel(name));
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
    const before = new Set<unknown>([...this.view.items, ...this.view.relations]);
    this.mode = NO_MODE;
    this.edit(step);
    const changed = this.view.items.find((item) => !before.has(item));
    const changedRelation = this.view.relations.find((relation) => !before.has(relation));
    if (changed) this.focus(changed.id);
    else if (changedRelation) this.focusedRelationId = changedRelation.id;
  }

  // --- focus and selection -----------------------------------------------------------------

  focus(id: number | null): void {
    this.focusedId = id;
    this.focusedRelationId = null;
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
