// Agreement between two annotators (two people, or a person and the LLM) on the same notes.
// Token-level Cohen's kappa labels each token with the type of the span it falls in (or O),
// using the same token-to-span rule as training labels (src/core/text/bio.ts). Because O
// tokens dominate clinical notes and inflate kappa, it is also given over the tokens that
// at least one annotator put in a span.

import type { Span } from "../corpus/types.ts";
import { assignTokensToSpans, OUTSIDE, type TokenOffset } from "../text/bio.ts";
import { spanMetrics, type Scores } from "./span-metrics.ts";

export interface AnnotatedNote {
  tokens: readonly TokenOffset[];
  /** Per token: true for special tokens; without it, tokens with start === end are skipped. */
  special?: readonly boolean[];
  a: readonly Span[];
  b: readonly Span[];
}

export interface KappaResult {
  /** Cohen's kappa over all tokens. */
  kappa: number;
  /** Cohen's kappa over tokens that at least one annotator labelled with a type. */
  kappaAnnotated: number;
  /** Observed agreement over all tokens. */
  observed: number;
  tokens: number;
  annotatedTokens: number;
}

/** Per token: the type of its span, or O (special tokens: null). Nested spans: the outer one wins. */
export function tokenTypes(tokens: readonly TokenOffset[], spans: readonly Span[], special?: readonly boolean[]): (string | null)[] {
  const { owner } = assignTokensToSpans(tokens, spans, special);
  return tokens.map((token, t) => {
    if (special ? special[t] : token.start === token.end) return null;
    return owner[t] === -1 ? OUTSIDE : spans[owner[t]].type;
  });
}

/**
 * Cohen's kappa from paired labels. When chance agreement is 1 (both annotators used one
 * and the same label everywhere) kappa is 0/0; we return 1, since they agree perfectly.
 * With no pairs at all it is 0.
 */
export function cohensKappa(pairs: readonly (readonly [string, string])[]): number {
  const n = pairs.length;
  if (n === 0) return 0;
  const countA = new Map<string, number>();
  const countB = new Map<string, number>();
  let agree = 0;
  for (const [a, b] of pairs) {
    if (a === b) agree++;
    countA.set(a, (countA.get(a) ?? 0) + 1);
    countB.set(b, (countB.get(b) ?? 0) + 1);
  }
  const observed = agree / n;
  let expected = 0;
  for (const [label, ca] of countA) expected += (ca / n) * ((countB.get(label) ?? 0) / n);
  if (expected >= 1) return observed >= 1 ? 1 : 0;
  return (observed - expected) / (1 - expected);
}

export function tokenKappa(notes: readonly AnnotatedNote[]): KappaResult {
  const all: [string, string][] = [];
  for (const note of notes) {
    const a = tokenTypes(note.tokens, note.a, note.special);
    const b = tokenTypes(note.tokens, note.b, note.special);
    for (let t = 0; t < a.length; t++) if (a[t] !== null && b[t] !== null) all.push([a[t]!, b[t]!]);
  }
  const annotated = all.filter(([a, b]) => a !== OUTSIDE || b !== OUTSIDE);
  return {
    kappa: cohensKappa(all),
    kappaAnnotated: cohensKappa(annotated),
    observed: all.length ? all.filter(([a, b]) => a === b).length / all.length : 0,
    tokens: all.length,
    annotatedTokens: annotated.length,
  };
}

export interface SpanAgreement {
  /** Strict micro scores with annotator a as reference; F1 is symmetric in a and b. */
  strict: Scores;
  lenient: Scores;
}

/** Span F1 between two annotators: span metrics with a as gold and b as prediction. */
export function spanAgreement(notes: readonly { a: readonly Span[]; b: readonly Span[] }[]): SpanAgreement {
  const metrics = spanMetrics(notes.map((note) => ({ gold: note.a, pred: note.b })));
  return { strict: metrics.strict.micro, lenient: metrics.lenient.micro };
}
