// What a model found in the notes, out as a table or as JSON lines: the Extract step's
// downloads. Offsets are UTF-16 code units, as everywhere in the app (and as in the JSONL
// corpora); each row also carries the covered text, so a reader in another language can
// check its own indexing against it.
import Papa from "papaparse";
import type { Span } from "../corpus/types.ts";
import type { AppDatabase } from "../store/db.ts";
import { listAnnotations } from "../store/annotations.ts";
import { findNotes } from "../store/notes.ts";

export interface ExtractedNote {
  noteId: number;
  /** The note's id in the files it came from. */
  externalId: string;
  text: string;
  spans: Span[];
}

export const EXTRACTION_COLUMNS = ["note_id", "start", "end", "type", "text", "confidence"] as const;

/** One row per span, notes in the given order and spans by position; RFC 4180 quoting. */
export function extractionsCsv(notes: readonly ExtractedNote[]): string {
  const rows: (string | number)[][] = [];
  for (const note of notes) {
    for (const span of sortedSpans(note.spans)) {
      rows.push([note.externalId, span.start, span.end, span.type, note.text.slice(span.start, span.end), confidenceCell(span)]);
    }
  }
  // A formula-looking cell is written as text, so a spreadsheet never evaluates note text.
  return Papa.unparse({ fields: [...EXTRACTION_COLUMNS], data: rows }, { newline: "\r\n", escapeFormulae: true }) + "\r\n";
}

/**
 * One note per line, in the JSONL corpus format the app imports (`id`, `text`, `entities`
 * with `start`, `end`, `type`, `text`), each entity with its `confidence` added.
 */
export function extractionsJsonl(notes: readonly ExtractedNote[]): string {
  return notes
    .map((note) =>
      JSON.stringify({
        id: note.externalId,
        text: note.text,
        entities: sortedSpans(note.spans).map((span) => ({
          start: span.start,
          end: span.end,
          type: span.type,
          text: note.text.slice(span.start, span.end),
          ...(span.confidence === undefined ? {} : { confidence: roundConfidence(span.confidence) }),
        })),
      }) + "\n",
    )
    .join("");
}

/** The notes an inference run wrote that still exist, in note order, with their text. */
export async function extractedNotes(db: AppDatabase, projectId: string, runId: string): Promise<ExtractedNote[]> {
  const rows = await listAnnotations(db, projectId, "model", runId);
  const spansOf = new Map(rows.map((row) => [row.noteId, row.spans]));
  const notes = await findNotes(db, [...spansOf.keys()].sort((a, b) => a - b));
  return notes.map((note) => ({ noteId: note.id, externalId: note.externalId, text: note.text, spans: spansOf.get(note.id)! }));
}

function sortedSpans(spans: readonly Span[]): Span[] {
  return [...spans].sort((a, b) => a.start - b.start || a.end - b.end || a.type.localeCompare(b.type));
}

function confidenceCell(span: Span): string | number {
  return span.confidence === undefined ? "" : roundConfidence(span.confidence);
}

/** Four decimals: more is noise from float32 softmax, and it keeps the files diffable. */
function roundConfidence(confidence: number): number {
  return Math.round(confidence * 10_000) / 10_000;
}
