// Notes and spans out to the formats other tools read: JSONL (the benchmark corpora's
// format, byte for byte), brat standoff, CoNLL BIO. Each is the inverse of its parser.

import { utf16ToCodePoint } from "./code-point-offsets.ts";
import { tokenizeWords, type TokenOffsets, type Tokenizer } from "./simple-tokenizer.ts";
import { BINARY_ATTRIBUTE_VALUE } from "./brat.ts";
import type { DocumentLabels, Relation, Span } from "./types.ts";

export interface ExportNote {
  id: string;
  text: string;
  spans: Span[];
  /** Relations between `spans` (indexes into it). */
  relations?: Relation[];
  labels?: DocumentLabels;
}

export interface ConllExport {
  conll: string;
  /** Spans BIO could not hold (overlaps, whitespace only), one line each. */
  warnings: string[];
}

export interface JsonlOptions {
  /** Labels that allow several values: written as a list even when one value is chosen. */
  multipleLabels?: ReadonlySet<string>;
}

/**
 * One `{"id": …, "text": …, "entities": [{"start", "end", "type", "text"}]}` per line, with
 * the separators Python's json.dumps writes, so an exported corpus diffs cleanly against
 * the ones in shared/data. What issue 10 adds is written only where a note has it, so a
 * plain NER corpus comes out byte for byte as before:
 *   - `"attributes": {"certainty": "negative"}` on an entity;
 *   - `"relations": [{"type": "Treats", "from": 0, "to": 1}]`, from/to indexing `entities`;
 *   - `"labels": {"smoking": "never", "sections": ["history", "plan"]}`: one value as a
 *     string, a multiple-choice label (or several values) as a list.
 */
export function toJsonl(notes: ExportNote[], options: JsonlOptions = {}): string {
  const json = (value: string) => JSON.stringify(value);
  const lines = notes.map(({ id, text, spans, relations, labels }) => {
    const entities = spans.map((s) => {
      const attributes = s.attributes && Object.keys(s.attributes).length > 0 ? `, "attributes": ${pythonJson(s.attributes)}` : "";
      return `{"start": ${s.start}, "end": ${s.end}, "type": ${json(s.type)}, "text": ${json(text.slice(s.start, s.end))}${attributes}}`;
    });
    let line = `{"id": ${json(id)}, "text": ${json(text)}, "entities": [${entities.join(", ")}]`;
    if (relations && relations.length > 0) {
      line += `, "relations": ${pythonJson(relations.map(({ type, from, to }) => ({ type, from, to })))}`;
    }
    if (labels && Object.keys(labels).length > 0) line += `, "labels": ${pythonJson(labelsForJson(labels, options.multipleLabels))}`;
    return line + "}";
  });
  return lines.map((line) => line + "\n").join("");
}

/** Labels as the JSONL corpora write them: one value as a string, a multiple-choice label (or several values) as a list. */
export function labelsForJson(labels: DocumentLabels, multiple: ReadonlySet<string> = new Set()): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(labels)) out[name] = values.length === 1 && !multiple.has(name) ? values[0] : values;
  return out;
}

/** JSON as Python's json.dumps writes it by default: ", " between items, ": " after keys. */
function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    return `{${Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}: ${pythonJson(item)}`).join(", ")}}`;
  }
  return JSON.stringify(value);
}

/**
 * brat standoff: the text unchanged, one T line per span with code-point offsets (brat's
 * unit). A span that crosses a line break stays one fragment; its covered text has the
 * break written as a space, since an .ann line cannot hold one (our parser compares covered
 * text with whitespace runs made equal). Types lose any whitespace, which brat forbids.
 *
 * Then one A line per span attribute (binary, `A1<tab>Negation T1`, when the value is
 * "true"; valued otherwise) and one R line per relation (`R1<tab>Treats Arg1:T1 Arg2:T2`).
 * brat has no document labels; the caller says so (src/core/export/annotations.ts).
 */
export function toBrat(note: { text: string; spans: Span[]; relations?: Relation[] }): { txt: string; ann: string } {
  const toCodePoint = utf16ToCodePoint(note.text);
  const lines = note.spans.map((span, i) => {
    const covered = note.text.slice(span.start, span.end).replace(/[\r\n\t]/g, " ");
    return `T${i + 1}\t${safeLabel(span.type)} ${toCodePoint(span.start)} ${toCodePoint(span.end)}\t${covered}\n`;
  });
  let attributeId = 0;
  note.spans.forEach((span, i) => {
    for (const [name, value] of Object.entries(span.attributes ?? {})) {
      const valued = value === BINARY_ATTRIBUTE_VALUE ? "" : ` ${safeLabel(value)}`;
      lines.push(`A${++attributeId}\t${safeLabel(name)} T${i + 1}${valued}\n`);
    }
  });
  (note.relations ?? []).forEach((relation, i) => {
    lines.push(`R${i + 1}\t${safeLabel(relation.type)} Arg1:T${relation.from + 1} Arg2:T${relation.to + 1}\n`);
  });
  return { txt: note.text, ann: lines.join("") };
}

/**
 * CoNLL with a tab between token and BIO tag, a blank line between sentences (a sentence
 * is one line of the note, unless a span runs on across the line break: readers close
 * entities at sentence ends) and `-DOCSTART-` before each note.
 *
 * A token that a span only partly covers is split at the span's edge, so every span keeps
 * its exact characters ("HbA1c7%" with a span on "HbA1c" becomes "HbA1c" + "7%"). BIO
 * cannot hold overlapping spans: the earlier (or, starting together, the longer) is kept
 * and the other is reported in `warnings`.
 */
export function toConll(notes: ExportNote[], tokenize: Tokenizer = tokenizeWords): ConllExport {
  const out: string[] = [];
  const warnings: string[] = [];
  for (const note of notes) {
    const tokens = splitAtSpanEdges(tokenize(note.text), note.spans);
    const tags = bioTags(note, tokens, warnings);
    out.push("-DOCSTART-\n\n");
    tokens.forEach((token, i) => {
      out.push(`${note.text.slice(token.start, token.end)}\t${tags[i]}\n`);
      if (i + 1 === tokens.length || startsSentence(note.text, token, tokens[i + 1], tags[i + 1])) out.push("\n");
    });
  }
  return { conll: out.join(""), warnings };
}

function startsSentence(text: string, token: TokenOffsets, next: TokenOffsets, nextTag: string): boolean {
  return !nextTag.startsWith("I-") && text.slice(token.end, next.start).includes("\n");
}

function splitAtSpanEdges(tokens: TokenOffsets[], spans: Span[]): TokenOffsets[] {
  const edges = [...new Set(spans.flatMap((s) => [s.start, s.end]))].sort((a, b) => a - b);
  const pieces: TokenOffsets[] = [];
  for (const token of tokens) {
    let start = token.start;
    for (const edge of edges) {
      if (edge <= start) continue;
      if (edge >= token.end) break;
      pieces.push({ start, end: edge });
      start = edge;
    }
    pieces.push({ start, end: token.end });
  }
  return pieces;
}

function bioTags(note: ExportNote, tokens: TokenOffsets[], warnings: string[]): string[] {
  const tags = tokens.map(() => "O");
  const ordered = [...note.spans].sort((a, b) => a.start - b.start || b.end - a.end);
  for (const span of ordered) {
    const inside = tokensWithin(tokens, span);
    const where = `${note.id}: ${span.type} span ${span.start}–${span.end}`;
    if (inside.length === 0) {
      warnings.push(`${where} covers no token and was left out`);
    } else if (inside.some((i) => tags[i] !== "O")) {
      warnings.push(`${where} overlaps another span and was left out (BIO holds one span per token)`);
    } else {
      const type = safeLabel(span.type);
      inside.forEach((tokenIndex, k) => (tags[tokenIndex] = `${k === 0 ? "B" : "I"}-${type}`));
    }
  }
  return tags;
}

/** Indices of the tokens inside the span (after splitting, none straddles its edges). */
function tokensWithin(tokens: TokenOffsets[], span: Span): number[] {
  let low = 0;
  let high = tokens.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (tokens[mid].start < span.start) low = mid + 1;
    else high = mid;
  }
  const inside: number[] = [];
  for (let i = low; i < tokens.length && tokens[i].end <= span.end; i++) inside.push(i);
  return inside;
}

/** Both formats separate fields by whitespace, so a type may not contain any. */
function safeLabel(type: string): string {
  return type.replace(/\s+/g, "_");
}
