// Pre-tokenizers with alignment: split an AlignedText into pieces (words, punctuation,
// byte-level chunks) the way the tokenizer library splits a string, keeping for every
// unit of every piece its range in the note. The adapter builds the steps from the
// library's own pre-tokenizer objects (their regular expressions included), so the
// pieces are the library's pieces.

import {
  type AlignedText,
  byteLevelAligned,
  prependAligned,
  replaceAligned,
  sliceAligned,
} from "./aligned-text.ts";

export type PreTokenizeStep =
  /** Keep the matches of a global pattern (BertPreTokenizer, Whitespace, Punctuation, Digits, Split with invert). */
  | { kind: "match"; pattern: RegExp }
  /** Split: the text between matches plus, when `removed` is false, the matches themselves; when `removed`, captured groups as String.split keeps them. */
  | { kind: "split"; pattern: RegExp; removed: boolean }
  | { kind: "metaspace"; replacement: string; strRep: string; prependScheme: "always" | "first" | "never" }
  | { kind: "byteLevel"; addPrefixSpace: boolean; pattern: RegExp | null; byteToChar: (byte: number) => string }
  | { kind: "replace"; pattern: RegExp | null; content: string }
  | { kind: "fixedLength"; length: number }
  | { kind: "sequence"; steps: PreTokenizeStep[] };

/** `sectionIndex`: index of the text section between added tokens (Metaspace "first" needs it). */
export function preTokenizeAligned(step: PreTokenizeStep, piece: AlignedText, sectionIndex: number): AlignedText[] {
  switch (step.kind) {
    case "match":
      return matches(piece, step.pattern);
    case "split":
      return split(piece, step.pattern, step.removed);
    case "metaspace": {
      let out = replaceAligned(piece, / /g, step.strRep);
      const prepend =
        step.prependScheme === "always" || (step.prependScheme === "first" && sectionIndex === 0);
      if (prepend && !out.text.startsWith(step.replacement)) out = prependAligned(out, step.strRep);
      return [out];
    }
    case "byteLevel": {
      let text = piece;
      if (step.addPrefixSpace && !text.text.startsWith(" ")) text = prependAligned(text, " ");
      const chunks = step.pattern ? matches(text, step.pattern) : [text];
      return chunks.map((chunk) => byteLevelAligned(chunk, step.byteToChar));
    }
    case "replace":
      return [step.pattern ? replaceAligned(piece, step.pattern, step.content) : piece];
    case "fixedLength": {
      const out: AlignedText[] = [];
      for (let i = 0; i < piece.text.length; i += step.length) {
        out.push(sliceAligned(piece, i, i + step.length));
      }
      return out;
    }
    case "sequence":
      return step.steps.reduce(
        (pieces, inner) => pieces.flatMap((p) => preTokenizeAligned(inner, p, sectionIndex)),
        [piece],
      );
  }
}

function globalPattern(pattern: RegExp, extraFlags = ""): RegExp {
  const flags = new Set((pattern.flags + "g" + extraFlags).split(""));
  return new RegExp(pattern.source, [...flags].join(""));
}

function matches(piece: AlignedText, pattern: RegExp): AlignedText[] {
  const out: AlignedText[] = [];
  for (const match of piece.text.matchAll(globalPattern(pattern))) {
    if (match[0].length === 0) continue;
    out.push(sliceAligned(piece, match.index, match.index + match[0].length));
  }
  return out;
}

function split(piece: AlignedText, pattern: RegExp, removed: boolean): AlignedText[] {
  const out: AlignedText[] = [];
  let last = 0;
  const withIndices = globalPattern(pattern, "d");
  for (const match of piece.text.matchAll(withIndices)) {
    const from = match.index;
    const to = from + match[0].length;
    if (to === from) continue;
    if (from > last) out.push(sliceAligned(piece, last, from));
    if (!removed) {
      out.push(sliceAligned(piece, from, to));
    } else {
      // String.prototype.split keeps captured groups between the pieces.
      const groups = match.indices ?? [];
      for (let g = 1; g < groups.length; g++) {
        const range = groups[g];
        if (range && range[1] > range[0]) out.push(sliceAligned(piece, range[0], range[1]));
      }
    }
    last = to;
  }
  if (last < piece.text.length) out.push(sliceAligned(piece, last, piece.text.length));
  return out;
}
