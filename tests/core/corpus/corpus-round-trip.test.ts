// Round trips over real corpora (shared/data beside the repository, as CI places it).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseBrat } from "../../../src/core/corpus/brat.ts";
import { parseConll, readConllDocuments } from "../../../src/core/corpus/conll.ts";
import { toBrat, toConll, toJsonl, type ExportNote } from "../../../src/core/corpus/export.ts";
import { parseJsonl } from "../../../src/core/corpus/jsonl.ts";
import { tokenizeWhitespace } from "../../../src/core/corpus/simple-tokenizer.ts";

const CORPORA = ["es_clinicalcases100/train.jsonl", "bc5cdr/dev.jsonl"];

function firstLines(corpus: string, count: number): string {
  const url = new URL(`../../../../shared/data/${corpus}`, import.meta.url);
  const lines = readFileSync(url, "utf8").split("\n").slice(0, count);
  return lines.map((line) => line + "\n").join("");
}

function toExportNotes(text: string): ExportNote[] {
  return parseJsonl("corpus.jsonl", text).notes.map((n) => ({ id: n.externalId, text: n.text, spans: n.spans ?? [] }));
}

const squeeze = (s: string) => s.replace(/\s+/g, "");

describe.each(CORPORA)("%s, first 50 notes", (corpus) => {
  const original = firstLines(corpus, 50);
  const notes = toExportNotes(original);

  it("JSONL -> notes -> JSONL gives the same bytes", () => {
    expect(notes).toHaveLength(50);
    expect(toJsonl(notes)).toBe(original);
  });

  it("notes -> brat -> notes gives the same text and spans", () => {
    for (const note of notes) {
      const { txt, ann } = toBrat(note);
      const [back] = parseBrat({ name: `${note.id}.txt`, text: txt }, { name: `${note.id}.ann`, text: ann });
      expect(back.text).toBe(note.text);
      expect(back.spans).toEqual(note.spans);
    }
  });

  it("notes -> CoNLL -> notes keeps every entity, on the same characters", () => {
    const { conll, warnings } = toConll(notes);
    expect(warnings).toEqual([]); // the corpora have no overlapping entities
    const back = parseConll("corpus.conll", conll);
    expect(back).toHaveLength(notes.length);
    back.forEach((note, i) => {
      const original = notes[i];
      const words = (n: { text: string; spans?: ExportNote["spans"] }) =>
        (n.spans ?? []).map((s) => `${s.type}:${squeeze(n.text.slice(s.start, s.end))}`);
      expect(words(note)).toEqual(words(original));
      expect(squeeze(note.text)).toBe(squeeze(original.text));
    });

    // ... and that CoNLL survives a second trip token for token.
    const again = toConll(back.map((n) => ({ id: n.externalId, text: n.text, spans: n.spans ?? [] })), tokenizeWhitespace);
    expect(readConllDocuments("again.conll", again.conll)).toEqual(readConllDocuments("corpus.conll", conll));
  });
});
