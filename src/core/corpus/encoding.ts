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

export function decodeText(file: string, bytes: Uint8Array): DecodedText {
  if (bytes.length === 0) throw new InputFileError(file, "is empty");
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

  return bestLegacyDecoding(file, bytes);
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
