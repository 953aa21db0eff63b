// A project's annotations out, in the formats other tools read, so a hospital that
// outgrows the browser can train on a GPU server with standard tools.
import { zipSync, strToU8 } from "fflate";
import { toBrat, toConll, toJsonl, type ExportNote } from "../corpus/export.ts";
import type { AnnotationOrigin, AppDatabase, Split } from "../store/db.ts";
import { listAnnotations } from "../store/annotations.ts";
import { getNotes, listNoteIds } from "../store/notes.ts";

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

/** The notes that have an annotation of the chosen origin (and run), with its spans. */
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
  return notes.map((note) => ({ id: note.externalId, text: note.text, spans: latest.get(note.id)!.spans }));
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
    case "jsonl":
      return { fileName: `${stem}.jsonl`, bytes: strToU8(toJsonl(notes)), mimeType: "application/jsonl", notes: notes.length, warnings: [] };
    case "conll": {
      const { conll, warnings } = toConll(notes);
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
      return { fileName: `${stem}.brat.zip`, bytes: zipSync(files), mimeType: "application/zip", notes: notes.length, warnings: [] };
    }
  }
}

/** Note ids may hold folder separators or characters a file system refuses. */
function safeFileName(id: string): string {
  return id.replace(/[\\/:*?"<>|\u0000-\u001f]/g, "_") || "note";
}
