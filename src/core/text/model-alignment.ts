// Where each token of one pre-tokenized piece sits inside that piece, for the three
// model families. The tokenizer library gives token strings only; these functions walk the
// piece and the token strings together, undoing each family's decoration ("##" prefixes,
// BPE suffixes, byte-fallback "<0xNN>" tokens). They take the library's model objects
// through small structural interfaces, so this file does not import the library.

/** A token and the code units [from, to) of its piece it covers. */
export interface PieceToken {
  token: string;
  from: number;
  to: number;
}

export class AlignmentError extends Error {
  override name = "AlignmentError";
}

/**
 * WordPiece: the first token is a prefix of the piece, each next one is "##" + the next
 * characters. A word that cannot be split (or is longer than max_input_chars_per_word)
 * becomes one unknown token, which covers the whole word.
 */
export function alignWordPiece(
  piece: string,
  tokens: readonly string[],
  continuingPrefix: string,
  unkToken: string | undefined,
): PieceToken[] {
  if (tokens.length === 1 && unkToken !== undefined && tokens[0] === unkToken) {
    return [{ token: tokens[0], from: 0, to: piece.length }];
  }
  const out: PieceToken[] = [];
  let pos = 0;
  tokens.forEach((token, i) => {
    let content = token;
    if (i > 0) {
      if (!token.startsWith(continuingPrefix)) {
        throw new AlignmentError(`WordPiece token "${token}" lacks the prefix "${continuingPrefix}"`);
      }
      content = token.slice(continuingPrefix.length);
    }
    pos = expect(piece, content, pos);
    out.push({ token, from: pos - content.length, to: pos });
  });
  if (pos !== piece.length) throw new AlignmentError(`WordPiece tokens cover ${pos} of ${piece.length} units of "${piece}"`);
  return out;
}

export interface BpeModelLike {
  bpe(piece: string): string[];
  tokens_to_ids: Map<string, number>;
  byte_fallback: boolean;
  unk_token?: string;
  end_of_word_suffix?: string;
  continuing_subword_suffix: string | null;
  ignore_merges: boolean;
}

/**
 * BPE: the merged symbols concatenate to the piece (after their suffixes are removed).
 * A symbol missing from the vocabulary becomes byte-fallback tokens (each covers the
 * character its byte came from) or one unknown token covering the symbol, as the
 * library's BPE.encode does.
 */
export function alignBpe(model: BpeModelLike, piece: string): PieceToken[] {
  if (piece.length === 0) return [];
  if (model.ignore_merges && model.tokens_to_ids.has(piece)) {
    return [{ token: piece, from: 0, to: piece.length }];
  }
  const symbols = model.bpe(piece);
  const out: PieceToken[] = [];
  let pos = 0;
  symbols.forEach((symbol, k) => {
    let content = symbol;
    const last = k === symbols.length - 1;
    const suffix = last ? model.end_of_word_suffix : model.continuing_subword_suffix;
    if (suffix && content.endsWith(suffix)) {
      content = content.slice(0, -suffix.length);
    }
    const from = pos;
    pos = expect(piece, content, pos);
    if (model.tokens_to_ids.has(symbol)) {
      out.push({ token: symbol, from, to: pos });
    } else if (model.byte_fallback && byteTokens(symbol).every((t) => model.tokens_to_ids.has(t.token))) {
      for (const t of byteTokens(symbol)) {
        out.push({ token: t.token, from: Math.min(from + t.from, pos), to: Math.min(from + t.to, pos) });
      }
    } else if (model.unk_token != null) {
      out.push({ token: model.unk_token, from, to: pos });
    }
  });
  if (pos !== piece.length) throw new AlignmentError(`BPE symbols cover ${pos} of ${piece.length} units of "${piece}"`);
  return out;
}

/** "<0xNN>" tokens of a symbol's UTF-8 bytes, each with the units of the character it came from. */
function byteTokens(symbol: string): PieceToken[] {
  const encoder = new TextEncoder();
  const out: PieceToken[] = [];
  let i = 0;
  while (i < symbol.length) {
    const width = symbol.codePointAt(i)! > 0xffff ? 2 : 1;
    for (const byte of encoder.encode(symbol.slice(i, i + width))) {
      out.push({ token: `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`, from: i, to: i + width });
    }
    i += width;
  }
  return out;
}

/** Unigram: the tokens are the piece's own substrings, in order (unknown ones too). */
export function alignSurfaces(piece: string, tokens: readonly string[]): PieceToken[] {
  const out: PieceToken[] = [];
  let pos = 0;
  for (const token of tokens) {
    const from = pos;
    pos = expect(piece, token, pos);
    out.push({ token, from, to: pos });
  }
  if (pos !== piece.length) throw new AlignmentError(`Unigram tokens cover ${pos} of ${piece.length} units of "${piece}"`);
  return out;
}

function expect(piece: string, content: string, pos: number): number {
  if (!piece.startsWith(content, pos)) {
    throw new AlignmentError(`token text "${content}" is not at unit ${pos} of "${piece}"`);
  }
  return pos + content.length;
}
