// Turn a dropped file's bytes into text. Hospital exports come in whatever their system
// writes: UTF-8 (with or without BOM), UTF-16 from Windows tools, Shift_JIS or EUC-JP from
// Japanese systems, windows-1252 from older Western ones. Nothing declares the encoding, so
// we detect it. The text is returned exactly as decoded: every span offset depends on it.

import { InputFileError } from "../errors.ts";
import { plausibility } from "./plausibility.ts";

export interface DecodedText {
  text: string;
  /** WHATWG encoding label: utf-8, utf-16le, utf-16be, shift_jis, euc-jp, windows-1252. */
  encoding: string;
}

/** Legacy encodings tried, in order of preference when two score the same. */
const LEGACY_CANDIDATES = ["shift_jis", "euc-jp", "windows-1252"] as const;

/** Share of characters that may be control characters before we call a file binary. */
const MAX_CONTROL_SHARE = 0.02;

/** Fewer valid UTF-8 sequences than this are too few to call a file UTF-8 with a stray byte. */
const MIN_UTF8_SEQUENCES = 8;

/**
 * The longest string V8 (Chrome, Edge, Node) can hold, in characters; Firefox and Safari
 * allow more. A larger file cannot become one text: decoding it fails with an error that
 * names no file (and in Node, for a legacy encoding, aborts the process).
 */
export const MAX_TEXT_BYTES = 0x1fffffe8;

export function decodeText(file: string, bytes: Uint8Array): DecodedText {
  if (bytes.length === 0) throw new InputFileError(file, "is empty");
  if (bytes.length > MAX_TEXT_BYTES) {
    const megabytes = (n: number) => `${Math.floor(n / 2 ** 20)} MB`;
    throw new InputFileError(
      file,
      `is ${megabytes(bytes.length)}, more than the ${megabytes(MAX_TEXT_BYTES)} a browser can read as one text: split it into smaller files`,
    );
  }
  const decoded = decodeBytes(file, bytes);
  if (decoded.text.trim() === "") throw new InputFileError(file, "is empty");
  if (controlShare(decoded.text) > MAX_CONTROL_SHARE) throw binaryFile(file);
  return decoded;
}

function decodeBytes(file: string, bytes: Uint8Array): DecodedText {
  const bom = byteOrderMark(bytes);
  if (bom) {
    const text = tryDecode(bom, bytes);
    if (text === undefined) {
      throw new InputFileError(file, `starts with a ${bom} byte-order mark but is not valid ${bom}`);
    }
    return { text, encoding: bom };
  }

  // NUL bytes never occur in text, except as the high (or low) half of UTF-16 code units.
  if (bytes.includes(0)) {
    const utf16 = utf16ByZeroPattern(bytes);
    const text = utf16 && tryDecode(utf16, bytes);
    if (!utf16 || text === undefined) throw binaryFile(file);
    return { text, encoding: utf16 };
  }

  const utf8 = tryDecode("utf-8", bytes);
  if (utf8 !== undefined) return { text: utf8, encoding: "utf-8" };

  // A file that is UTF-8 but for a stray byte (two exports pasted together, a file cut
  // mid-character) would decode as windows-1252 and turn every accent into mojibake
  // ("aÃ±os"), silently. Refuse it and say where the stray byte is.
  const stray = strayBytesInUtf8(bytes);
  if (stray) {
    const byte = `0x${bytes[stray.first].toString(16).toUpperCase().padStart(2, "0")}`;
    throw new InputFileError(
      file,
      `is UTF-8 except for ${stray.count === 1 ? `one byte, ${byte}` : `${stray.count} bytes, the first ${byte}`} on this line: ` +
        `the file mixes encodings or was cut in the middle of a character. ` +
        `Re-save it as UTF-8 and drop it again`,
      lineOf(bytes, stray.first),
    );
  }

  return bestLegacyDecoding(file, bytes);
}

/**
 * Counts well-formed UTF-8 sequences of two to four bytes and the bytes that are not part
 * of one. Legacy encodings form a valid UTF-8 sequence only by chance, far less often than
 * they break one (the corpus fixtures: at most 1 in 4); a UTF-8 file with a stray byte has
 * many valid sequences for each broken one. Short Shift_JIS or EUC-JP texts can reach 2 to
 * 1 by chance (random kanji strings of up to 8 characters did, about 1 in 1,000), never 4
 * to 1 with 8 sequences (0 in 200,000 strings of up to 400 kanji, kana or half-width kana).
 */
function strayBytesInUtf8(bytes: Uint8Array): { count: number; first: number } | undefined {
  let valid = 0;
  let invalid = 0;
  let first = -1;
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i];
    if (lead < 0x80) {
      i++;
      continue;
    }
    const length = utf8SequenceLength(bytes, i);
    if (length > 0) {
      valid++;
      i += length;
    } else {
      if (first < 0) first = i;
      invalid++;
      i++;
    }
  }
  return invalid > 0 && valid >= MIN_UTF8_SEQUENCES && valid >= 4 * invalid ? { count: invalid, first } : undefined;
}

/** Length of the well-formed UTF-8 sequence at `i` (RFC 3629 table), 0 when there is none. */
function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i];
  const inRange = (at: number, low: number, high: number) => at < bytes.length && bytes[at] >= low && bytes[at] <= high;
  if (b0 >= 0xc2 && b0 <= 0xdf) return inRange(i + 1, 0x80, 0xbf) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const [low, high] = b0 === 0xe0 ? [0xa0, 0xbf] : b0 === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return inRange(i + 1, low, high) && inRange(i + 2, 0x80, 0xbf) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const [low, high] = b0 === 0xf0 ? [0x90, 0xbf] : b0 === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return inRange(i + 1, low, high) && inRange(i + 2, 0x80, 0xbf) && inRange(i + 3, 0x80, 0xbf) ? 4 : 0;
  }
  return 0;
}

/** 1-based line of a byte offset ("\r\n", "\n" and a lone "\r" end a line, as LineCounter counts). */
function lineOf(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a || (bytes[i] === 0x0d && bytes[i + 1] !== 0x0a)) line++;
  }
  return line;
}

function byteOrderMark(bytes: Uint8Array): "utf-8" | "utf-16le" | "utf-16be" | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return "utf-8";
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return "utf-16le";
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return "utf-16be";
  return undefined;
}

/**
 * UTF-16 without a BOM: ASCII characters (digits, punctuation, newlines, which even
 * Japanese notes are full of) put a zero byte on one side of each code unit and almost
 * never on the other. Binary data has zeros on both sides.
 */
function utf16ByZeroPattern(bytes: Uint8Array): "utf-16le" | "utf-16be" | undefined {
  if (bytes.length % 2 !== 0) return undefined;
  let zerosAtEven = 0;
  let zerosAtOdd = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    if (bytes[i] === 0) zerosAtEven++;
    if (bytes[i + 1] === 0) zerosAtOdd++;
  }
  const units = bytes.length / 2;
  const clearly = (many: number, few: number) => many >= 0.1 * units && few <= 0.01 * units;
  if (clearly(zerosAtOdd, zerosAtEven)) return "utf-16le";
  if (clearly(zerosAtEven, zerosAtOdd)) return "utf-16be";
  return undefined;
}

/**
 * Every legacy encoding decodes most byte strings to *something*; the wrong ones give
 * mojibake. Decode with each (strictly, so impossible byte sequences rule a candidate out)
 * and keep the text that reads most like real writing.
 */
function bestLegacyDecoding(file: string, bytes: Uint8Array): DecodedText {
  let best: (DecodedText & { score: number }) | undefined;
  for (const encoding of LEGACY_CANDIDATES) {
    const text = tryDecode(encoding, bytes);
    if (text === undefined) continue;
    const score = plausibility(text);
    if (!best || score > best.score) best = { text, encoding, score };
  }
  // windows-1252 maps every byte, so this only fires if the platform lacks it.
  if (!best) {
    throw new InputFileError(file, "is not in an encoding we can read (tried UTF-8, UTF-16, Shift_JIS, EUC-JP, windows-1252)");
  }
  return { text: best.text, encoding: best.encoding };
}

/** Strict decode; undefined when the bytes are not valid in that encoding. Strips a BOM. */
function tryDecode(encoding: string, bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function controlShare(text: string): number {
  let controls = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // Tab, line feed, vertical tab, form feed and carriage return are layout, not binary.
    const isControl = (c < 0x20 && (c < 0x09 || c > 0x0d)) || c === 0x7f;
    if (isControl) controls++;
  }
  return controls / text.length;
}

function binaryFile(file: string): InputFileError {
  return new InputFileError(file, "looks like a binary file, not text");
}
