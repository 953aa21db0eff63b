// Normalizers with alignment: each step rewrites an AlignedText the way the tokenizer's
// normalizer rewrites a string. The adapter (tokenizer.ts) builds the steps from the
// tokenizer library's own normalizer objects, so the text comes out exactly as the
// library makes it; only the bookkeeping of where each unit came from is ours.

import {
  type AlignedText,
  mapAligned,
  prependAligned,
  replaceAligned,
  trimAligned,
} from "./aligned-text.ts";

export type NormalizeStep =
  /** A per-character rewrite (lowercase, NFD/NFC/NFKC/NFKD, strip accents, BertNormalizer, Precompiled). */
  | { kind: "map"; f: (text: string) => string }
  | { kind: "replace"; pattern: RegExp; content: string }
  | { kind: "prepend"; prefix: string }
  | { kind: "strip"; left: boolean; right: boolean }
  | { kind: "sequence"; steps: NormalizeStep[] };

export function normalizeAligned(step: NormalizeStep, a: AlignedText): AlignedText {
  switch (step.kind) {
    case "map":
      return mapAligned(a, step.f);
    case "replace":
      return replaceAligned(a, step.pattern, step.content);
    case "prepend":
      return prependAligned(a, step.prefix);
    case "strip":
      return trimAligned(a, step.left, step.right);
    case "sequence":
      return step.steps.reduce((text, inner) => normalizeAligned(inner, text), a);
  }
}
