// Notes and spans out to the formats other tools read: JSONL (the benchmark corpora's
// format, byte for byte), brat standoff, CoNLL BIO. Each is the inverse of its parser.

import { utf16ToCodePoint } from "./code-point-offsets.ts";
import { tokenizeWords, type TokenOffsets, type Tokenizer } from "./simple-tokenizer.ts";
import type { Span } from "./types.ts";

export interface ExportNote {
  id: string;
  text: string;
  spans: Span[];
}

export interface ConllExport {
  conll: string;
  /** Spans BIO could not hold (overlaps, whitespace only), one line each. */
  warnings: string[];
}

/**
 * One `{"id": …, "text": …, "entities": [{"start", "end", "type", "text"}]}` per line, with
 * the separators Python's json.dumps writes, so an exported corpus diffs cleanly against
 * the ones in shared/data.
 */
export function toJsonl(notes: ExportNote[]): string {
  const json = (value: string) => JSON.stringify(value);
  const lines = notes.map(({ id, text, spans }) => {
    const entities = spans.map(
      (s) => `{"start": ${s.start}, "end": ${s.end}, "type": ${json(s.type)}, "text": ${json(text.slice(s.start, s.end))}}`,
    );
    return `{"id": ${json(id)}, "text": ${json(text)}, "entities": [${entities.join(", ")}]}`;
  });
  return lines.map((line) => line + "\n").join("");
}

/**
 * brat standoff: the text unchanged, one T line per span with code-point offsets (brat's
 * unit). A span that crosses a line break stays one fragment; its covered text has the
 * break written as a space, since an .ann line cannot hold one (our parser compares covered
 * text with whitespace runs made equal). Types lose any whitespace, which brat forbids.
 */
export function toBrat(note: { text: string; spans: Span[] }): { txt: string; ann: string } {
  const toCodePoint = utf16ToCodePoint(note.text);
  const ann = note.spans.map((span, i) => {
    const covered = note.text.slice(span.start, span.end).replace(/[\r\n\t]/g, " ");
    return `T${i + 1}\t${safeLabel(span.type)} ${toCodePoint(span.start)} ${toCodePoint(span.end)}\t${covered}\n`;
  });
  return { txt: note.text, ann: ann.join("") };
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
