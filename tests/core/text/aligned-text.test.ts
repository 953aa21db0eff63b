import { describe, expect, it } from "vitest";
import { type AlignedText, alignedOriginal, mapAligned } from "../../../src/core/text/aligned-text.ts";

/** Each output unit with the note text it maps to. */
function sources(a: AlignedText, note: string): [string, string][] {
  return [...a.text].map((_, i) => [a.text[i], note.slice(a.starts[i], a.ends[i])]);
}

const lowercase = (s: string) => s.toLowerCase();
const stripAccents = (s: string) => s.normalize("NFD").replace(/\p{Mn}/gu, "");

describe("mapAligned", () => {
  it("keeps each letter's own range when lowercasing depends on context (final sigma)", () => {
    // "Σ" alone lowercases to "σ", at the end of a word to "ς"; the word used to become one chunk.
    const note = "ΟΔΟΣ Σοφίας";
    const mapped = mapAligned(alignedOriginal(note), lowercase);
    expect(mapped.text).toBe("οδος σοφίας");
    expect(sources(mapped, note).slice(0, 4)).toEqual([["ο", "Ο"], ["δ", "Δ"], ["ο", "Ο"], ["ς", "Σ"]]);
  });

  it("keeps each letter's own range when the sigma's context reaches across punctuation", () => {
    const note = "ΑΒ:Σ,x";
    const mapped = mapAligned(alignedOriginal(note), lowercase);
    expect(mapped.text).toBe(note.toLowerCase());
    expect(mapped.starts).toEqual([0, 1, 2, 3, 4, 5]);
    expect(mapped.ends).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("gives a combining mark the normalizer keeps its own range, apart from the character before it", () => {
    // A pre-tokenizer may cut "-" from the mark after it; "-" must not claim the mark.
    const note = "-\u0301A";
    const mapped = mapAligned(alignedOriginal(note), lowercase);
    expect(mapped.text).toBe("-\u0301a");
    expect(sources(mapped, note)).toEqual([["-", "-"], ["\u0301", "\u0301"], ["a", "A"]]);
  });

  it("keeps a combining mark the normalizer deletes with its letter", () => {
    const note = "Regio\u0301n";
    const mapped = mapAligned(alignedOriginal(note), (s) => stripAccents(s).toLowerCase());
    expect(mapped.text).toBe("region");
    expect(sources(mapped, note)[4]).toEqual(["o", "o\u0301"]);
  });

  it("composes a letter with its marks (NFC) into one unit covering all of them", () => {
    const note = "Mamografi\u0301a";
    const mapped = mapAligned(alignedOriginal(note), (s) => s.normalize("NFC"));
    expect(mapped.text).toBe("Mamografía");
    expect(sources(mapped, note)[8]).toEqual(["í", "i\u0301"]);
  });

  it("reproduces NFKC exactly when a half-width voiced mark is reordered before kept marks", () => {
    // "ﾞ" becomes U+3099, which NFKC sorts before the U+0308 and U+0301 already there.
    const note = "a í\u0308\u0301ﾞ b";
    const nfkc = (s: string) => s.normalize("NFKC");
    const mapped = mapAligned(alignedOriginal(note), nfkc);
    expect(mapped.text).toBe(nfkc(note));
    const marks = sources(mapped, note).slice(2, -2);
    for (const [, source] of marks) expect(source).toBe("í\u0308\u0301ﾞ");
    expect(sources(mapped, note).at(-1)).toEqual(["b", "b"]);
  });
});
