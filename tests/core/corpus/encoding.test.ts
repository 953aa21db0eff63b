import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeText } from "../../../src/core/corpus/encoding.ts";
import { InputFileError } from "../../../src/core/errors.ts";

const JAPANESE = "患者は72歳男性。主訴は胸痛。高血圧の既往あり。";
const SPANISH = "Paciente de 72 años con fiebre, tos y disnea. Diagnóstico: neumonía. Niño, señora, ¿qué tal? 38,5 °C";

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../../fixtures/corpus/${name}`, import.meta.url)));
const utf8 = (text: string) => new TextEncoder().encode(text);
const bytes = (...parts: (number[] | Uint8Array)[]) => new Uint8Array(parts.flatMap((p) => [...p]));

function utf16(text: string, endian: "le" | "be"): number[] {
  return [...text].flatMap((char) => {
    const out: number[] = [];
    for (let i = 0; i < char.length; i++) {
      const unit = char.charCodeAt(i);
      out.push(...(endian === "le" ? [unit & 0xff, unit >> 8] : [unit >> 8, unit & 0xff]));
    }
    return out;
  });
}

describe("decodeText detects the encoding", () => {
  it.each([
    { name: "UTF-8", input: utf8(JAPANESE), encoding: "utf-8", text: JAPANESE },
    { name: "UTF-8 with BOM (stripped)", input: bytes([0xef, 0xbb, 0xbf], utf8(JAPANESE)), encoding: "utf-8", text: JAPANESE },
    { name: "UTF-16 LE with BOM", input: bytes([0xff, 0xfe], utf16(JAPANESE, "le")), encoding: "utf-16le", text: JAPANESE },
    { name: "UTF-16 BE with BOM", input: bytes([0xfe, 0xff], utf16(JAPANESE, "be")), encoding: "utf-16be", text: JAPANESE },
    { name: "UTF-16 LE, no BOM", input: fixture("note-utf-16le-no-bom.txt"), encoding: "utf-16le", text: "患者は72歳男性。主訴は胸痛。\n" },
    { name: "UTF-16 BE, no BOM", input: fixture("note-utf-16be-no-bom.txt"), encoding: "utf-16be", text: "患者は72歳男性。主訴は胸痛。\n" },
    { name: "UTF-16 LE, astral character", input: bytes([0xff, 0xfe], utf16("痛み😣あり", "le")), encoding: "utf-16le", text: "痛み😣あり" },
    { name: "Shift_JIS", input: fixture("note-shift-jis.txt"), encoding: "shift_jis", text: JAPANESE },
    {
      name: "Shift_JIS with half-width katakana and CRLF",
      input: fixture("note-shift-jis-halfwidth.txt"),
      encoding: "shift_jis",
      text: `${JAPANESE}\r\nｶﾙﾃ番号: 0012、血圧 150/90 mmHg。`,
    },
    { name: "Shift_JIS with full-width letters", input: fixture("history-shift-jis.txt"), encoding: "shift_jis", text: "既往歴：糖尿病、高血圧。内服薬：アムロジピン５ｍｇ。" },
    { name: "EUC-JP", input: fixture("note-euc-jp.txt"), encoding: "euc-jp", text: JAPANESE },
    // These bytes are also valid Shift_JIS and windows-1252: only the plausibility score decides.
    { name: "EUC-JP that decodes in all three", input: fixture("complaint-euc-jp.txt"), encoding: "euc-jp", text: "患者は72歳男性。主訴は胸痛。" },
    { name: "EUC-JP, three kanji only", input: fixture("short-euc-jp.txt"), encoding: "euc-jp", text: "心不全" },
    { name: "windows-1252 Spanish", input: fixture("note-windows-1252.txt"), encoding: "windows-1252", text: SPANISH },
    { name: "windows-1252 that is also valid Shift_JIS", input: fixture("diagnosis-windows-1252.txt"), encoding: "windows-1252", text: "Diagnóstico: neumonía" },
    { name: "windows-1252, one ñ", input: fixture("age-windows-1252.txt"), encoding: "windows-1252", text: "Paciente, 45 años. Refiere cefalea." },
    { name: "windows-1252 French", input: bytes([0x66, 0x69, 0xe8, 0x76, 0x72, 0x65, 0x20, 0xe0, 0x20, 0x33, 0x39, 0x20, 0xb0, 0x43]), encoding: "windows-1252", text: "fièvre à 39 °C" },
    { name: "ASCII keeps CRLF and tabs", input: utf8("a\r\nb\tc\r\n"), encoding: "utf-8", text: "a\r\nb\tc\r\n" },
  ])("$name", ({ input, encoding, text }) => {
    expect(decodeText("note.txt", input)).toEqual({ text, encoding });
  });
});

describe("decodeText rejects what is not a note", () => {
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x01, 0x00];
  it.each([
    { name: "zero bytes", input: bytes([]), message: "scan.txt: is empty" },
    { name: "only whitespace", input: utf8(" \r\n\t\n"), message: "scan.txt: is empty" },
    { name: "only ideographic spaces", input: utf8("\u3000\u3000"), message: "scan.txt: is empty" },
    { name: "a PNG", input: bytes(png), message: "scan.txt: looks like a binary file, not text" },
    { name: "NUL runs in ASCII", input: utf8("record\0\0\0\0id=17\0\0"), message: "scan.txt: looks like a binary file, not text" },
    {
      name: "an .xlsx (a zip) under a text name",
      input: bytes([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0x62, 0xee]),
      message: "scan.txt: looks like a binary file, not text",
    },
    { name: "many control characters", input: utf8("ab\x01\x02\x03cd\x04\x05\x06ef\x07\x08"), message: "scan.txt: looks like a binary file, not text" },
    {
      name: "a UTF-8 BOM over invalid UTF-8",
      input: bytes([0xef, 0xbb, 0xbf, 0x61, 0xff, 0x62]),
      message: "scan.txt: starts with a utf-8 byte-order mark but is not valid utf-8",
    },
    {
      name: "a UTF-16 BOM with an odd byte count",
      input: bytes([0xff, 0xfe, 0x61, 0x00, 0x62]),
      message: "scan.txt: starts with a utf-16le byte-order mark but is not valid utf-16le",
    },
  ])("$name", ({ input, message }) => {
    const run = () => decodeText("scan.txt", input);
    expect(run).toThrow(InputFileError);
    expect(run).toThrow(message);
  });

  it("names the file it rejects, for the import screen", () => {
    try {
      decodeText("ward 3/scan.pdf", bytes(png));
      expect.unreachable();
    } catch (error) {
      expect((error as InputFileError).file).toBe("ward 3/scan.pdf");
      expect((error as InputFileError).line).toBeUndefined();
    }
  });
});
