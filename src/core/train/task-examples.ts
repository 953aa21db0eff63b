// Notes with annotations become examples for the document, attribute and relation models
// (task-models.ts), with the model's own tokenizer and its windows over long notes:
//
//   documents   the first window of each note that has the label (transformers' pipelines
//               truncate the same way), its value id or the ids of the values that hold.
//   attributes  each entity span, in the first window that holds all its tokens, with a
//               value id per attribute target (-100 where the attribute is not the span's
//               type's, or the annotation gives no value and the schema no default).
//   relations   candidate pairs: ordered pairs of spans whose types a relation type allows
//               (from → to; an undirected type takes each pair once, in text order), at most
//               maxDistance tokens apart and inside one window; labelled with the gold
//               relation's type or "none", with "none" pairs sampled down for training.
//
// `places` say which note and span(s) each example slot came from, so predictions map
// back onto the notes (attributePredictions, relationPredictions).

import { ShapeError } from "../errors.ts";
import type { DocumentLabels, Relation, Span } from "../corpus/types.ts";
import { seededRandom } from "../model/random.ts";
import { type AttributeTarget, NO_RELATION } from "../model/span-heads.ts";
import type { DocumentLabelDef, RelationType, TaskSchema } from "../schema/types.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import { type TokenWindow, makeWindows } from "../text/windows.ts";
import type { DocumentExample, PairExample, SpanExample } from "./task-batches.ts";

export interface AnnotatedNote {
  text: string;
  spans: readonly Span[];
  relations?: readonly Relation[];
  labels?: DocumentLabels;
}

export interface WindowOptions {
  /** Tokens per window including the special tokens. */
  maxLength: number;
  /** Tokens shared by consecutive windows. */
  stride: number;
}

/** An attribute target per (entity type, attribute) of the schema, with the attribute's default. */
export function attributeTargets(schema: TaskSchema): (AttributeTarget & { default?: string })[] {
  return schema.entityTypes.flatMap((type) =>
    (type.attributes ?? []).map((a) => ({ entityType: type.name, name: a.name, values: [...a.values], ...(a.default === undefined ? {} : { default: a.default }) })),
  );
}

/** The relation head's labels: "none", then the schema's relation types. */
export function relationLabels(types: readonly RelationType[]): string[] {
  const names = types.map((t) => t.name);
  if (names.includes(NO_RELATION)) throw new ShapeError(`relation types: "${NO_RELATION}" is reserved for unrelated pairs; rename that relation type`);
  return [NO_RELATION, ...names];
}

export function documentExamples(
  notes: readonly AnnotatedNote[],
  tokenizer: TextTokenizer,
  options: { label: DocumentLabelDef; maxLength: number },
): { examples: DocumentExample[]; notes: number[]; skipped: { note: number; reason: string }[] } {
  const { label } = options;
  const out = { examples: [] as DocumentExample[], notes: [] as number[], skipped: [] as { note: number; reason: string }[] };
  notes.forEach((note, n) => {
    const skip = (reason: string) => void out.skipped.push({ note: n, reason });
    const given = note.labels?.[label.name];
    if (!given || given.length === 0) return skip(`no value for ${label.name}`);
    const unknown = given.filter((v) => !label.values.includes(v));
    if (unknown.length > 0) return skip(`${label.name} has no value ${unknown.map((v) => JSON.stringify(v)).join(", ")}`);
    if (!label.multiple && given.length > 1) return skip(`${label.name} takes one value, got ${given.length}`);
    const ids = firstWindow(tokenizer, note.text, options.maxLength);
    const valueIds = given.map((v) => label.values.indexOf(v));
    out.examples.push({ ids, label: label.multiple ? valueIds : valueIds[0] });
    out.notes.push(n);
  });
  return out;
}

function firstWindow(tokenizer: TextTokenizer, text: string, maxLength: number): number[] {
  return makeWindows(tokenizer.encode(text), { maxLength, stride: 0 })[0].ids;
}

/** A note's spans placed in its windows: the window and positions in its ids, or null when no window holds the span. */
interface PlacedSpans {
  windows: TokenWindow[];
  /** Per span: its encoding's token indices (non-special tokens overlapping it). */
  tokens: number[][];
  /** Per span: the windows that hold all its tokens. */
  holders: number[][];
}

function placeSpans(tokenizer: TextTokenizer, note: AnnotatedNote, options: WindowOptions): PlacedSpans {
  const encoded = tokenizer.encode(note.text);
  const windows = makeWindows(encoded, options);
  const tokens = note.spans.map((span) => {
    const covered: number[] = [];
    encoded.offsets.forEach(([start, end], t) => {
      if (!encoded.special[t] && start < span.end && end > span.start) covered.push(t);
    });
    return covered;
  });
  const holders = tokens.map((covered) =>
    covered.length === 0 ? [] : windows.flatMap((w, i) => (covered[0] >= w.start && covered[covered.length - 1] < w.end ? [i] : [])),
  );
  return { windows, tokens, holders };
}

/** Positions of the encoding's tokens in a window's ids. */
function positionsIn(window: TokenWindow, tokens: readonly number[]): number[] {
  const prefix = window.tokenIndex.findIndex((t) => t === window.start);
  return tokens.map((t) => prefix + (t - window.start));
}

export interface SpanPlace {
  note: number;
  span: number;
  /** The example and its span slot. */
  example: number;
  slot: number;
}

export function spanExamples(
  notes: readonly AnnotatedNote[],
  tokenizer: TextTokenizer,
  options: WindowOptions & { attributes: readonly (AttributeTarget & { default?: string })[] },
): { examples: SpanExample[]; places: SpanPlace[]; unplaced: number; unknownValues: number } {
  const out = { examples: [] as SpanExample[], places: [] as SpanPlace[], unplaced: 0, unknownValues: 0 };
  const { attributes } = options;
  notes.forEach((note, n) => {
    const placed = placeSpans(tokenizer, note, options);
    const byWindow = new Map<number, number[]>();
    note.spans.forEach((span, s) => {
      if (!attributes.some((a) => a.entityType === span.type)) return;
      const w = placed.holders[s][0];
      if (w === undefined) out.unplaced++;
      else byWindow.set(w, [...(byWindow.get(w) ?? []), s]);
    });
    for (const [w, spans] of [...byWindow].sort((a, b) => a[0] - b[0])) {
      const window = placed.windows[w];
      const example = out.examples.length;
      out.examples.push({
        ids: window.ids,
        spans: spans.map((s, slot) => {
          out.places.push({ note: n, span: s, example, slot });
          const labels = attributes.map((a) => {
            if (a.entityType !== note.spans[s].type) return -100;
            const value = note.spans[s].attributes?.[a.name] ?? a.default;
            if (value === undefined) return -100;
            const id = a.values.indexOf(value);
            if (id < 0) out.unknownValues++;
            return id < 0 ? -100 : id;
          });
          return { tokens: positionsIn(window, placed.tokens[s]), labels };
        }),
      });
    }
  });
  return out;
}

export interface PairPlace {
  note: number;
  from: number;
  to: number;
  example: number;
  slot: number;
}

export interface PairOptions extends WindowOptions {
  relationTypes: readonly RelationType[];
  /** Largest gap in tokens between the two spans of a candidate pair. */
  maxDistance: number;
  /** Training: keep this many "none" pairs per related pair in a note (at least `minNegatives`), drawn with `seed`. Absent: keep every candidate. */
  negatives?: { perPositive: number; minNegatives: number; seed: number };
}

/** Whether a relation of `type` may go from an entity of `fromType` to one of `toType` (either way when undirected). */
export function typeFits(type: RelationType, fromType: string, toType: string): boolean {
  const forward = type.from.includes(fromType) && type.to.includes(toType);
  return forward || (!type.directed && type.from.includes(toType) && type.to.includes(fromType));
}

/** Ordered candidate pairs (from, to) of a note's spans, by the relation types' from/to types. */
export function candidatePairs(spans: readonly Span[], types: readonly RelationType[]): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < spans.length; i++) {
    for (let j = 0; j < spans.length; j++) {
      if (i === j) continue;
      // An undirected pair is a candidate once, in text order.
      const allowed = types.some((t) => typeFits(t, spans[i].type, spans[j].type) && (t.directed || textOrder(spans, i, j)));
      if (allowed) pairs.push([i, j]);
    }
  }
  return pairs;
}

function textOrder(spans: readonly Span[], i: number, j: number): boolean {
  return spans[i].start < spans[j].start || (spans[i].start === spans[j].start && i < j);
}

/** The relation label id of a pair: its gold relation's type (either order for undirected types), or 0 for none. */
function pairLabel(note: AnnotatedNote, from: number, to: number, types: readonly RelationType[]): number {
  for (const relation of note.relations ?? []) {
    const t = types.findIndex((type) => type.name === relation.type);
    if (t < 0) continue;
    const same = relation.from === from && relation.to === to;
    const swapped = relation.from === to && relation.to === from;
    if (same || (swapped && !types[t].directed)) return t + 1;
  }
  return 0;
}

export function pairExamples(
  notes: readonly AnnotatedNote[],
  tokenizer: TextTokenizer,
  options: PairOptions,
): { examples: PairExample[]; places: PairPlace[]; positives: number; negatives: number; tooFar: number } {
  const out = { examples: [] as PairExample[], places: [] as PairPlace[], positives: 0, negatives: 0, tooFar: 0 };
  const random = options.negatives ? seededRandom(options.negatives.seed) : undefined;
  notes.forEach((note, n) => {
    const placed = placeSpans(tokenizer, note, options);
    const candidates: { from: number; to: number; window: number; label: number }[] = [];
    for (const [i, j] of candidatePairs(note.spans, options.relationTypes)) {
      const [a, b] = [placed.tokens[i], placed.tokens[j]];
      if (a.length === 0 || b.length === 0) continue;
      const gap = Math.max(0, Math.max(a[0], b[0]) - Math.min(a[a.length - 1], b[b.length - 1]) - 1);
      const window = placed.holders[i].find((w) => placed.holders[j].includes(w));
      if (gap > options.maxDistance || window === undefined) {
        out.tooFar++;
        continue;
      }
      candidates.push({ from: i, to: j, window, label: pairLabel(note, i, j, options.relationTypes) });
    }
    const kept = sampleNegatives(candidates, options.negatives, random);
    const byWindow = new Map<number, typeof kept>();
    for (const c of kept) byWindow.set(c.window, [...(byWindow.get(c.window) ?? []), c]);
    for (const [w, pairs] of [...byWindow].sort((a, b) => a[0] - b[0])) {
      const window = placed.windows[w];
      const example = out.examples.length;
      out.examples.push({
        ids: window.ids,
        pairs: pairs.map((c, slot) => {
          out.places.push({ note: n, from: c.from, to: c.to, example, slot });
          if (c.label === 0) out.negatives++;
          else out.positives++;
          return { from: positionsIn(window, placed.tokens[c.from]), to: positionsIn(window, placed.tokens[c.to]), label: c.label };
        }),
      });
    }
  });
  return out;
}

/** All related pairs, and a seeded sample of the others (or all of them without sampling). */
function sampleNegatives<T extends { label: number }>(candidates: T[], negatives: PairOptions["negatives"], random: ReturnType<typeof seededRandom> | undefined): T[] {
  if (!negatives || !random) return candidates;
  const positives = candidates.filter((c) => c.label !== 0);
  const others = candidates.filter((c) => c.label === 0);
  const keep = Math.max(negatives.minNegatives, Math.ceil(negatives.perPositive * positives.length));
  for (let i = others.length - 1; i > 0; i--) {
    const j = Math.floor(random.uniform() * (i + 1));
    [others[i], others[j]] = [others[j], others[i]];
  }
  const chosen = new Set<T>([...positives, ...others.slice(0, keep)]);
  return candidates.filter((c) => chosen.has(c));
}
