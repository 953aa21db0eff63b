// What a model found in the notes, out as a table or as JSON lines: the Extract step's
// downloads. Offsets are UTF-16 code units, as everywhere in the app (and as in the JSONL
// corpora); each row also carries the covered text, so a reader in another language can
// check its own indexing against it. A run with a task model adds what it labelled: each
// span's attributes, the relations between spans and the note's document labels.
import Papa from "papaparse";
import { type JsonlOptions, labelsForJson } from "../corpus/export.ts";
import type { DocumentLabels, Relation, Span } from "../corpus/types.ts";
import type { AppDatabase } from "../store/db.ts";
import { listAnnotations } from "../store/annotations.ts";
import { findNotes } from "../store/notes.ts";

export interface ExtractedNote {
  noteId: number;
  /** The note's id in the files it came from. */
  externalId: string;
  text: string;
  spans: Span[];
  /** Relations between `spans` (indexes into it), from a relation model. */
  relations?: Relation[];
  /** The note's labels, from a document-label model. */
  labels?: DocumentLabels;
}

export const EXTRACTION_COLUMNS = ["note_id", "start", "end", "type", "text", "confidence", "attributes"] as const;

/**
 * One row per span, notes in the given order and spans by position; RFC 4180 quoting. The
 * `attributes` cell is `name=value;…` (empty when the span has none).
 */
export function extractionsCsv(notes: readonly ExtractedNote[]): string {
  const rows: (string | number)[][] = [];
  for (const note of notes) {
    for (const span of sortedSpans(note.spans)) {
      rows.push([note.externalId, span.start, span.end, span.type, note.text.slice(span.start, span.end), confidenceCell(span), attributesCell(span)]);
    }
  }
  // A formula-looking cell is written as text, so a spreadsheet never evaluates note text.
  return Papa.unparse({ fields: [...EXTRACTION_COLUMNS], data: rows }, { newline: "\r\n", escapeFormulae: true }) + "\r\n";
}

/**
 * One note per line, in the JSONL corpus format the app imports and exports (toJsonl in
 * corpus/export.ts): `id`, `text`, `entities` with `start`, `end`, `type`, `text` (and
 * `attributes` where a span has them), each entity with its `confidence` added; `relations`
 * (from/to indexing `entities`, in the order written) and `labels` where the note has them.
 */
export function extractionsJsonl(notes: readonly ExtractedNote[], options: JsonlOptions = {}): string {
  return notes
    .map((note) => {
      const order = sortedOrder(note.spans);
      const newIndex = new Map(order.map((old, i) => [old, i]));
      const relations = (note.relations ?? []).map(({ type, from, to }) => ({ type, from: newIndex.get(from)!, to: newIndex.get(to)! }));
      const labels = note.labels && Object.keys(note.labels).length > 0 ? labelsForJson(note.labels, options.multipleLabels) : undefined;
      return (
        JSON.stringify({
          id: note.externalId,
          text: note.text,
          entities: order.map((i) => entityJson(note.text, note.spans[i])),
          ...(relations.length > 0 ? { relations } : {}),
          ...(labels ? { labels } : {}),
        }) + "\n"
      );
    })
    .join("");
}

function entityJson(text: string, span: Span): Record<string, unknown> {
  return {
    start: span.start,
    end: span.end,
    type: span.type,
    text: text.slice(span.start, span.end),
    ...(span.attributes && Object.keys(span.attributes).length > 0 ? { attributes: span.attributes } : {}),
    ...(span.confidence === undefined ? {} : { confidence: roundConfidence(span.confidence) }),
  };
}

/** The notes an inference run wrote that still exist, in note order, with their text. */
export async function extractedNotes(db: AppDatabase, projectId: string, runId: string): Promise<ExtractedNote[]> {
  const rows = await listAnnotations(db, projectId, "model", runId);
  const rowOf = new Map(rows.map((row) => [row.noteId, row]));
  const notes = await findNotes(db, [...rowOf.keys()].sort((a, b) => a - b));
  return notes.map((note) => {
    const { spans, relations, labels } = rowOf.get(note.id)!;
    return { noteId: note.id, externalId: note.externalId, text: note.text, spans, ...(relations ? { relations } : {}), ...(labels ? { labels } : {}) };
  });
}

function sortedSpans(spans: readonly Span[]): Span[] {
  return sortedOrder(spans).map((i) => spans[i]);
}

/** Span indexes by position: relations are renumbered by it. */
function sortedOrder(spans: readonly Span[]): number[] {
  return spans.map((_, i) => i).sort((i, j) => spans[i].start - spans[j].start || spans[i].end - spans[j].end || spans[i].type.localeCompare(spans[j].type));
}

function attributesCell(span: Span): string {
  return Object.entries(span.attributes ?? {})
    .map(([name, value]) => `${name}=${value}`)
    .join(";");
}

function confidenceCell(span: Span): string | number {
  return span.confidence === undefined ? "" : roundConfidence(span.confidence);
}

/** Four decimals: more is noise from float32 softmax, and it keeps the files diffable. */
function roundConfidence(confidence: number): number {
  return Math.round(confidence * 10_000) / 10_000;
}
