// Relations of one answer, from the items the model numbered to the spans those items
// were placed at (after alignment, de-duplication and overlap resolution in align.ts).
//
// An item can stand for several spans ("aspirina" listed once marks every place it occurs;
// "dolor #2 #4" two places). A relation between two items then goes between the two of
// their spans that lie closest together in the note (ties: the earlier pair): a drug and
// its dose, a finding and its site, are written near each other. A relation whose item has
// no span left (not found in the note, or every span lost an overlap) is returned as
// unplaced, with the reason its mention was not placed: never dropped, never re-pointed.
//
// From here on relations name spans by key ("start:end:type"), so they survive the
// re-indexing that voting and chunk merging do; consensus.ts turns keys into indexes last.

import type { AlignResult, PlacedSpan } from "./align.ts";
import type { ItemRelation, Mention, UnplacedRelation } from "./types.ts";

/** A relation between two spans named by `spanKey`. */
export interface KeyedRelation {
  type: string;
  from: string;
  to: string;
  confidence?: number;
}

export const spanKey = (span: { start: number; end: number; type: string }) => `${span.start}:${span.end}:${span.type}`;

/** The offsets and type a key names. */
export function parseSpanKey(key: string): { start: number; end: number; type: string } {
  const [start, end, ...type] = key.split(":");
  return { start: Number(start), end: Number(end), type: type.join(":") };
}

/** "words (TYPE)" for a key, as unplaced relations name their ends. */
export function describeKey(text: string, key: string, offset = 0): string {
  const { start, end, type } = parseSpanKey(key);
  return `${text.slice(start - offset, end - offset)} (${type})`;
}

/** One key per relation: an undirected relation is the same whichever way round it was written. */
export function relationKey(relation: { type: string; from: string; to: string }, directed: boolean): string {
  const ends = directed ? [relation.from, relation.to] : [relation.from, relation.to].sort();
  return JSON.stringify([relation.type, ...ends]);
}

const gap = (a: PlacedSpan, b: PlacedSpan) => Math.max(0, b.start - a.end, a.start - b.end);

/**
 * The answer's relations between placed spans. `items[m]` is the item position of
 * `mentions[m]` (parse.ts); `aligned` is alignMentions' result for those mentions.
 */
export function placeRelations(
  relations: readonly ItemRelation[],
  mentions: readonly Mention[],
  items: readonly number[],
  aligned: AlignResult,
): { relations: KeyedRelation[]; unplaced: UnplacedRelation[] } {
  const spansOf = new Map<number, PlacedSpan[]>();
  for (const span of aligned.spans) {
    const position = items[span.mention];
    spansOf.set(position, [...(spansOf.get(position) ?? []), span]);
  }
  const whyNot = new Map<Mention, string>(aligned.unplaced.map((item) => [item.mention, item.reason]));
  const describe = (position: number) => {
    const mention = mentions[items.indexOf(position)];
    return mention ? `${mention.text} (${mention.type})` : `item ${position}`;
  };
  const notPlaced = (position: number) => {
    const reasons = mentions.flatMap((mention, index) => (items[index] === position && whyNot.has(mention) ? [whyNot.get(mention)!] : []));
    return `${describe(position)} could not be placed: ${reasons[0] ?? "no span"}`;
  };

  const placed: KeyedRelation[] = [];
  const unplaced: UnplacedRelation[] = [];
  for (const relation of relations) {
    const from = spansOf.get(relation.from) ?? [];
    const to = spansOf.get(relation.to) ?? [];
    const reason = from.length === 0 ? notPlaced(relation.from) : to.length === 0 ? notPlaced(relation.to) : undefined;
    const pair = reason === undefined ? closestPair(from, to) : undefined;
    if (!pair) {
      unplaced.push({ type: relation.type, from: describe(relation.from), to: describe(relation.to), reason: reason ?? "both ends were placed at the same span" });
      continue;
    }
    placed.push({ type: relation.type, from: spanKey(pair[0]), to: spanKey(pair[1]) });
  }
  return { relations: placed, unplaced };
}

function closestPair(from: readonly PlacedSpan[], to: readonly PlacedSpan[]): [PlacedSpan, PlacedSpan] | undefined {
  let best: [PlacedSpan, PlacedSpan] | undefined;
  let bestGap = Infinity;
  // Spans come sorted by start, so the first pair at the smallest gap is the earliest.
  for (const a of from) {
    for (const b of to) {
      if (a.start === b.start && a.end === b.end) continue;
      const distance = gap(a, b);
      if (distance < bestGap) {
        best = [a, b];
        bestGap = distance;
      }
    }
  }
  return best;
}
