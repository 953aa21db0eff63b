// A note's text cut at span boundaries, for showing spans inside the text. A span that
// overlaps an earlier one cannot nest in the text: it is left out here and shown in lists.
import type { Span } from "../core/corpus/types.ts";

export interface Segment {
  text: string;
  span?: Span;
}

export function segments(text: string, spans: readonly Span[]): Segment[] {
  const sorted = [...spans].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Segment[] = [];
  let at = 0;
  for (const span of sorted) {
    if (span.start < at) continue;
    if (span.start > at) out.push({ text: text.slice(at, span.start) });
    out.push({ text: text.slice(span.start, span.end), span });
    at = span.end;
  }
  if (at < text.length) out.push({ text: text.slice(at) });
  return out;
}
