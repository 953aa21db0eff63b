// A project's annotations out, in the formats other tools read, so a hospital that
// outgrows the browser can train on a GPU server with standard tools.
import { zipSync, strToU8 } from "fflate";
import { toBrat, toConll, toJsonl, type ExportNote } from "../corpus/export.ts";
import type { AnnotationOrigin, AppDatabase, Split } from "../store/db.ts";
import { listAnnotations } from "../store/annotations.ts";
import { getNotes, listNoteIds } from "../store/notes.ts";
import { getProject } from "../store/projects.ts";

export type AnnotationFormat = "jsonl" | "brat" | "conll";

export interface AnnotationExportOptions {
  origin: AnnotationOrigin;
  /** One run of that origin; the latest row per note when absent. */
  runId?: string;
  split?: Split;
  format: AnnotationFormat;
}

export interface AnnotationExport {
  fileName: string;
  bytes: Uint8Array;
  mimeType: string;
  notes: number;
  warnings: string[];
}

/** The notes that have an annotation of the chosen origin (and run), with its spans, relations and labels. */
export async function annotatedNotes(
  db: AppDatabase,
  projectId: string,
  options: Pick<AnnotationExportOptions, "origin" | "runId" | "split">,
): Promise<ExportNote[]> {
  const rows = await listAnnotations(db, projectId, options.origin, options.runId);
  const latest = new Map<number, (typeof rows)[number]>();
  for (const row of rows) {
    const seen = latest.get(row.noteId);
    if (!seen || row.updatedAt >= seen.updatedAt) latest.set(row.noteId, row);
  }
  const wanted = options.split ? new Set(await listNoteIds(db, projectId, options.split)) : undefined;
  const noteIds = [...latest.keys()].filter((id) => !wanted || wanted.has(id)).sort((a, b) => a - b);
  const notes = await getNotes(db, noteIds);
  return notes.map((note) => {
    const { spans, relations, labels } = latest.get(note.id)!;
    const out: ExportNote = { id: note.externalId, text: note.text, spans };
    if (relations !== undefined) out.relations = relations;
    if (labels !== undefined) out.labels = labels;
    return out;
  });
}

export async function exportAnnotations(
  db: AppDatabase,
  projectId: string,
  baseName: string,
  options: AnnotationExportOptions,
): Promise<AnnotationExport> {
  const notes = await annotatedNotes(db, projectId, options);
  const stem = `${baseName}-${options.origin}${options.split ? `-${options.split}` : ""}`;
  switch (options.format) {
    case "jsonl": {
      const { schema } = await getProject(db, projectId);
      const multipleLabels = new Set(schema.documentLabels.filter((label) => label.multiple).map((label) => label.name));
      const jsonl = toJsonl(notes, { multipleLabels });
      return { fileName: `${stem}.jsonl`, bytes: strToU8(jsonl), mimeType: "application/jsonl", notes: notes.length, warnings: [] };
    }
    case "conll": {
      const { conll, warnings } = toConll(notes);
      warnings.push(...leftOut(notes, "CoNLL", ["attributes", "relations", "labels"]));
      return { fileName: `${stem}.conll`, bytes: strToU8(conll), mimeType: "text/plain", notes: notes.length, warnings };
    }
    case "brat": {
      const files: Record<string, Uint8Array> = {};
      for (const note of notes) {
        const { txt, ann } = toBrat(note);
        const name = safeFileName(note.id);
        files[`${stem}/${name}.txt`] = strToU8(txt);
        files[`${stem}/${name}.ann`] = strToU8(ann);
      }
      const warnings = leftOut(notes, "brat", ["labels"]);
      return { fileName: `${stem}.brat.zip`, bytes: zipSync(files), mimeType: "application/zip", notes: notes.length, warnings };
    }
  }
}

type Extra = "attributes" | "relations" | "labels";

/** One warning per kind of annotation the format cannot hold, counting the notes that had some. */
function leftOut(notes: ExportNote[], format: string, kinds: Extra[]): string[] {
  const has: Record<Extra, (note: ExportNote) => boolean> = {
    attributes: (note) => note.spans.some((span) => Object.keys(span.attributes ?? {}).length > 0),
    relations: (note) => (note.relations?.length ?? 0) > 0,
    labels: (note) => Object.keys(note.labels ?? {}).length > 0,
  };
  return kinds.flatMap((kind) => {
    const count = notes.filter(has[kind]).length;
    if (count === 0) return [];
    const what = { attributes: "entity attributes", relations: "relations", labels: "document labels" }[kind];
    return [`${format} has no place for ${what}: those of ${count} ${count === 1 ? "note were" : "notes were"} left out (JSONL keeps them)`];
  });
}

/** Note ids may hold folder separators or characters a file system refuses. */
function safeFileName(id: string): string {
  return id.replace(/[\\/:*?"<>|\u0000-\u001f]/g, "_") || "note";
}
