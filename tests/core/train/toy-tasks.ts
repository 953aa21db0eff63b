// Toy data for the document, attribute and relation models: rules a small encoder can only
// learn from the tokens (and their context), with held-out sets drawn from other seeds.
// Token 1 plays [CLS]; the other ids are drawn from 2 … VOCAB-1.

import { createConfig, type EncoderConfig } from "../../../src/core/model/config.ts";
import { seededRandom } from "../../../src/core/model/random.ts";
import type { DocumentExample, PairExample, SpanExample } from "../../../src/core/train/task-batches.ts";

export const VOCAB = 24;
const CLS = 1;
/** Document classes are the marker tokens the document holds. */
export const MARKERS = [7, 8, 9];
/** "no" before an entity makes it negated; a 6 inside a B entity makes it severe. */
const NEGATION = 5;
const SEVERE = 6;
/** Between two entities: "with" (4) or "of" (3) relates them, left to right. */
const WITH = 4;
const OF = 3;
const FILLER = [2, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23];

export function toyConfig(labels: readonly string[]): EncoderConfig {
  return createConfig("bert", { vocabSize: VOCAB, hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 64, maxPositions: 32, labels });
}

function fillerTokens(random: ReturnType<typeof seededRandom>, n: number): number[] {
  return Array.from({ length: n }, () => FILLER[Math.floor(random.uniform() * FILLER.length)]);
}

/** Single choice: the one marker token the document holds is its class. */
export function singleLabelDocuments(count: number, seed: number): DocumentExample[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const ids = [CLS, ...fillerTokens(random, 6 + Math.floor(random.uniform() * 16))];
    const label = Math.floor(random.uniform() * MARKERS.length);
    ids.splice(1 + Math.floor(random.uniform() * (ids.length - 1)), 0, MARKERS[label]);
    return { ids, label };
  });
}

/** Multiple choice: each marker token present (independently, p = 1/2) is a class that holds. */
export function multiLabelDocuments(count: number, seed: number): DocumentExample[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const ids = [CLS, ...fillerTokens(random, 6 + Math.floor(random.uniform() * 12))];
    const label = MARKERS.map((_, c) => c).filter(() => random.uniform() < 0.5);
    for (const c of label) ids.splice(1 + Math.floor(random.uniform() * (ids.length - 1)), 0, MARKERS[c]);
    return { ids, label };
  });
}

/**
 * Entities of type A (attribute 0: certainty, negative when "no" comes right before) and B
 * (attribute 1: severity, severe when a 6 is inside); an attribute of the other type is -100.
 */
export function attributeSentences(count: number, seed: number): SpanExample[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const ids = [CLS];
    const spans: SpanExample["spans"] = [];
    const entities = 2 + Math.floor(random.uniform() * 3);
    for (let e = 0; e < entities; e++) {
      ids.push(...fillerTokens(random, 1 + Math.floor(random.uniform() * 2)));
      const typeA = random.uniform() < 0.5;
      const flag = random.uniform() < 0.5;
      if (typeA && flag) ids.push(NEGATION);
      const tokens = fillerTokens(random, 1 + Math.floor(random.uniform() * 3));
      if (!typeA && flag) tokens.splice(Math.floor(random.uniform() * (tokens.length + 1)), 0, SEVERE);
      spans.push({ tokens: tokens.map((_, k) => ids.length + k), labels: typeA ? [Number(flag), -100] : [-100, Number(flag)] });
      ids.push(...tokens);
    }
    ids.push(...fillerTokens(random, 1));
    return { ids, spans };
  });
}

/**
 * Three entities in a row with one joining token between neighbours: "with" gives relation 1
 * (left → right), "of" relation 2, filler none. Every ordered pair is a candidate, so the
 * reverse of a related pair is "none" (direction matters).
 */
export function relationSentences(count: number, seed: number): PairExample[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const ids = [CLS, ...fillerTokens(random, 1)];
    const entities: number[][] = [];
    const joins: number[] = [];
    for (let e = 0; e < 3; e++) {
      if (e > 0) {
        const u = random.uniform();
        const join = u < 1 / 3 ? WITH : u < 2 / 3 ? OF : FILLER[Math.floor(random.uniform() * FILLER.length)];
        joins.push(join === WITH ? 1 : join === OF ? 2 : 0);
        ids.push(join);
      }
      const n = 1 + Math.floor(random.uniform() * 2);
      entities.push(Array.from({ length: n }, (_, k) => ids.length + k));
      ids.push(...fillerTokens(random, n));
    }
    ids.push(...fillerTokens(random, 1));
    const pairs: PairExample["pairs"] = [];
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        if (i === j) continue;
        pairs.push({ from: entities[i], to: entities[j], label: j === i + 1 ? joins[i] : 0 });
      }
    }
    return { ids, pairs };
  });
}

export function argmax(values: ArrayLike<number>, from: number, to: number): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (values[i] > values[best]) best = i;
  return best - from;
}
