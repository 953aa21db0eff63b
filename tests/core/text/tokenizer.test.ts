import { readFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";
import { describe, expect, it } from "vitest";
import { ModelFormatError } from "../../../src/core/errors.ts";
import { type EncodedText, type TextTokenizer, loadTokenizer } from "../../../src/core/text/tokenizer.ts";

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../../fixtures/tokenizers/${name}.tokenizer.json`, import.meta.url), "utf8"));
}

const TEXTS: Record<string, string> = {
  english: "Chest pain radiating to the left arm. Patient denies dyspnea, walking improving.",
  spanish: "Mamografía bilateral: sin hallazgos. Paciente refiere dolor en región torácica.",
  spanishDecomposed: "Mamografi\u0301a bilateral, regio\u0301n tora\u0301cica.",
  japanese: "患者は７２歳男性。ＣＴで肺炎。",
  surrogates: "Seen in clinic 🩺 today; 𠮷野家 nearby 😀. 🩺🩺 checks.",
  crlf: "Line one\r\nLine two\r\n\r\nEnd\r\n",
  whitespace: "  a  b\t\tc\n\n  d \u00a0 e\u3000f   ",
  unknown: "Xylophone ⅷ ☃☃ qzx þ",
  added: "The <mask> is [MASK] here <s>ok</s>",
  controls: "abc\u200bdef\u0000ghi\u0007 j",
  greek: "ΟΔΟΣ Σοφίας",
  empty: "",
};

const FAMILIES = {
  wordpiece: fixture("wordpiece-uncased"),
  "byte-level bpe": fixture("byte-level-bpe"),
  "unigram metaspace": fixture("unigram-metaspace"),
};

const withoutVerify = (json: object) => loadTokenizer(json, {}, { verify: false });

/** Text tokens (not special) with their token strings, for readable assertions. */
function pieces(tokenizer: TextTokenizer, text: string, encoded: EncodedText) {
  return encoded.ids
    .map((id, i) => ({ token: tokenizer.idToToken(id)!, text: text.slice(...encoded.offsets[i]), i }))
    .filter(({ i }) => !encoded.special[i]);
}

describe.each(Object.entries(FAMILIES))("%s tokenizer", (_family, json) => {
  const tokenizer = withoutVerify(json);
  const library = new Tokenizer(json, {});

  it.each(Object.entries(TEXTS))("gives the library's ids on %s text", (_name, text) => {
    const encoded = tokenizer.encode(text);
    expect(encoded.ids).toEqual(library.encode(text).ids);
    expect(tokenizer.encode(text, { addSpecialTokens: false }).ids).toEqual(
      library.encode(text, { add_special_tokens: false }).ids,
    );
  });

  it.each(Object.entries(TEXTS))("gives well-formed offsets on %s text", (_name, text) => {
    const e = tokenizer.encode(text);
    const n = e.ids.length;
    for (const array of [e.offsets, e.special, e.wordIds, e.isContinuation]) expect(array).toHaveLength(n);
    let lastStart = 0;
    e.offsets.forEach(([start, end], i) => {
      expect(start).toBeGreaterThanOrEqual(0);
      expect(end).toBeLessThanOrEqual(text.length);
      expect(start).toBeLessThanOrEqual(end);
      if (e.special[i]) {
        expect(start).toBe(end);
        expect(e.wordIds[i]).toBeNull();
        return;
      }
      expect(start).toBeGreaterThanOrEqual(lastStart);
      lastStart = start;
      // Offsets never cut a surrogate pair.
      expect(isLowSurrogate(text.charCodeAt(start)) && start > 0 && isHighSurrogate(text.charCodeAt(start - 1))).toBe(false);
      expect(isHighSurrogate(text.charCodeAt(end - 1)) && end - 1 < text.length).toBe(false);
      // A range starts and ends on text unless the token stands for whitespace only.
      const slice = text.slice(start, end);
      if (/\S/.test(slice)) expect(slice).toBe(slice.trim());
    });
    // Word ids count up from 0; the first token of a word is never a continuation.
    const words = e.wordIds.filter((w) => w !== null) as number[];
    words.forEach((w, k) => expect(w - (k > 0 ? words[k - 1] : -1)).toBeGreaterThanOrEqual(0));
    words.forEach((w, k) => expect(w - (k > 0 ? words[k - 1] : -1)).toBeLessThanOrEqual(1));
    e.wordIds.forEach((w, i) => {
      if (w === null) return;
      const prev = e.wordIds.slice(0, i).filter((x) => x !== null).at(-1);
      expect(e.isContinuation[i]).toBe(prev === w);
    });
  });

  it.each(Object.entries(TEXTS))("covers every character that is not whitespace on %s text", (name, text) => {
    const e = tokenizer.encode(text);
    const covered = new Uint8Array(text.length);
    e.offsets.forEach(([s, t], i) => {
      if (!e.special[i]) covered.fill(1, s, t);
    });
    for (let i = 0; i < text.length; i++) {
      if (/\s/.test(text[i]) || covered[i]) continue;
      // Only characters the normalizer deletes may be left out (WordPiece clean_text, Precompiled).
      expect({ name, char: text.codePointAt(i)!.toString(16) }).toMatchObject({
        char: expect.stringMatching(/^(200b|0|7)$/),
      });
    }
  });

  it("keeps the special tokens around the text", () => {
    const e = tokenizer.encode("left arm");
    expect(e.special[0]).toBe(true);
    expect(e.special.at(-1)).toBe(true);
    expect(e.ids[0]).toBe(tokenizer.clsId);
    expect(e.ids.at(-1)).toBe(tokenizer.sepId);
    expect(tokenizer.prefixIds).toEqual([tokenizer.clsId]);
    expect(tokenizer.suffixIds).toEqual([tokenizer.sepId]);
    expect(e.offsets.at(-1)).toEqual([8, 8]);
  });

  it("decodes as the library does", () => {
    const ids = tokenizer.encode(TEXTS.english).ids;
    expect(tokenizer.decode(ids)).toBe(library.decode(ids));
    expect(tokenizer.decode([])).toBe("");
  });
});

describe("WordPiece offsets", () => {
  const json = FAMILIES.wordpiece;
  const tokenizer = loadTokenizer(json, { model_max_length: 512, cls_token: "[CLS]" });
  const library = new Tokenizer(json, {});
  const normalize = (s: string) => library.normalizer!.normalize(s);

  it("maps each piece to the characters it came from after normalization", () => {
    for (const text of Object.values(TEXTS)) {
      const e = tokenizer.encode(text);
      for (const { token, text: slice } of pieces(tokenizer, text, e)) {
        if (token === "[UNK]" || token === "[MASK]") continue;
        // handle_chinese_chars puts spaces around a CJK character; the pre-tokenizer drops them.
        expect(normalize(slice).trim()).toBe(token.replace(/^##/, ""));
      }
    }
  });

  it("lowercases: 'chest' covers 'Chest'; '##ing' covers 'ing'", () => {
    const text = TEXTS.english;
    const p = pieces(tokenizer, text, tokenizer.encode(text));
    expect(p[0]).toMatchObject({ token: "chest", text: "Chest" });
    expect(p.find((x) => x.token === "##ing")).toMatchObject({ text: "ing" });
    const e = tokenizer.encode(text);
    const radiat = p.find((x) => x.token === "radiat")!.i;
    expect(e.isContinuation[radiat]).toBe(false);
    expect(e.isContinuation[radiat + 1]).toBe(true);
    expect(e.wordIds[radiat + 1]).toBe(e.wordIds[radiat]);
  });

  it("strips accents and still covers 'í', precomposed or decomposed", () => {
    const text = TEXTS.spanish;
    expect(pieces(tokenizer, text, tokenizer.encode(text))[0]).toEqual({ token: "mamografia", text: "Mamografía", i: 1 });
    const decomposed = TEXTS.spanishDecomposed;
    const first = pieces(tokenizer, decomposed, tokenizer.encode(decomposed))[0];
    expect(first).toMatchObject({ token: "mamografia", text: "Mamografi\u0301a" });
  });

  it("keeps accents when the normalizer does (cased, strip_accents false)", () => {
    const cased = structuredClone(json) as { normalizer: Record<string, unknown>; model: { vocab: Record<string, number> } };
    cased.normalizer.lowercase = false;
    cased.normalizer.strip_accents = false;
    const vocab = cased.model.vocab;
    for (const t of ["Mamograf", "##í", "##a", "M", "##o"]) vocab[t] ??= Object.keys(vocab).length;
    const casedTokenizer = loadTokenizer(cased);
    const text = "Mamografía";
    const p = pieces(casedTokenizer, text, casedTokenizer.encode(text));
    expect(p.map((x) => [x.token, x.text])).toEqual([
      ["Mamograf", "Mamograf"],
      ["##í", "í"],
      ["##a", "a"],
    ]);
  });

  it("splits CJK characters into words and keeps full-width characters", () => {
    const text = TEXTS.japanese;
    const e = tokenizer.encode(text);
    const p = pieces(tokenizer, text, e);
    expect(p.map((x) => x.text).join("")).toBe(text);
    expect(p.slice(0, 5).map((x) => [x.token, x.text])).toEqual([
      ["患", "患"],
      ["者", "者"],
      ["は", "は"],
      ["##７", "７"],
      ["##２", "２"],
    ]);
    expect(p.find((x) => x.text === "Ｃ")!.token).toBe("ｃ");
    // 患 and 者 are separate words; は７２ is one word of three pieces.
    expect(e.wordIds.slice(1, 6)).toEqual([0, 1, 2, 2, 2]);
  });

  it("gives [UNK] the whole word it replaces, emoji and surrogate pairs included", () => {
    const text = "pain🩺 🩺 𠮷";
    const p = pieces(tokenizer, text, tokenizer.encode(text));
    expect(p.map((x) => [x.token, x.text])).toEqual([
      ["[UNK]", "pain🩺"],
      ["[UNK]", "🩺"],
      ["[UNK]", "𠮷"],
    ]);
  });

  it("drops CRLF, tabs and runs of spaces without shifting offsets", () => {
    const text = "Line one\r\n\tLine  two";
    const p = pieces(tokenizer, text, tokenizer.encode(text));
    expect(p.map((x) => [x.token, x.text, text.indexOf(x.text, 0) >= 0])).toEqual([
      ["line", "Line", true],
      ["one", "one", true],
      ["line", "Line", true],
      ["two", "two", true],
    ]);
    const e = tokenizer.encode(text);
    expect(e.offsets.slice(1, 5)).toEqual([[0, 4], [5, 8], [11, 15], [17, 20]]);
  });

  it("reads model_max_length and the special ids", () => {
    expect(tokenizer.maxLength).toBe(512);
    expect(tokenizer.clsId).toBe(2);
    expect(tokenizer.sepId).toBe(3);
    expect(tokenizer.padId).toBe(0);
    expect(tokenizer.unkId).toBe(1);
    expect(loadTokenizer(json, { model_max_length: 1e30 }).maxLength).toBe(512);
  });
});

describe("byte-level BPE offsets", () => {
  const json = FAMILIES["byte-level bpe"];
  const tokenizer = loadTokenizer(json);
  const library = new Tokenizer(json, {});
  const charOf = new Map<string, number>();
  const pre = library.pre_tokenizer as unknown as { byte_encoder: Record<number, string> };
  for (let b = 0; b < 256; b++) charOf.set(pre.byte_encoder[b], b);

  /** Independent re-derivation: walk the UTF-8 bytes of the text, token by token. */
  function expectedRanges(text: string, tokens: string[]): [number, number][] {
    const byteOwner: number[] = [];
    const enc = new TextEncoder();
    for (let i = 0; i < text.length; ) {
      const w = text.codePointAt(i)! > 0xffff ? 2 : 1;
      for (const _ of enc.encode(text.slice(i, i + w))) byteOwner.push(i);
      i += w;
    }
    let b = 0;
    return tokens.map((token) => {
      const owners: number[] = [];
      for (const _ of token) owners.push(byteOwner[b++]);
      const width = (i: number) => (text.codePointAt(i)! > 0xffff ? 2 : 1);
      const solid = owners.filter((i) => /\S/.test(text[i]));
      const use = solid.length ? solid : owners;
      return [Math.min(...use), Math.max(...use.map((i) => i + width(i)))];
    });
  }

  it.each(Object.entries(TEXTS))("covers exactly the characters each token's bytes came from on %s text", (_name, text) => {
    const e = tokenizer.encode(text, { addSpecialTokens: false });
    const tokens = e.ids.map((id) => tokenizer.idToToken(id)!);
    if (tokens.some((t) => t.startsWith("<"))) return; // added tokens are checked below
    expect(tokens.join("").split("").map((c) => charOf.get(c))).toEqual([...new TextEncoder().encode(text)]);
    expect(e.offsets).toEqual(expectedRanges(text, tokens));
  });

  it("leaves the space out of 'Ġword' and gives a lone 'Ġ' its space", () => {
    const text = "the left arm";
    const p = pieces(tokenizer, text, tokenizer.encode(text));
    const pain = pieces(tokenizer, "chest pain", tokenizer.encode("chest pain")).find((x) => x.token === "Ġpain");
    expect(pain).toMatchObject({ text: "pain" });
    expect(p.filter((x) => x.token === "Ġ").every((x) => x.text === " ")).toBe(true);
  });

  it("covers a character split across two tokens with both", () => {
    const text = TEXTS.japanese;
    const p = pieces(tokenizer, text, tokenizer.encode(text));
    const sevenPieces = p.filter((x) => x.text.includes("７"));
    expect(sevenPieces.length).toBeGreaterThanOrEqual(2);
    const emoji = pieces(tokenizer, "😀", tokenizer.encode("😀"));
    expect(emoji.length).toBeGreaterThan(1);
    expect(emoji.every((x) => x.text === "😀")).toBe(true);
  });

  it("gives CRLF tokens their own characters", () => {
    const text = "one\r\ntwo";
    const p = pieces(tokenizer, text, tokenizer.encode(text));
    expect(p.map((x) => x.text)).toContain("\r");
    expect(p.map((x) => x.text)).toContain("\n");
  });

  it("cuts added tokens out of the text with their lstrip", () => {
    const text = "The <mask> is";
    const p = pieces(tokenizer, text, tokenizer.encode(text));
    expect(p.find((x) => x.token === "<mask>")).toMatchObject({ text: "<mask>" });
  });
});

describe("Unigram / Metaspace offsets", () => {
  const json = FAMILIES["unigram metaspace"];
  const tokenizer = loadTokenizer(json);
  const library = new Tokenizer(json, {});
  const normalize = (s: string) => library.normalizer!.normalize(s);

  it("maps '▁word' to the word without its space, through NFKC", () => {
    for (const text of [TEXTS.english, TEXTS.spanish, TEXTS.japanese]) {
      for (const { token, text: slice } of pieces(tokenizer, text, tokenizer.encode(text))) {
        if (token === "▁" || token === "<unk>") continue;
        expect(normalize(slice)).toBe(token.replace(/^▁/, ""));
      }
    }
    const p = pieces(tokenizer, TEXTS.japanese, tokenizer.encode(TEXTS.japanese));
    expect(p[0]).toMatchObject({ token: "▁患者は72歳男性", text: "患者は７２歳男性" });
  });

  it("gives a lone '▁' the whitespace it stands for, or nothing when prepended", () => {
    const text = "a  b";
    const e = tokenizer.encode(text);
    const p = pieces(tokenizer, text, e);
    expect(p.map((x) => [x.token, x.text])).toEqual([
      ["▁", ""],
      ["a", "a"],
      ["▁", "  "],
      ["b", "b"],
    ]);
    expect(e.offsets[1]).toEqual([0, 0]);
    // A lone "▁" is a word of its own, so the piece after it starts a word.
    expect(e.isContinuation.slice(1, 5)).toEqual([false, false, false, false]);
    expect(e.wordIds.slice(1, 5)).toEqual([0, 1, 2, 3]);
  });

  it("gives <unk> the unknown characters, surrogate pairs whole", () => {
    const text = "Seen 🩺 𠮷野家";
    const p = pieces(tokenizer, text, tokenizer.encode(text));
    expect(p.filter((x) => x.token === "<unk>").map((x) => x.text)).toEqual(["🩺", "𠮷野家"]);
  });
});

describe("loadTokenizer errors", () => {
  it("rejects a file that is not a tokenizer.json", () => {
    expect(() => loadTokenizer({ hello: 1 })).toThrow(ModelFormatError);
    expect(() => loadTokenizer({ model: { type: "Nope" } })).toThrow(ModelFormatError);
  });

  it("refuses to return offsets when its ids would differ from the library's", () => {
    // Break the offset pipeline on purpose (split on whitespace only, so "left," stays one
    // piece) and check that the cross-check against the library catches it.
    const tokenizer = loadTokenizer(FAMILIES.wordpiece);
    (tokenizer as unknown as { preTokenizeStep: unknown }).preTokenizeStep = { kind: "match", pattern: /\S+/g };
    expect(() => tokenizer.encode("left, arm")).toThrow(ModelFormatError);
  });
});

function isHighSurrogate(c: number) {
  return c >= 0xd800 && c <= 0xdbff;
}
function isLowSurrogate(c: number) {
  return c >= 0xdc00 && c <= 0xdfff;
}

describe("random notes", () => {
  // Seeded mix of scripts, accents (precomposed and combining), emoji, whitespace and
  // added tokens: ids must equal the library's (verify throws otherwise) and offsets stay sorted.
  const alphabet = [..."abcXYZ éíÑñ\u0301\u0308 患者は７２ＣＴ。、 🩺𠮷😀 \r\n\t\u00a0\u3000 .,;:()-/ 0123 ΣσςİĲﬁ㌔ｶﾞ\u200b\u0000"];
  const extras = ["<mask>", "[MASK]", "<s>", "  ", "chest ", "pain"];
  function randomText(seed: number, length: number): string {
    let x = seed;
    const next = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
    let out = "";
    while (out.length < length) out += next() < 0.1 ? extras[Math.floor(next() * extras.length)] : alphabet[Math.floor(next() * alphabet.length)];
    return out;
  }

  it.each(Object.entries(FAMILIES))("%s: ids equal the library's on 200 random notes", (_family, json) => {
    const tokenizer = loadTokenizer(json);
    for (let seed = 1; seed <= 200; seed++) {
      const text = randomText(seed, 60);
      const e = tokenizer.encode(text);
      const starts = e.offsets.filter((_, i) => !e.special[i]).map(([s]) => s);
      expect(starts).toEqual([...starts].sort((a, b) => a - b));
    }
  });

  it.each(Object.entries(FAMILIES))("%s: encodes a 20,000-character note quickly", (_family, json) => {
    const tokenizer = loadTokenizer(json);
    const text = (TEXTS.english + " " + TEXTS.spanish + " " + TEXTS.japanese + "\r\n").repeat(100).slice(0, 20_000);
    const started = performance.now();
    const e = tokenizer.encode(text);
    const elapsed = performance.now() - started;
    expect(e.ids.length).toBeGreaterThan(1000);
    expect(elapsed).toBeLessThan(2000);
  });
});
