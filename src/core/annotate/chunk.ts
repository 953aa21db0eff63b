// Long notes -> overlapping chunks that fit the model's budget, and the chunks' spans
// back to note offsets. Cuts fall after a line break or a sentence end (". ", "。"), so
// an entity is rarely cut; each chunk starts inside the previous one (overlap), so an
// entity at a cut is seen whole by the next chunk. Spans found twice in an overlap appear
// once; spans from two chunks that overlap each other are resolved as in align.ts
// (a mention cut at a chunk's end loses to the whole one from the next chunk).

import { resolveOverlaps } from "./align.ts";
import type { AnnotatedSpan } from "./types.ts";

export interface Chunk {
  /** Offset of the chunk in the note. */
  start: number;
  end: number;
  text: string;
}

export interface ChunkOptions {
  /** Largest chunk, in the units of `measure` (characters by default). */
  budget: number;
  /** How far (in characters) each chunk reaches back into the previous one. */
  overlap?: number;
  /** Size of a text in budget units, e.g. a tokenizer's count; characters by default. */
  measure?: (text: string) => number;
}

const BOUNDARY = /\r\n|\n|\r|[.!?;](?=\s)\s*|[。！？]/g;

/** Offsets just after each line break or sentence end: where a chunk may start or end. */
function boundaries(text: string): number[] {
  const cuts = new Set<number>();
  for (const match of text.matchAll(BOUNDARY)) cuts.add(match.index! + match[0].length);
  return [...cuts].filter((at) => at > 0 && at < text.length).sort((a, b) => a - b);
}

export function splitIntoChunks(text: string, options: ChunkOptions): Chunk[] {
  const measure = options.measure ?? ((piece: string) => piece.length);
  const overlap = options.overlap ?? 0;
  if (measure(text) <= options.budget) return [{ start: 0, end: text.length, text }];
  const cuts = boundaries(text);
  const chunks: Chunk[] = [];
  let start = 0;
  while (start < text.length) {
    const fits = (end: number) => measure(text.slice(start, end)) <= options.budget;
    let end: number;
    if (fits(text.length)) end = text.length;
    else {
      // The farthest sentence/line boundary that fits; else the last space; else a hard cut.
      const candidates = cuts.filter((at) => at > start);
      let lo = 0;
      let hi = candidates.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (fits(candidates[mid])) lo = mid + 1;
        else hi = mid;
      }
      end = lo > 0 ? candidates[lo - 1] : hardCut(text, start, fits);
    }
    chunks.push({ start, end, text: text.slice(start, end) });
    if (end >= text.length) break;
    // Next start: the first boundary at or after end - overlap, but past this chunk's start.
    const from = Math.max(start + 1, end - overlap);
    const next = cuts.find((at) => at >= from && at <= end);
    start = next ?? end;
  }
  return chunks;
}

function hardCut(text: string, start: number, fits: (end: number) => boolean): number {
  let lo = start + 1;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  const space = text.lastIndexOf(" ", lo);
  return space > start ? space + 1 : lo;
}

/**
 * Spans of each chunk (offsets relative to the chunk) -> spans of the note, without
 * duplicates: the same span from two chunks is kept once with the higher confidence.
 */
export function mergeChunkSpans<T extends AnnotatedSpan>(perChunk: readonly { chunk: Chunk; spans: readonly T[] }[]): T[] {
  const best = new Map<string, T>();
  for (const { chunk, spans } of perChunk) {
    for (const span of spans) {
      const shifted = { ...span, start: span.start + chunk.start, end: span.end + chunk.start };
      const key = `${shifted.start}:${shifted.end}:${shifted.type}`;
      const seen = best.get(key);
      if (!seen || (shifted.confidence ?? 1) > (seen.confidence ?? 1)) best.set(key, shifted);
    }
  }
  return resolveOverlaps([...best.values()]).kept.sort((a, b) => a.start - b.start || a.end - b.end);
}
