// BIO tags <-> character spans. Tokens come from the tokenizer with character offsets;
// this file only maps between the two views, so training labels and decoded predictions
// agree on what "inside a span" means.
//
// Conventions (the same in both directions):
// - A token belongs to a span when their character ranges overlap at all, so a token
//   only partly covered by a span (a span that ends inside a word piece) counts as
//   inside it. The decoded span then ends at that token's end: a model cannot say more.
// - Special tokens ([CLS], [SEP], padding) have no text; they are flagged by a mask, or,
//   without a mask, recognised by start === end. They never carry a label.
// - Decoding follows CoNLL/seqeval IOB2 chunking over the labelled positions (special
//   tokens and, with subword "first", continuation pieces dropped, as the Hugging Face
//   token-classification recipe drops -100 positions), so strict span scores computed
//   from decoded spans equal seqeval's entity-level scores on the same tags.
// - A tokenizer that gives ordinary tokens zero width (a lone SentencePiece "▁") needs
//   the special mask; otherwise those tokens are taken for special ones.

import { AppError } from "../errors.ts";
import type { Span } from "../corpus/types.ts";

/** A token's character range in the note: [start, end). */
export interface TokenOffset {
  start: number;
  end: number;
}

/** Label id for positions the loss ignores (PyTorch and HF use the same value). */
export const IGNORE_INDEX = -100;

export const OUTSIDE = "O";

export interface BioLabels {
  /** `O` first, then `B-X`, `I-X` for each type in the order given. */
  id2label: string[];
  label2id: Record<string, number>;
}

export function bioLabels(types: readonly string[]): BioLabels {
  const seen = new Set<string>();
  const id2label = [OUTSIDE];
  for (const type of types) {
    if (seen.has(type)) throw new AppError(`Entity type "${type}" is listed twice; give each type once.`);
    seen.add(type);
    id2label.push(`B-${type}`, `I-${type}`);
  }
  const label2id: Record<string, number> = {};
  id2label.forEach((label, id) => (label2id[label] = id));
  return { id2label, label2id };
}

/** Whether token `i` is a special token: from the mask when given, else start === end. */
function isSpecial(tokens: readonly TokenOffset[], i: number, special?: readonly boolean[]): boolean {
  return special ? special[i] === true : tokens[i].start === tokens[i].end;
}

/**
 * Which span each token belongs to (index into `spans`, or -1), with nested or crossing
 * spans resolved, since BIO gives a token one label: spans are placed by start, longer
 * first at the same start, and a span that shares a token with one already placed is
 * dropped whole (reported in `overlapping`) rather than cut into a piece nobody annotated.
 */
export function assignTokensToSpans(
  tokens: readonly TokenOffset[],
  spans: readonly Span[],
  special?: readonly boolean[],
): { owner: Int32Array; tokensOf: number[][]; overlapping: number[] } {
  const owner = new Int32Array(tokens.length).fill(-1);
  const tokensOf: number[][] = spans.map(() => []);
  const overlapping: number[] = [];
  const order = spans
    .map((_, i) => i)
    .sort((a, b) => spans[a].start - spans[b].start || spans[b].end - spans[a].end || a - b);
  for (const s of order) {
    const span = spans[s];
    const covered: number[] = [];
    for (let t = 0; t < tokens.length; t++) {
      if (isSpecial(tokens, t, special)) continue;
      if (tokens[t].start < span.end && tokens[t].end > span.start) covered.push(t);
    }
    if (covered.some((t) => owner[t] !== -1)) {
      overlapping.push(s);
      continue;
    }
    for (const t of covered) owner[t] = s;
    tokensOf[s] = covered;
  }
  return { owner, tokensOf, overlapping };
}

export interface SpansToBioOptions {
  /** Entity types; label ids follow `bioLabels(labels)`. */
  labels: readonly string[];
  /** "first": only the first sub-token of a word is labelled, the rest get -100. */
  subword: "first" | "all";
  /** Per token: true for a word piece that continues the previous token's word. */
  isContinuation?: readonly boolean[];
  /** Per token: true for special tokens. Without it, tokens with start === end are special. */
  special?: readonly boolean[];
}

export type LostReason =
  /** The span covers no token (it lies in text the window does not hold, or is empty). */
  | "no-token"
  /** With subword "first", the span covers only continuation word pieces. */
  | "continuation-only"
  /** It shares a token with a span placed before it (nested or crossing spans). */
  | "overlap"
  /** Its type is not one of `labels`. */
  | "unknown-type";

export interface LostSpan {
  span: Span;
  reason: LostReason;
}

export interface BioEncoding {
  /** Per token: a label id, or IGNORE_INDEX for special tokens and skipped word pieces. */
  labelIds: number[];
  /** Per token: the span's confidence inside a span (default 1), 1 for O, 0 where ignored. */
  weights: number[];
  /** Spans that left no label behind, so the caller can count them. */
  lost: LostSpan[];
}

export function spansToBio(tokens: readonly TokenOffset[], spans: readonly Span[], options: SpansToBioOptions): BioEncoding {
  const { label2id } = bioLabels(options.labels);
  const n = tokens.length;
  checkLength("isContinuation", options.isContinuation, n);
  checkLength("special", options.special, n);
  const skipPiece = (t: number) => options.subword === "first" && options.isContinuation?.[t] === true;
  const ignored = (t: number) => isSpecial(tokens, t, options.special) || skipPiece(t);

  const labelIds = new Array<number>(n).fill(label2id[OUTSIDE]);
  const weights = new Array<number>(n).fill(1);
  for (let t = 0; t < n; t++) {
    if (ignored(t)) {
      labelIds[t] = IGNORE_INDEX;
      weights[t] = 0;
    }
  }

  const lost: LostSpan[] = [];
  const known = spans.filter((span) => {
    if (`B-${span.type}` in label2id) return true;
    lost.push({ span, reason: "unknown-type" });
    return false;
  });
  const { tokensOf, overlapping } = assignTokensToSpans(tokens, known, options.special);
  const dropped = new Set(overlapping);
  known.forEach((span, s) => {
    if (dropped.has(s)) return lost.push({ span, reason: "overlap" });
    if (tokensOf[s].length === 0) return lost.push({ span, reason: "no-token" });
    const labelled = tokensOf[s].filter((t) => !ignored(t));
    if (labelled.length === 0) return lost.push({ span, reason: "continuation-only" });
    const weight = span.confidence ?? 1;
    labelled.forEach((t, k) => {
      labelIds[t] = label2id[`${k === 0 ? "B" : "I"}-${span.type}`];
      weights[t] = weight;
    });
  });
  return { labelIds, weights, lost };
}

export interface BioToSpansOptions {
  /** Needed when labels are ids. */
  id2label?: readonly string[];
  /**
   * Per token, either the probability of the token's label, or the whole distribution
   * over label ids (then `id2label` fixes the ids). A span's confidence is the mean over
   * the tokens whose label made it.
   */
  probabilities?: ArrayLike<number> | readonly ArrayLike<number>[];
  /** "first": continuation word pieces take no label of their own; they extend the open span. */
  subword?: "first" | "all";
  isContinuation?: readonly boolean[];
  special?: readonly boolean[];
}

/**
 * Spans from BIO labels, with the CoNLL/seqeval repairs: an `I-X` that does not follow
 * `B-X` or `I-X` starts a new X span, and an `I-Y` after `B-X` or `I-X` starts a new Y span.
 * A label of -100 on a continuation piece extends the open span; elsewhere it reads as O.
 */
export function bioToSpans(
  tokens: readonly TokenOffset[],
  labels: readonly string[] | readonly number[],
  options: BioToSpansOptions = {},
): Span[] {
  const n = tokens.length;
  if (labels.length !== n) throw new AppError(`bioToSpans: ${n} tokens but ${labels.length} labels; give one label per token.`);
  checkLength("isContinuation", options.isContinuation, n);
  checkLength("special", options.special, n);
  const probabilities = options.probabilities;
  if (probabilities && probabilities.length !== n) {
    throw new AppError(`bioToSpans: ${n} tokens but ${probabilities.length} probability rows; give one per token.`);
  }
  const label2id = options.id2label ? Object.fromEntries(options.id2label.map((label, id) => [label, id])) : undefined;

  const labelOf = (t: number): string | null => {
    const raw = labels[t];
    if (typeof raw === "string") return raw;
    if (raw === IGNORE_INDEX) return null;
    const label = options.id2label?.[raw];
    if (label === undefined) {
      throw new AppError(
        options.id2label
          ? `bioToSpans: label id ${raw} at token ${t} is not in id2label (${options.id2label.length} labels).`
          : "bioToSpans: labels are ids, so pass options.id2label to name them.",
      );
    }
    return label;
  };
  const probabilityOf = (t: number, label: string): number | undefined => {
    if (!probabilities) return undefined;
    const row = probabilities[t];
    if (typeof row === "number") return row;
    const id = typeof labels[t] === "number" ? (labels[t] as number) : label2id?.[label];
    if (id === undefined) throw new AppError("bioToSpans: probability rows need options.id2label to find each label's column.");
    return row[id];
  };

  interface OpenSpan {
    span: Span;
    probabilitySum: number;
    probabilityCount: number;
  }
  const spans: Span[] = [];
  const close = (open: OpenSpan | null): null => {
    if (!open) return null;
    if (probabilities) open.span.confidence = open.probabilityCount ? open.probabilitySum / open.probabilityCount : 0;
    spans.push(open.span);
    return null;
  };

  let open: OpenSpan | null = null;
  for (let t = 0; t < n; t++) {
    // Special tokens carry no text: skipped, as evaluation drops -100 positions before seqeval.
    if (isSpecial(tokens, t, options.special)) continue;
    const continuation = options.isContinuation?.[t] === true;
    const label = labelOf(t);
    if ((continuation && options.subword === "first") || (continuation && label === null)) {
      // A word piece without a label of its own: part of whatever its word is in.
      if (open) open.span.end = Math.max(open.span.end, tokens[t].end);
      continue;
    }
    if (label === null || label === OUTSIDE) {
      open = close(open);
      continue;
    }
    const [tag, type] = splitLabel(label, t);
    if (tag === "B" || !open || open.span.type !== type) {
      close(open);
      open = { span: { start: tokens[t].start, end: tokens[t].end, type }, probabilitySum: 0, probabilityCount: 0 };
    }
    open.span.end = Math.max(open.span.end, tokens[t].end);
    const p = probabilityOf(t, label);
    if (p !== undefined) {
      open.probabilitySum += p;
      open.probabilityCount += 1;
    }
  }
  close(open);
  return spans;
}

function splitLabel(label: string, t: number): ["B" | "I", string] {
  const tag = label.slice(0, 2);
  if ((tag === "B-" || tag === "I-") && label.length > 2) return [tag[0] as "B" | "I", label.slice(2)];
  throw new AppError(`bioToSpans: label "${label}" at token ${t} is not O, B-<type> or I-<type>.`);
}

function checkLength(name: string, values: readonly unknown[] | undefined, n: number): void {
  if (values && values.length !== n) throw new AppError(`${name} has ${values.length} entries for ${n} tokens; give one per token.`);
}
