// The adapter to the tokenizer library (@huggingface/tokenizers): the only module that
// imports it. The library turns text into token ids but gives no character offsets, and NER
// needs, for every token, the exact range of the note it came from. So encoding runs the
// library's own pieces (normalizer function, pre-tokenizer patterns, model) over text that
// carries an alignment (aligned-text.ts), and every encoding is checked against the
// library's ids: offsets are ours, ids are always the library's.
//
// Offset conventions (UTF-16 code units, as JS strings index; [start, end)):
// - A token covers the characters its text came from after normalization: "chest" covers
//   "Chest", "##ing" covers "ing", "mamografia" (accents stripped) still covers "í".
// - Markers for a space ("Ġ" in byte-level BPE, "▁" in SentencePiece) are not part of a
//   word's range: "Ġword" and "▁word" cover "word". A token that is only such a marker
//   covers the whitespace it stands for ("Ġ" for one of two spaces, "Ċ" for "\n"); a "▁"
//   the pre-tokenizer prepended to the text covers nothing (start === end).
// - Byte-level tokens can split a character's UTF-8 bytes (an emoji, a CJK character):
//   each token covers every character any of its bytes came from, so a character split
//   across two tokens is covered by both. Non-whitespace text is never left uncovered.
// - An unknown token covers what it replaced: a whole word in WordPiece, one symbol in BPE,
//   the unknown characters in Unigram.
// - Characters the normalizer deletes (control and format characters) belong to no token;
//   combining marks belong to the token of their base character.
// - Special tokens the post-processor adds ([CLS], [SEP], <s>, </s>) have no text: the
//   leading ones sit at [0, 0], the trailing ones at [text.length, text.length]. An added
//   token written in the note itself (someone typed "[MASK]") is an ordinary token with its
//   range.

import {
  BPE,
  BertPreTokenizer,
  ByteLevelPreTokenizer,
  DigitsPreTokenizer,
  FixedLengthPreTokenizer,
  MetaspacePreTokenizer,
  type Normalizer,
  PrependNormalizer,
  type PreTokenizer,
  PunctuationPreTokenizer,
  ReplaceNormalizer,
  ReplacePreTokenizer,
  SequenceNormalizer,
  SequencePreTokenizer,
  SplitPreTokenizer,
  StripNormalizer,
  Tokenizer,
  Unigram,
  WhitespacePreTokenizer,
  WhitespaceSplitPreTokenizer,
  WordPiece,
} from "@huggingface/tokenizers";
import { ModelFormatError } from "../errors.ts";
import { AddedTokenSplitter, type AddedTokenInfo, stripAroundAddedTokens } from "./added-tokens.ts";
import { type AlignedText, alignedOriginal, mapAligned, replaceAligned, sliceAligned, trimAligned } from "./aligned-text.ts";
import { AlignmentError, type BpeModelLike, type PieceToken, alignBpe, alignSurfaces, alignWordPiece } from "./model-alignment.ts";
import { type NormalizeStep, normalizeAligned } from "./normalize.ts";
import { type PreTokenizeStep, preTokenizeAligned } from "./pre-tokenize.ts";

const TOKENIZER_FILE = "tokenizer.json";

/** One note encoded: parallel arrays, one entry per token. */
export interface EncodedText {
  ids: number[];
  /** [start, end) in the note, UTF-16 code units. */
  offsets: [number, number][];
  /** True for tokens the post-processor added ([CLS], [SEP], <s>, </s>). */
  special: boolean[];
  /** Index of the word each token belongs to (null for special tokens). */
  wordIds: (number | null)[];
  /** True when the token is not the first of its word ("label the first sub-token only"). */
  isContinuation: boolean[];
}

export type TokenizerFamily = "wordpiece" | "bpe" | "unigram";

export interface EncodeOptions {
  /** Add the model's special tokens ([CLS] … [SEP]); default true, as the library does. */
  addSpecialTokens?: boolean;
}

export interface TextTokenizer {
  readonly family: TokenizerFamily;
  encode(text: string, options?: EncodeOptions): EncodedText;
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  readonly clsId: number | null;
  readonly sepId: number | null;
  /** Falls back to 0 when neither file names a padding token. */
  readonly padId: number;
  readonly unkId: number | null;
  /** model_max_length from tokenizer_config.json (512 when absent or a placeholder). */
  readonly maxLength: number;
  /** Special ids the post-processor puts before and after one sequence (BERT: [CLS] / [SEP]). */
  readonly prefixIds: readonly number[];
  readonly suffixIds: readonly number[];
}

export interface LoadTokenizerOptions {
  /**
   * Check every encoding against the library's own ids (default true). A mismatch means the
   * offsets cannot be trusted and raises ModelFormatError rather than return wrong offsets.
   */
  verify?: boolean;
}

const DEFAULT_MAX_LENGTH = 512;

export function loadTokenizer(
  tokenizerJson: object,
  tokenizerConfig: object = {},
  options: LoadTokenizerOptions = {},
): TextTokenizer {
  if (!isRecord(tokenizerJson) || !isRecord(tokenizerJson.model)) {
    throw new ModelFormatError(TOKENIZER_FILE, "expected a JSON object with a \"model\" entry (a Hugging Face tokenizer.json).");
  }
  if (!isRecord(tokenizerConfig)) {
    throw new ModelFormatError("tokenizer_config.json", "expected a JSON object.");
  }
  const json = {
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    added_tokens: [],
    ...tokenizerJson,
  } as Record<string, unknown>;
  let library: Tokenizer;
  try {
    library = new Tokenizer(json, tokenizerConfig);
  } catch (error) {
    throw new ModelFormatError(TOKENIZER_FILE, `the tokenizer library cannot read it: ${(error as Error).message}`);
  }
  return new AlignedTokenizer(library, json, tokenizerConfig, options.verify ?? true);
}

interface ContentToken {
  id: number;
  start: number;
  end: number;
  /** First token of a pre-tokenized piece, or an added token. */
  pieceStart: boolean;
  /** Its first unit stands for whitespace or was inserted ("Ġ", "▁"). */
  leadingMarker: boolean;
  /** It has no other units (a lone "Ġ" or "▁"). */
  blank: boolean;
  added: boolean;
}

class AlignedTokenizer implements TextTokenizer {
  readonly family: TokenizerFamily;
  readonly clsId: number | null;
  readonly sepId: number | null;
  readonly padId: number;
  readonly unkId: number | null;
  readonly maxLength: number;
  readonly prefixIds: readonly number[];
  readonly suffixIds: readonly number[];

  private readonly normalizeStep: NormalizeStep | null;
  private readonly preTokenizeStep: PreTokenizeStep | null;
  private readonly alignPiece: (piece: string) => PieceToken[];
  private readonly addedByContent = new Map<string, AddedTokenInfo>();
  private readonly unnormalizedSplitter: AddedTokenSplitter;
  private readonly normalizedSplitter: AddedTokenSplitter;
  private readonly removeSpace: boolean;
  private readonly lowercaseAndRemoveAccent: boolean;
  private readonly fuseUnk: boolean;

  constructor(
    private readonly library: Tokenizer,
    json: Record<string, unknown>,
    config: Record<string, unknown>,
    private readonly verify: boolean,
  ) {
    const model = library.model!;
    if (model instanceof WordPiece) {
      this.family = "wordpiece";
      const prefix = String(model.config.continuing_subword_prefix);
      this.alignPiece = (piece) => alignWordPiece(piece, model.encode([piece]), prefix, model.unk_token);
    } else if (model instanceof BPE) {
      this.family = "bpe";
      this.alignPiece = (piece) => alignBpe(model as unknown as BpeModelLike, piece);
    } else if (model instanceof Unigram) {
      this.family = "unigram";
      this.alignPiece = (piece) => alignSurfaces(piece, model.encode([piece]));
    } else {
      throw new ModelFormatError(TOKENIZER_FILE, `model type "${String((json.model as Record<string, unknown>).type)}" is not supported; expected WordPiece, BPE or Unigram.`);
    }
    this.fuseUnk = model.fuse_unk;
    this.normalizeStep = library.normalizer ? normalizerStep(library.normalizer) : null;
    this.preTokenizeStep = library.pre_tokenizer ? preTokenizerStep(library.pre_tokenizer) : null;
    this.removeSpace = config.remove_space === true;
    this.lowercaseAndRemoveAccent = config.do_lowercase_and_remove_accent === true;

    // The same maps the library builds: content and normalized content → added token.
    const unnormalized: string[] = [];
    const normalized: string[] = [];
    for (const raw of (json.added_tokens as Record<string, unknown>[]) ?? []) {
      const special = raw.special === true;
      const token: AddedTokenInfo = {
        content: String(raw.content),
        id: Number(raw.id),
        lstrip: raw.lstrip === true,
        rstrip: raw.rstrip === true,
        special,
        normalized: typeof raw.normalized === "boolean" ? raw.normalized : !special,
      };
      this.addedByContent.set(token.content, token);
      if (token.normalized && library.normalizer) {
        const content = library.normalizer.normalize(token.content);
        normalized.push(content);
        this.addedByContent.set(content, token);
      } else {
        unnormalized.push(token.content);
      }
    }
    this.unnormalizedSplitter = new AddedTokenSplitter(unnormalized);
    this.normalizedSplitter = new AddedTokenSplitter(normalized);

    [this.prefixIds, this.suffixIds] = this.specialWrap();
    this.unkId = this.idOfConfigToken(config.unk_token) ?? model.unk_token_id ?? null;
    this.clsId = this.idOfConfigToken(config.cls_token) ?? this.prefixIds[0] ?? firstId(library, ["[CLS]", "<s>"]);
    this.sepId = this.idOfConfigToken(config.sep_token) ?? this.suffixIds.at(-1) ?? firstId(library, ["[SEP]", "</s>"]);
    const padding = isRecord(json.padding) ? json.padding : {};
    this.padId =
      this.idOfConfigToken(config.pad_token) ??
      (typeof padding.pad_id === "number" ? padding.pad_id : null) ??
      firstId(library, ["[PAD]", "<pad>"]) ??
      0;
    const configured = config.model_max_length;
    const truncation = isRecord(json.truncation) ? json.truncation.max_length : undefined;
    this.maxLength =
      typeof configured === "number" && Number.isFinite(configured) && configured > 0 && configured <= 1e6
        ? configured
        : typeof truncation === "number"
          ? truncation
          : DEFAULT_MAX_LENGTH;
  }

  encode(text: string, options: EncodeOptions = {}): EncodedText {
    const addSpecial = options.addSpecialTokens ?? true;
    let content: ContentToken[];
    try {
      content = this.encodeContent(text);
    } catch (error) {
      if (error instanceof AlignmentError) {
        throw new ModelFormatError(TOKENIZER_FILE, `character offsets cannot be computed for this tokenizer: ${error.message}.`);
      }
      throw error;
    }
    const out: EncodedText = { ids: [], offsets: [], special: [], wordIds: [], isContinuation: [] };
    const pushSpecial = (id: number, at: number) => {
      out.ids.push(id);
      out.offsets.push([at, at]);
      out.special.push(true);
      out.wordIds.push(null);
      out.isContinuation.push(false);
    };
    if (addSpecial) for (const id of this.prefixIds) pushSpecial(id, 0);
    let word = -1;
    content.forEach((token, i) => {
      const prev = content[i - 1];
      const startsWord =
        i === 0 || token.pieceStart || token.leadingMarker || token.added || prev.blank || prev.added;
      if (startsWord) word++;
      out.ids.push(token.id);
      out.offsets.push([token.start, token.end]);
      out.special.push(false);
      out.wordIds.push(word);
      out.isContinuation.push(!startsWord);
    });
    if (addSpecial) for (const id of this.suffixIds) pushSpecial(id, text.length);
    if (this.verify) this.checkAgainstLibrary(text, addSpecial, out.ids);
    return out;
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return "";
    return this.library.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  tokenToId(token: string): number | undefined {
    return this.library.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.library.id_to_token(id);
  }

  /** The library's Tokenizer.encode_text, step by step, with offsets. */
  private encodeContent(text: string): ContentToken[] {
    const isSpace = whitespaceMask(text);
    const out: ContentToken[] = [];
    const sections = stripAroundAddedTokens(text, this.unnormalizedSplitter.split(text), (c) => this.addedByContent.get(c));
    sections.forEach((section, sectionIndex) => {
      if (section.to <= section.from) return;
      const raw = text.slice(section.from, section.to);
      const added = this.addedByContent.get(raw);
      if (added) {
        out.push(addedToken(added.id, section.from, section.to));
        return;
      }
      let aligned = alignedOriginal(text, section.from, section.to);
      if (this.removeSpace) aligned = replaceAligned(trimAligned(aligned, true, true), /\s+/g, " ");
      if (this.lowercaseAndRemoveAccent) aligned = mapAligned(aligned, (t) => t.toLowerCase().replace(/\p{M}/gu, ""));
      if (this.normalizeStep) aligned = normalizeAligned(this.normalizeStep, aligned);
      if (aligned.text.length === 0) return;
      const subsections = stripAroundAddedTokens(
        aligned.text,
        this.normalizedSplitter.split(aligned.text),
        (c) => this.addedByContent.get(c),
      );
      for (const sub of subsections) {
        if (sub.to <= sub.from) continue;
        const subText = sliceAligned(aligned, sub.from, sub.to);
        const subAdded = this.addedByContent.get(subText.text);
        if (subAdded) {
          const [start, end] = unitRange(subText, 0, subText.text.length, isSpace);
          out.push(addedToken(subAdded.id, start, end));
          continue;
        }
        const pieces = this.preTokenizeStep ? preTokenizeAligned(this.preTokenizeStep, subText, sectionIndex) : [subText];
        const tokens: ContentToken[] = [];
        for (const piece of pieces) {
          this.alignPiece(piece.text).forEach((t, k) => {
            const [start, end] = unitRange(piece, t.from, t.to, isSpace);
            tokens.push({
              id: this.idOf(t.token),
              start,
              end,
              pieceStart: k === 0,
              leadingMarker: t.to > t.from && isMarker(piece, t.from, isSpace),
              blank: isBlank(piece, t.from, t.to, isSpace),
              added: false,
            });
          });
        }
        out.push(...(this.fuseUnk ? this.fuseUnknown(tokens) : tokens));
      }
    });
    return out;
  }

  /** The library's id lookup for a token string (added tokens first, then vocabulary, then unknown). */
  private idOf(token: string): number {
    const model = this.library.model!;
    return this.addedByContent.get(token)?.id ?? model.tokens_to_ids.get(token) ?? model.unk_token_id!;
  }

  /** Consecutive unknown tokens become one (the library's fuse_unk), covering all of them. */
  private fuseUnknown(tokens: ContentToken[]): ContentToken[] {
    const unk = this.library.model!.unk_token_id;
    const out: ContentToken[] = [];
    for (const token of tokens) {
      const last = out.at(-1);
      if (last && unk !== undefined && last.id === unk && token.id === unk) {
        out[out.length - 1] = {
          ...last,
          start: Math.min(last.start, token.start),
          end: Math.max(last.end, token.end),
          blank: last.blank && token.blank,
        };
      } else {
        out.push(token);
      }
    }
    return out;
  }

  private checkAgainstLibrary(text: string, addSpecial: boolean, ids: number[]): void {
    const expected = this.library.encode(text, { add_special_tokens: addSpecial }).ids;
    const n = Math.max(expected.length, ids.length);
    for (let i = 0; i < n; i++) {
      if (expected[i] !== ids[i]) {
        const theirs = expected[i] === undefined ? "nothing" : `"${this.library.id_to_token(expected[i])}"`;
        const ours = ids[i] === undefined ? "nothing" : `"${this.library.id_to_token(ids[i])}"`;
        throw new ModelFormatError(
          TOKENIZER_FILE,
          `character offsets cannot be computed for this tokenizer: at token ${i} the library gives ${theirs} ` +
            `but the offset code gives ${ours}. The tokenizer uses a setting the offset code does not reproduce; ` +
            `please report the model name.`,
        );
      }
    }
  }

  /** Special ids around one sequence, found by post-processing a marker token. */
  private specialWrap(): [number[], number[]] {
    const post = this.library.post_processor;
    if (!post) return [[], []];
    const marker = "\u0000sequence\u0000";
    const { tokens } = post.post_process([marker], null as unknown as undefined, true);
    const at = tokens.indexOf(marker);
    if (at < 0 || tokens.lastIndexOf(marker) !== at) {
      throw new ModelFormatError(TOKENIZER_FILE, "the post-processor does not keep the text as one sequence.");
    }
    const toId = (t: string) => this.idOf(t);
    return [tokens.slice(0, at).map(toId), tokens.slice(at + 1).map(toId)];
  }

  private idOfConfigToken(value: unknown): number | null {
    const content = typeof value === "string" ? value : isRecord(value) && typeof value.content === "string" ? value.content : null;
    if (content === null) return null;
    return this.addedByContent.get(content)?.id ?? this.library.token_to_id(content) ?? null;
  }
}

function addedToken(id: number, start: number, end: number): ContentToken {
  return { id, start, end, pieceStart: true, leadingMarker: false, blank: false, added: true };
}

function firstId(library: Tokenizer, candidates: string[]): number | null {
  for (const c of candidates) {
    const id = library.token_to_id(c);
    if (id !== undefined) return id;
  }
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function whitespaceMask(text: string): Uint8Array {
  const mask = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) mask[i] = /\s/.test(text[i]) ? 1 : 0;
  return mask;
}

/** A unit that stands for whitespace or for nothing (inserted): "Ġ" for " ", a prepended "▁". */
function isMarker(a: AlignedText, unit: number, isSpace: Uint8Array): boolean {
  const start = a.starts[unit];
  const end = a.ends[unit];
  for (let i = start; i < end; i++) if (!isSpace[i]) return false;
  return true;
}

function isBlank(a: AlignedText, from: number, to: number, isSpace: Uint8Array): boolean {
  for (let u = from; u < to; u++) if (!isMarker(a, u, isSpace)) return false;
  return true;
}

/**
 * The note range of units [from, to): the span of the units that carry text; if there are
 * none, of the whitespace they stand for; if none of those, an empty range where they
 * were inserted.
 */
function unitRange(a: AlignedText, from: number, to: number, isSpace: Uint8Array): [number, number] {
  let start = Infinity;
  let end = -Infinity;
  for (let u = from; u < to; u++) {
    if (isMarker(a, u, isSpace)) continue;
    start = Math.min(start, a.starts[u]);
    end = Math.max(end, a.ends[u]);
  }
  if (start === Infinity) {
    for (let u = from; u < to; u++) {
      if (a.ends[u] <= a.starts[u]) continue;
      start = Math.min(start, a.starts[u]);
      end = Math.max(end, a.ends[u]);
    }
  }
  if (start === Infinity) {
    const at = from < a.text.length ? a.starts[from] : a.base;
    return [at, at];
  }
  return [start, end];
}

// ---- steps built from the library's own normalizer and pre-tokenizer objects ----

function normalizerStep(normalizer: Normalizer): NormalizeStep {
  if (normalizer instanceof SequenceNormalizer) {
    return { kind: "sequence", steps: normalizer.normalizers.filter((n) => n !== null).map(normalizerStep) };
  }
  if (normalizer instanceof ReplaceNormalizer) {
    return normalizer.pattern
      ? { kind: "replace", pattern: normalizer.pattern, content: String(normalizer.config.content ?? "") }
      : { kind: "sequence", steps: [] };
  }
  if (normalizer instanceof PrependNormalizer) {
    return { kind: "prepend", prefix: String((normalizer.config as { prepend?: string }).prepend) };
  }
  if (normalizer instanceof StripNormalizer) {
    const config = normalizer.config as { strip_left?: boolean; strip_right?: boolean };
    return { kind: "strip", left: config.strip_left === true, right: config.strip_right === true };
  }
  // Per-character rewrites (BertNormalizer, Lowercase, StripAccents, NFC/NFD/NFKC/NFKD,
  // Precompiled): the library's own function, applied chunk by chunk.
  return { kind: "map", f: (text) => normalizer.normalize(text) };
}

function preTokenizerStep(pre: PreTokenizer): PreTokenizeStep {
  if (pre instanceof SequencePreTokenizer) {
    return { kind: "sequence", steps: pre.tokenizers.filter((p) => p !== null).map(preTokenizerStep) };
  }
  if (pre instanceof BertPreTokenizer || pre instanceof PunctuationPreTokenizer || pre instanceof DigitsPreTokenizer) {
    return { kind: "match", pattern: pre.pattern };
  }
  if (pre instanceof WhitespacePreTokenizer) return { kind: "match", pattern: /\w+|[^\w\s]+/g };
  if (pre instanceof WhitespaceSplitPreTokenizer) return { kind: "match", pattern: /\S+/g };
  if (pre instanceof MetaspacePreTokenizer) {
    return { kind: "metaspace", replacement: pre.replacement, strRep: pre.str_rep, prependScheme: pre.prepend_scheme };
  }
  if (pre instanceof ByteLevelPreTokenizer) {
    const encoder = pre.byte_encoder;
    return {
      kind: "byteLevel",
      addPrefixSpace: pre.add_prefix_space,
      pattern: pre.use_regex ? pre.pattern : null,
      byteToChar: (byte) => encoder[byte],
    };
  }
  if (pre instanceof SplitPreTokenizer) {
    if (!pre.pattern) return { kind: "match", pattern: /(?!)/g };
    if (pre.config.invert) return { kind: "match", pattern: pre.pattern };
    return { kind: "split", pattern: pre.pattern, removed: pre.config.behavior?.toLowerCase() === "removed" };
  }
  if (pre instanceof ReplacePreTokenizer) {
    return { kind: "replace", pattern: pre.pattern, content: String(pre.config.content ?? "") };
  }
  if (pre instanceof FixedLengthPreTokenizer) {
    const length = Number((pre.config as { length?: number }).length);
    if (!(length > 0)) throw new ModelFormatError(TOKENIZER_FILE, "FixedLength pre-tokenizer without a positive length.");
    return { kind: "fixedLength", length };
  }
  throw new ModelFormatError(TOKENIZER_FILE, `pre-tokenizer "${pre.constructor.name}" is not supported for character offsets.`);
}
