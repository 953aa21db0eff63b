// Corpora in the shared JSONL format (../shared/data/README.md): <dir>/{train,dev,test}.jsonl,
// one note per line, {id, text, entities: [{start, end, type}]}.

import { existsSync, readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import type { Span } from "../../../src/core/corpus/types.ts";

export interface Note {
  id: string;
  text: string;
  spans: Span[];
}

export interface Corpus {
  name: string;
  dir: string;
  train: Note[];
  dev: Note[];
  test: Note[];
}

function readSplit(dir: string, split: string): Note[] {
  const path = resolve(dir, `${split}.jsonl`);
  if (!existsSync(path)) throw new Error(`adapt: ${path} is missing; a corpus folder holds train.jsonl, dev.jsonl and test.jsonl`);
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim())
    .map((line, i) => {
      const json = JSON.parse(line) as { id?: string; text: string; entities?: { start: number; end: number; type: string }[] };
      return {
        id: json.id ?? `${split}-${i}`,
        text: json.text,
        spans: (json.entities ?? []).map(({ start, end, type }) => ({ start, end, type })),
      };
    });
}

export function readCorpus(dir: string): Corpus {
  return { name: basename(resolve(dir)), dir: resolve(dir), train: readSplit(dir, "train"), dev: readSplit(dir, "dev"), test: readSplit(dir, "test") };
}

export function typesOf(notes: readonly Note[]): string[] {
  return [...new Set(notes.flatMap((note) => note.spans.map((span) => span.type)))].sort();
}

/**
 * Renames target types onto source types (`map`: target -> source) and drops target spans
 * whose type the source model does not know; returns how many were dropped, per type.
 */
export function mapTypes(corpus: Corpus, map: Readonly<Record<string, string>>, known: readonly string[]): { corpus: Corpus; dropped: Record<string, number> } {
  const dropped: Record<string, number> = {};
  const knownSet = new Set(known);
  const notes = (list: Note[]) =>
    list.map((note) => ({
      ...note,
      spans: note.spans.flatMap((span) => {
        const type = map[span.type] ?? span.type;
        if (knownSet.has(type)) return [{ ...span, type }];
        dropped[span.type] = (dropped[span.type] ?? 0) + 1;
        return [];
      }),
    }));
  return { corpus: { ...corpus, train: notes(corpus.train), dev: notes(corpus.dev), test: notes(corpus.test) }, dropped };
}
