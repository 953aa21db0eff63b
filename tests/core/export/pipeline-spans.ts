// transformers.js's per-token labels read the way our predictor reads its own (BIO on the
// first sub-token of each word, seqeval repairs), so the two can be compared span by span.
import type { Span } from "../../../src/core/corpus/types.ts";
import { bioToSpans } from "../../../src/core/text/bio.ts";
import type { TextTokenizer } from "../../../src/core/text/tokenizer.ts";

/** Spans from the pipeline's per-token labels, decoded as our predictor decodes (first sub-token of each word). */
export function pipelineSpans(
  text: string,
  tokens: { entity: string; index: number }[],
  tokenizer: TextTokenizer,
): Span[] {
  const encoded = tokenizer.encode(text);
  const labels = encoded.ids.map(() => "O");
  for (const token of tokens) labels[token.index] = token.entity;
  const offsets = encoded.offsets.map(([start, end]) => ({ start, end }));
  return bioToSpans(offsets, labels, { subword: "first", isContinuation: encoded.isContinuation, special: encoded.special }).map(({ start, end, type }) => ({ start, end, type }));
}

