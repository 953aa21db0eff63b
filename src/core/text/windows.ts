// Sliding windows over a note longer than the model's maximum length. Consecutive windows
// overlap by `stride` tokens (as the Hugging Face tokenizers' `stride`), so a token near a
// window's edge is seen again with context on both sides; when predictions are merged, each
// token takes its prediction from the window where it sits most centrally.

import { AppError, ShapeError } from "../errors.ts";
import type { EncodedText } from "./tokenizer.ts";

export interface WindowOptions {
  /** Tokens per window including the special tokens ([CLS] … [SEP]). */
  maxLength: number;
  /** Tokens shared by consecutive windows. */
  stride: number;
  /**
   * Special ids put around each window. Default: the special tokens the encoding itself
   * starts and ends with (encode() adds them), so a window looks like a short note.
   */
  prefixIds?: readonly number[];
  suffixIds?: readonly number[];
}

export interface TokenWindow {
  /** Token indices [start, end) into the encoding covered by this window's content. */
  start: number;
  end: number;
  /** Model input: prefix ids, the tokens' ids, suffix ids. */
  ids: number[];
  /** For each position of `ids`: the encoding's token index, or null for an added special token. */
  tokenIndex: (number | null)[];
}

export function makeWindows(encoded: EncodedText, options: WindowOptions): TokenWindow[] {
  const n = encoded.ids.length;
  let first = 0;
  while (first < n && encoded.special[first]) first++;
  let last = n;
  while (last > first && encoded.special[last - 1]) last--;
  const prefix = options.prefixIds ?? encoded.ids.slice(0, first);
  const suffix = options.suffixIds ?? encoded.ids.slice(last);

  const room = options.maxLength - prefix.length - suffix.length;
  if (!Number.isInteger(room) || room < 1) {
    throw new AppError(
      `A window of ${options.maxLength} tokens has no room for text after ${prefix.length + suffix.length} special tokens.`,
    );
  }
  if (!Number.isInteger(options.stride) || options.stride < 0 || options.stride >= room) {
    throw new AppError(
      `The window stride (${options.stride}) must be at least 0 and less than the ${room} text tokens a window holds.`,
    );
  }

  const ranges: [number, number][] = [];
  const step = room - options.stride;
  for (let start = first; ; start += step) {
    if (start + room >= last) {
      // The last window ends at the last token; pulled back so it is full when it can be.
      ranges.push([Math.max(first, last - room), last]);
      break;
    }
    ranges.push([start, start + room]);
  }
  return ranges.map(([start, end]) => {
    const tokenIndex: (number | null)[] = [];
    for (let k = 0; k < prefix.length; k++) tokenIndex.push(first > k ? k : null);
    for (let i = start; i < end; i++) tokenIndex.push(i);
    for (let k = 0; k < suffix.length; k++) tokenIndex.push(last + k < n ? last + k : null);
    return {
      start,
      end,
      ids: [...prefix, ...encoded.ids.slice(start, end), ...suffix],
      tokenIndex,
    };
  });
}

/**
 * Merges per-window predictions into one per token of the encoding. `perWindowScores[w][p]`
 * is the prediction (a label id, a row of logits, anything) for position p of window w's
 * `ids` (longer rows, such as padding, are fine). A text token takes it from the window in
 * which its distance to the nearer edge is largest (ties: the earlier window). The
 * encoding's leading special tokens take the first window's, trailing ones the last's.
 */
export function mergeWindowPredictions<T>(windows: readonly TokenWindow[], perWindowScores: readonly (readonly T[])[]): T[] {
  if (windows.length !== perWindowScores.length) {
    throw new ShapeError(`mergeWindowPredictions: ${windows.length} windows but ${perWindowScores.length} rows of predictions.`);
  }
  windows.forEach((w, i) => {
    if (perWindowScores[i].length < w.ids.length) {
      throw new ShapeError(
        `mergeWindowPredictions: window ${i} has ${w.ids.length} tokens but ${perWindowScores[i].length} predictions.`,
      );
    }
  });
  if (windows.length === 0) return [];

  const size = Math.max(...windows.map((w) => Math.max(-1, ...w.tokenIndex.map((t) => t ?? -1)))) + 1;
  const out = new Array<T>(size);
  const best = new Array<number>(size).fill(-1);
  windows.forEach((w, wi) => {
    w.tokenIndex.forEach((token, p) => {
      if (token === null) return;
      let centrality: number;
      if (token < w.start || token >= w.end) {
        // A special token of the encoding itself: the leading ones are taken from the
        // first window, the trailing ones from the last.
        if (token < w.start ? wi !== 0 : wi !== windows.length - 1) return;
        centrality = 0;
      } else {
        centrality = Math.min(token - w.start, w.end - 1 - token);
      }
      if (centrality > best[token]) {
        best[token] = centrality;
        out[token] = perWindowScores[wi][p];
      }
    });
  });
  return out;
}
