// The notes of the open project as a virtual list: a count, pages fetched as the user
// scrolls (never the whole table), a search, and the note being read.
import {
  annotationsForNote,
  countNotes,
  getNote,
  listNoteSummaries,
  setSplit,
  type AnnotationRow,
  type AppDatabase,
  type NoteRow,
  type NoteSummary,
  type Split,
} from "../../core/store/index.ts";

export const PAGE_SIZE = 100;

export class NotesState {
  count = $state(0);
  total = $state(0);
  search = $state("");
  split = $state<Split | "">("");
  /** Pages loaded so far, by page index; replaced as a whole so the list re-renders. */
  pages = $state.raw<Map<number, NoteSummary[]>>(new Map());
  selected = $state.raw<NoteRow | null>(null);
  annotations = $state.raw<AnnotationRow[]>([]);
  private generation = 0;
  private loading = new Set<number>();

  constructor(
    private readonly db: AppDatabase,
    private readonly projectId: () => string | null,
  ) {}

  /** Start over after the project, the filter or the stored notes changed. */
  async refresh(): Promise<void> {
    const projectId = this.projectId();
    const generation = ++this.generation;
    this.loading.clear();
    if (!projectId) {
      this.count = this.total = 0;
      this.pages = new Map();
      return;
    }
    const query = { search: this.search || undefined, split: this.split || undefined };
    const [count, total] = await Promise.all([countNotes(this.db, projectId, query), countNotes(this.db, projectId)]);
    if (generation !== this.generation) return;
    this.count = count;
    this.total = total;
    this.pages = new Map();
    if (this.selected && this.selected.projectId !== projectId) this.selected = null;
  }

  row(index: number): NoteSummary | undefined {
    return this.pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  }

  /** Make sure the rows first..last are loaded (called by the list as it scrolls). */
  async ensureRows(first: number, last: number): Promise<void> {
    const projectId = this.projectId();
    if (!projectId) return;
    const generation = this.generation;
    for (let page = Math.floor(first / PAGE_SIZE); page <= Math.floor(last / PAGE_SIZE); page++) {
      if (this.pages.has(page) || this.loading.has(page)) continue;
      this.loading.add(page);
      const rows = await listNoteSummaries(this.db, projectId, {
        offset: page * PAGE_SIZE,
        limit: PAGE_SIZE,
        search: this.search || undefined,
        split: this.split || undefined,
        spanOrigin: "import",
      });
      this.loading.delete(page);
      if (generation !== this.generation) return;
      this.pages = new Map(this.pages).set(page, rows);
    }
  }

  async select(noteId: number): Promise<void> {
    const [note, annotations] = await Promise.all([getNote(this.db, noteId), annotationsForNote(this.db, noteId)]);
    this.selected = note;
    this.annotations = annotations;
  }

  async markSelected(split: Split): Promise<void> {
    if (!this.selected) return;
    await setSplit(this.db, [this.selected.id], split);
    this.selected = { ...this.selected, split };
    await this.refresh();
  }
}
