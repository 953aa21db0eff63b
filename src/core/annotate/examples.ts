// Few-shot examples from the project's own notes. Only POOL notes may be examples: gold
// notes are the evaluation set and dev notes decide early stopping, so an LLM that saw
// them in its prompt would make both look better than they are. `fewShotExamples` refuses
// them (ExampleLeakError) and `evaluationNoteIds` gives the ids a prompt must refuse
// (PromptContext.forbiddenIds), so a note moved to gold after it was picked is caught too.

import { NotFoundError } from "../errors.ts";
import { annotationsForNote } from "../store/annotations.ts";
import type { AnnotationRow, AppDatabase } from "../store/db.ts";
import { getNotes, listNoteIds } from "../store/notes.ts";
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
