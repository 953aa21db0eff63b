// Spans with offsets -> the mentions a model should write for them: how few-shot examples
// are shown to the model, and how the benchmark measures formats on gold annotations.
// Round trip: alignMentions(text, mentionsFromSpans(text, spans)) gives back `spans`
// (for non-overlapping spans; tested on the benchmark corpus).
//
// Each (type, words) pair is written once when its spans are exactly the occurrences of
// the words (align.ts: "listed once = every occurrence"); otherwise each span is written
// with its occurrence number. Mentions come in the order of their first span.

import type { Span } from "../corpus/types.ts";
import { exactOccurrences } from "./align.ts";
import type { Mention } from "./types.ts";

export function mentionsFromSpans(text: string, spans: readonly Span[]): Mention[] {
  const sorted = [...spans].sort((a, b) => a.start - b.start || a.end - b.end);
  const groups = new Map<string, Span[]>();
  for (const span of sorted) {
    const words = text.slice(span.start, span.end);
    const key = `${span.type}\u0000${words.trim()}`;
    const group = groups.get(key);
    if (group) group.push(span);
    else groups.set(key, [span]);
  }
  const mentions: Mention[] = [];
  for (const group of groups.values()) {
    const type = group[0].type;
    const raw = text.slice(group[0].start, group[0].end);
    const words = raw.trim();
    const lead = raw.length - raw.trimStart().length;
    const occurrences = exactOccurrences(text, words);
    const wanted = new Set(group.map((span) => span.start + lead));
    const allOfThem = occurrences.length === wanted.size && occurrences.every(([start]) => wanted.has(start));
    if (allOfThem) {
      mentions.push({ text: words, type });
      continue;
    }
    occurrences.forEach(([start], index) => {
      if (wanted.has(start)) mentions.push({ text: words, type, occurrence: index + 1 });
    });
  }
  return mentions;
}
