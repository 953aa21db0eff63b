// Self-consistency within a chunk, then the chunks of a note merged into one annotation.
//
// Voting (n samples of one chunk; `parsed` = the samples that could be read):
//   spans       confidence = fraction of samples that produced exactly that span (start,
//               end, type); kept at or above the threshold; overlaps resolved by
//               confidence, then length (align.ts resolveOverlaps);
//   attributes  per kept span and attribute, the value most of the samples that produced
//               the span gave (no value = the default; a tie goes to the default, else to
//               the value seen first); its confidence = its votes / parsed samples;
//   relations   confidence = fraction of samples that related the same two spans (either
//               way round for an undirected type); kept at or above the threshold. A kept
//               relation whose span was not kept is returned as unplaced;
//   labels      single choice: the value most samples gave (ties: the first seen), kept
//               when its fraction reaches the threshold; multiple choice: each value whose
//               fraction does.
// Merging chunks (spans as chunk.ts mergeChunkSpans does: the same span from two chunks
// once, with the higher confidence and that chunk's attributes, overlaps resolved):
//   relations   shifted to note offsets, the same relation from two chunks once (the
//               higher confidence); one whose span lost to a span of another chunk is
//               unplaced, never re-pointed;
//   labels      single choice: the value most chunks chose (ties: the earliest chunk);
//               multiple choice: the union.

import type { DocumentLabels, Relation } from "../corpus/types.ts";
import { isDirected } from "../schema/validate.ts";
import { resolveOverlaps, type PlacedSpan } from "./align.ts";
import type { AnswerSpec } from "./answer-spec.ts";
import { mergeChunkSpans, type Chunk } from "./chunk.ts";
import { describeKey, parseSpanKey, relationKey, spanKey, type KeyedRelation } from "./relate.ts";
import type { AnnotatedSpan, UnplacedRelation } from "./types.ts";

/** Label name -> value -> confidence (fraction of samples, the best chunk's). */
export type LabelConfidence = Record<string, Record<string, number>>;

/** What one readable sample of a chunk gave, after alignment. */
export interface SampleResult {
  spans: readonly PlacedSpan[];
  relations: readonly KeyedRelation[];
  labels: DocumentLabels;
}

export interface ChunkResult {
  spans: AnnotatedSpan[];
  relations: KeyedRelation[];
  unplacedRelations: UnplacedRelation[];
  labels: DocumentLabels;
  labelConfidence: LabelConfidence;
}

export function voteSamples(samples: readonly SampleResult[], spec: AnswerSpec, threshold: number, chunkText: string): ChunkResult {
  const parsed = samples.length;
  const spans = voteSpans(samples, threshold);
  const keptKeys = new Set(spans.map(spanKey));

  const relationVotes = new Map<string, { relation: KeyedRelation; count: number }>();
  for (const sample of samples) {
    const seen = new Set<string>();
    for (const relation of sample.relations) {
      const key = relationKey(relation, isDirected(spec.relationTypes, relation.type));
      if (seen.has(key)) continue;
      seen.add(key);
      const vote = relationVotes.get(key);
      if (vote) vote.count++;
      else relationVotes.set(key, { relation, count: 1 });
    }
  }
  const relations: KeyedRelation[] = [];
  const unplacedRelations: UnplacedRelation[] = [];
  for (const { relation, count } of relationVotes.values()) {
    const confidence = count / parsed;
    if (confidence < threshold) continue;
    const lost = [relation.from, relation.to].find((key) => !keptKeys.has(key));
    if (lost === undefined) relations.push({ ...relation, confidence });
    else {
      unplacedRelations.push({
        type: relation.type,
        from: describeKey(chunkText, relation.from),
        to: describeKey(chunkText, relation.to),
        reason: `${describeKey(chunkText, lost)} was not kept (under the confidence threshold, or it lost an overlap)`,
      });
    }
  }
  return { spans, relations, unplacedRelations, ...voteLabels(samples.map((sample) => sample.labels), spec, threshold, parsed) };
}

function voteSpans(samples: readonly SampleResult[], threshold: number): AnnotatedSpan[] {
  const parsed = samples.length;
  const votes = new Map<string, { span: PlacedSpan; count: number; attributes: Map<string, Map<string, number>> }>();
  for (const sample of samples) {
    for (const span of sample.spans) {
      const key = spanKey(span);
      let vote = votes.get(key);
      if (vote) vote.count++;
      else votes.set(key, (vote = { span, count: 1, attributes: new Map() }));
      for (const [name, value] of Object.entries(span.attributes ?? {})) {
        const values = vote.attributes.get(name) ?? new Map<string, number>();
        values.set(value, (values.get(value) ?? 0) + 1);
        vote.attributes.set(name, values);
      }
    }
  }
  const spans = [...votes.values()]
    .map(({ span, count, attributes }) => {
      const { attributes: _first, attributeConfidence: _firstConfidence, ...rest } = span;
      const voted = voteAttributes(attributes, count, parsed);
      return { ...rest, confidence: count / parsed, ...voted };
    })
    .filter((span) => span.confidence >= threshold);
  return resolveOverlaps(spans).kept.map(({ mention: _, ...span }) => span);
}

/** Per attribute: explicit values with their votes; the samples that gave the span without it voted for the default. */
function voteAttributes(attributes: Map<string, Map<string, number>>, withSpan: number, parsed: number): Pick<AnnotatedSpan, "attributes" | "attributeConfidence"> {
  const chosen: Record<string, string> = {};
  const confidence: Record<string, number> = {};
  for (const [name, values] of attributes) {
    const explicit = [...values.values()].reduce((sum, count) => sum + count, 0);
    let best: [string, number] = ["", withSpan - explicit];
    for (const [value, count] of values) if (count > best[1]) best = [value, count];
    if (best[0] === "") continue;
    chosen[name] = best[0];
    confidence[name] = best[1] / parsed;
  }
  return Object.keys(chosen).length > 0 ? { attributes: chosen, attributeConfidence: confidence } : {};
}

function voteLabels(given: readonly DocumentLabels[], spec: AnswerSpec, threshold: number, parsed: number): { labels: DocumentLabels; labelConfidence: LabelConfidence } {
  const labels: DocumentLabels = {};
  const labelConfidence: LabelConfidence = {};
  for (const def of spec.documentLabels) {
    const counts = new Map<string, number>();
    let answered = false;
    for (const sample of given) {
      if (sample[def.name] === undefined) continue;
      answered = true;
      for (const value of sample[def.name]) counts.set(value, (counts.get(value) ?? 0) + 1);
    }
    if (!answered) continue;
    let kept = [...counts].filter(([, count]) => count / parsed >= threshold);
    // Map order is first-seen order, so the first of the most voted wins a tie.
    if (!def.multiple) kept = kept.filter(([, count]) => count === Math.max(...kept.map(([, c]) => c))).slice(0, 1);
    if (kept.length === 0 && !def.multiple) continue;
    labels[def.name] = kept.map(([value]) => value);
    labelConfidence[def.name] = Object.fromEntries(kept.map(([value, count]) => [value, count / parsed]));
  }
  return { labels, labelConfidence };
}

export interface NoteResult {
  spans: AnnotatedSpan[];
  /** Indexes into `spans`. */
  relations: Relation[];
  unplacedRelations: UnplacedRelation[];
  labels: DocumentLabels;
  labelConfidence: LabelConfidence;
}

export function mergeChunks(perChunk: readonly (ChunkResult & { chunk: Chunk })[], spec: AnswerSpec, noteText: string): NoteResult {
  const spans = mergeChunkSpans(perChunk);
  const index = new Map(spans.map((span, at) => [spanKey(span), at]));
  const shift = (key: string, by: number) => {
    const { start, end, type } = parseSpanKey(key);
    return spanKey({ start: start + by, end: end + by, type });
  };

  const best = new Map<string, KeyedRelation>();
  const unplacedRelations: UnplacedRelation[] = perChunk.flatMap((result) => result.unplacedRelations);
  for (const { chunk, relations } of perChunk) {
    for (const relation of relations) {
      const shifted = { ...relation, from: shift(relation.from, chunk.start), to: shift(relation.to, chunk.start) };
      const lost = [shifted.from, shifted.to].find((key) => !index.has(key));
      if (lost !== undefined) {
        unplacedRelations.push({
          type: relation.type,
          from: describeKey(noteText, shifted.from),
          to: describeKey(noteText, shifted.to),
          reason: `${describeKey(noteText, lost)} lost an overlap to a span found in another chunk`,
        });
        continue;
      }
      const key = relationKey(shifted, isDirected(spec.relationTypes, relation.type));
      const seen = best.get(key);
      if (!seen || (shifted.confidence ?? 1) > (seen.confidence ?? 1)) best.set(key, shifted);
    }
  }
  const relations = [...best.values()]
    .map((relation): Relation => ({ type: relation.type, from: index.get(relation.from)!, to: index.get(relation.to)!, ...(relation.confidence !== undefined ? { confidence: relation.confidence } : {}) }))
    .sort((a, b) => a.from - b.from || a.to - b.to || a.type.localeCompare(b.type));
  return { spans, relations, unplacedRelations: dedupe(unplacedRelations), ...mergeLabels(perChunk, spec) };
}

function mergeLabels(perChunk: readonly ChunkResult[], spec: AnswerSpec): { labels: DocumentLabels; labelConfidence: LabelConfidence } {
  const labels: DocumentLabels = {};
  const labelConfidence: LabelConfidence = {};
  for (const def of spec.documentLabels) {
    const chosen = perChunk.filter((result) => result.labels[def.name] !== undefined);
    if (chosen.length === 0) continue;
    const confidence: Record<string, number> = {};
    const chunksFor = new Map<string, number>();
    for (const result of chosen) {
      for (const value of result.labels[def.name]) {
        chunksFor.set(value, (chunksFor.get(value) ?? 0) + 1);
        confidence[value] = Math.max(confidence[value] ?? 0, result.labelConfidence[def.name]?.[value] ?? 1);
      }
    }
    let values = [...chunksFor.keys()];
    if (!def.multiple && values.length > 0) {
      const most = Math.max(...chunksFor.values());
      values = [values.find((value) => chunksFor.get(value) === most)!];
    }
    labels[def.name] = values;
    labelConfidence[def.name] = Object.fromEntries(values.map((value) => [value, confidence[value]]));
  }
  return { labels, labelConfidence };
}

function dedupe(relations: readonly UnplacedRelation[]): UnplacedRelation[] {
  const seen = new Set<string>();
  return relations.filter((relation) => {
    const key = JSON.stringify(relation);
    return !seen.has(key) && !!seen.add(key);
  });
}
