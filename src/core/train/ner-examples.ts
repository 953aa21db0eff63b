// Notes with spans become training examples: the model's own tokenizer (with character
// offsets), BIO labels on the first piece of each word, and windows of the model's length
// over notes that are longer, so no annotation is cut away.
import type { Span } from "../corpus/types.ts";
import { spansToBio, type LostSpan } from "../text/bio.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import { makeWindows } from "../text/windows.ts";
import type { TokenizedExample } from "./batches.ts";

export interface LabelledNote {
  text: string;
  spans: readonly Span[];
}

export interface ExampleOptions {
  /** Entity types, in the order of the model's labels (O, B-…, I-… per bioLabels). */
  types: readonly string[];
  /** Tokens per window including [CLS] and [SEP]. */
  maxLength: number;
  /** Tokens shared by consecutive windows of a long note. */
  stride: number;
  /** Spans below this confidence (LLM labels) are dropped and their tokens ignored by the loss; keep all by default. */
  minConfidence?: number;
  /** Weight each span's tokens by its confidence (confidence-weighted loss). */
  weightByConfidence?: boolean;
}

export interface TrainingExamples {
  examples: TokenizedExample[];
  /** Spans that no token could carry (overlaps, unknown types, whitespace). */
  lost: LostSpan[];
  /** Spans left out for low confidence. */
  belowThreshold: number;
}

export function trainingExamples(
  notes: Iterable<LabelledNote>,
  tokenizer: TextTokenizer,
  options: ExampleOptions,
): TrainingExamples {
  const result: TrainingExamples = { examples: [], lost: [], belowThreshold: 0 };
  const confident = (span: Span) => options.minConfidence === undefined || (span.confidence ?? 1) >= options.minConfidence;
  for (const note of notes) {
    const spans = note.spans
      .filter(confident)
      .map((span) => (options.weightByConfidence ? span : { ...span, confidence: undefined }));
    const doubtful = note.spans.filter((span) => !confident(span));
    result.belowThreshold += doubtful.length;
    const encoded = tokenizer.encode(note.text);
    const tokens = encoded.offsets.map(([start, end]) => ({ start, end }));
    const { labelIds, weights, lost } = spansToBio(tokens, spans, {
      labels: options.types,
      subword: "first",
      isContinuation: encoded.isContinuation,
      special: encoded.special,
    });
    result.lost.push(...lost);
    // A dropped span's tokens are not known to be outside an entity: the loss ignores them
    // rather than teaching O (measured with npm run bench -- adapt: labelling them O cost
    // up to 0.2 F1 at high noise).
    for (const span of doubtful) {
      tokens.forEach((token, t) => {
        if (token.start < span.end && token.end > span.start && !encoded.special[t]) {
          labelIds[t] = -100;
          weights[t] = 0;
        }
      });
    }
    for (const window of makeWindows(encoded, { maxLength: options.maxLength, stride: options.stride })) {
      result.examples.push({
        ids: window.ids,
        labels: window.tokenIndex.map((index) => (index === null ? -100 : labelIds[index])),
        weights: window.tokenIndex.map((index) => (index === null ? 0 : weights[index])),
      });
    }
  }
  return result;
}
