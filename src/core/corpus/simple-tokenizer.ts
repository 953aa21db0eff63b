// Tokenizers for writing CoNLL files, not for models (src/core/text does that): CoNLL
// needs some token boundaries, and these two cover the usual cases.

export interface TokenOffsets {
  start: number;
  end: number;
}

export type Tokenizer = (text: string) => TokenOffsets[];

const WORD_OR_SYMBOL = /[\p{L}\p{M}\p{N}]+|[^\s\p{L}\p{M}\p{N}]/gu;
const NON_SPACE = /\S+/g;

/** Runs of letters and digits, and each other visible character on its own: "38,5°C." -> 38 , 5 ° C . */
export const tokenizeWords: Tokenizer = (text) => offsetsOf(WORD_OR_SYMBOL, text);

/** Whatever lies between whitespace: the tokens of a text rebuilt from a CoNLL file. */
export const tokenizeWhitespace: Tokenizer = (text) => offsetsOf(NON_SPACE, text);

function offsetsOf(pattern: RegExp, text: string): TokenOffsets[] {
  return Array.from(text.matchAll(pattern), (m) => ({ start: m.index, end: m.index + m[0].length }));
}
