// Few-shot examples from the project's own notes. Only POOL notes may be examples: gold
// notes are the evaluation set and dev notes decide early stopping, so an LLM that saw
// them in its prompt would make both look better than they are. `fewShotExamples` refuses
// them (ExampleLeakError) and `evaluationNoteIds` gives the ids a prompt must refuse
// (PromptContext.forbiddenIds), so a note moved to gold after it was picked is caught too.

import { NotFoundError } from "../errors.ts";
import { annotationsForNote, listAnnotations } from "../store/annotations.ts";
import type { AnnotationRow, AppDatabase } from "../store/db.ts";
import { findNotes, getNotes, listNoteIds } from "../store/notes.ts";
import { ExampleLeakError } from "./errors.ts";
import type { FewShotExample } from "./prompt.ts";

/** Ids (as prompts name notes) of the project's gold and dev notes. */
export async function evaluationNoteIds(db: AppDatabase, projectId: string): Promise<Set<string>> {
  const [gold, dev] = await Promise.all([listNoteIds(db, projectId, "gold"), listNoteIds(db, projectId, "dev")]);
  return new Set([...gold, ...dev].map(String));
}

function reference(rows: readonly AnnotationRow[]): AnnotationRow | undefined {
  const latest = (origin: string) =>
    rows.filter((row) => row.origin === origin && (origin === "human" || row.runId === "")).sort((a, b) => b.updatedAt - a.updatedAt)[0];
  return latest("human") ?? latest("import");
}

/** The notes as examples with their reference spans, relations and labels (a person's review, else the imported ones). */
export async function fewShotExamples(db: AppDatabase, noteIds: readonly number[]): Promise<FewShotExample[]> {
  const notes = await getNotes(db, [...noteIds]);
  for (const note of notes) if (note.split !== "pool") throw new ExampleLeakError(note.externalId, note.split);
  return Promise.all(
    notes.map(async (note) => {
      const row = reference(await annotationsForNote(db, note.id));
      if (!row) throw new NotFoundError(`Note "${note.externalId}" has no reviewed or imported spans to show as an example: review it first.`);
      const example: FewShotExample = { id: String(note.id), text: note.text, spans: row.spans };
      if (row.relations !== undefined && row.relations.length > 0) example.relations = row.relations;
      if (row.labels !== undefined) example.labels = row.labels;
      return example;
    }),
  );
}

/** A pool note that could be shown as an example: it has a person's review or imported annotations. */
export interface ExampleCandidate {
  noteId: number;
  externalId: string;
  chars: number;
  /** Entity types of its spans. */
  types: string[];
  origin: "human" | "import";
}

/** Candidates looked at: enough to find short notes that cover the types, without reading every note of a large import. */
const CANDIDATE_LIMIT = 500;

/** Rows read to find them: a large import is not read whole each time the step is shown. */
const ROWS_READ = CANDIDATE_LIMIT * 4;

/** The project's pool notes with a reference annotation, reviewed ones first (at most 500). */
export async function exampleCandidates(db: AppDatabase, projectId: string): Promise<ExampleCandidate[]> {
  const [human, imported] = await Promise.all([listAnnotations(db, projectId, "human", undefined, ROWS_READ), listAnnotations(db, projectId, "import", "", ROWS_READ)]);
  const origin = new Map<number, "human" | "import">();
  for (const row of human) origin.set(row.noteId, "human");
  for (const row of imported) if (!origin.has(row.noteId)) origin.set(row.noteId, "import");
  const ids = [...origin.keys()].sort((a, b) => (origin.get(a) === origin.get(b) ? a - b : origin.get(a) === "human" ? -1 : 1)).slice(0, ROWS_READ);
  const candidates: ExampleCandidate[] = [];
  for (const note of await findNotes(db, ids)) {
    if (note.split !== "pool" || candidates.length >= CANDIDATE_LIMIT) continue;
    const row = reference(await annotationsForNote(db, note.id));
    if (!row) continue;
    candidates.push({ noteId: note.id, externalId: note.externalId, chars: note.text.length, types: [...new Set(row.spans.map((span) => span.type))].sort(), origin: origin.get(note.id)! });
  }
  return candidates;
}

/**
 * `count` examples: short notes (at most `maxChars`, else the shortest there are) that
 * together show as many entity types as possible. Greedy: each pick adds the most types
 * not yet shown, then is shorter, then reviewed before imported, then older.
 */
export function chooseExamples(candidates: readonly ExampleCandidate[], count: number, maxChars = 2000): ExampleCandidate[] {
  const short = candidates.filter((candidate) => candidate.chars <= maxChars && candidate.types.length > 0);
  const pool = short.length >= count ? short : [...candidates].filter((candidate) => candidate.types.length > 0).sort((a, b) => a.chars - b.chars).slice(0, count);
  const chosen: ExampleCandidate[] = [];
  const shown = new Set<string>();
  const left = [...pool];
  while (chosen.length < count && left.length > 0) {
    const gain = (candidate: ExampleCandidate) => candidate.types.filter((type) => !shown.has(type)).length;
    left.sort((a, b) => gain(b) - gain(a) || a.chars - b.chars || (a.origin === b.origin ? 0 : a.origin === "human" ? -1 : 1) || a.noteId - b.noteId);
    const next = left.shift()!;
    chosen.push(next);
    for (const type of next.types) shown.add(type);
  }
  return chosen;
}
