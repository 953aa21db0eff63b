// How much of a note goes into one prompt. A local model has a fixed context (4,096
// tokens for most WebLLM builds), which the prompt without the note (instructions,
// schema, guideline, few-shot examples), the note's chunk and the answer share. The
// model's tokenizer is inside WebLLM's worker, so the sizes are estimated from the text,
// on the high side: `estimateTokens` never counted fewer tokens than GPT-2's or Llama-3's
// tokenizer on 2,000-character pieces of ../shared/data's Spanish and English corpora
// (tests/core/annotate/budget.test.ts; it counts about 1.3x Spanish and 1.9x English
// tokens). An engine that still reports an overflow gets the note in smaller chunks
// (annotator.ts).

import type { ChatMessage } from "./chat.ts";
import { PromptTooLongError } from "./errors.ts";

const PIECES = /\p{L}+|\p{N}+|\s+|[^\s\p{L}\p{N}]/gu;

/**
 * An upper estimate of a text's tokens for the models the app offers: per word, lower-case
 * ASCII letters 2.5 to a token, capitals 1.5 to a token, every other letter (accented,
 * CJK: two or three bytes in byte-level vocabularies) 2 tokens; one token per digit,
 * punctuation mark and run of whitespace with a line break.
 */
export function estimateTokens(text: string): number {
  let tokens = 0;
  for (const [piece] of text.matchAll(PIECES)) {
    if (/^\s/u.test(piece)) {
      if (piece.includes("\n")) tokens += 1;
    } else if (/^\p{L}/u.test(piece)) {
      let wide = 0;
      let capitals = 0;
      let plain = 0;
      for (const char of piece) {
        if (char > "\u007f") wide++;
        else if (char >= "A" && char <= "Z") capitals++;
        else plain++;
      }
      tokens += wide * 2 + Math.ceil(capitals / 1.5) + Math.ceil(plain / 2.5);
    } else {
      tokens += [...piece].length;
    }
  }
  return tokens;
}

/** Chat-template tokens around each message (role markers, separators), on the high side. */
const PER_MESSAGE = 8;
/**
 * Room kept for the answer, per estimated token of the note's chunk. The type-rows answers
 * of es_clinicalcases100's gold (seven types, densely annotated) take 0.55 (median) to
 * 0.70 of the note's Llama-3 tokens, at most 0.57 of its estimate.
 */
export const ANSWER_SHARE = 0.6;
/** Room kept for the answer whatever the chunk. */
const ANSWER_FLOOR = 64;
/** Smaller chunks are not worth a prompt. */
export const MIN_CHUNK_TOKENS = 100;

export function estimatePromptTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((sum, message) => sum + estimateTokens(message.content) + PER_MESSAGE, 0);
}

/**
 * The tokens of note text one chunk may hold so that the prompt around it (`promptTokens`,
 * without the note) and the answer fit in `contextTokens`. Throws PromptTooLongError when
 * the prompt alone leaves less than MIN_CHUNK_TOKENS.
 */
export function chunkTokens(contextTokens: number, promptTokens: number): number {
  const room = Math.floor((contextTokens - promptTokens - ANSWER_FLOOR) / (1 + ANSWER_SHARE));
  if (room < MIN_CHUNK_TOKENS) {
    throw new PromptTooLongError(
      `The prompt without the note (instructions, schema, guideline and few-shot examples) takes about ${promptTokens} of the model's ${contextTokens} tokens, ` +
        `leaving no room for a note and its answer. Use fewer or shorter examples, or a shorter guideline.`,
    );
  }
  return room;
}
