// The demo model's data: JSONL notes ({id, text, entities: [{start, end, type}]}) read as
// labelled notes, and a description of each file that does not depend on git (bytes,
// SHA-256, lines, entities per type), so metrics.json names exactly what was trained on.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { Span } from "../../src/core/corpus/types.ts";

export interface CorpusNote {
  id: string;
  text: string;
  spans: Span[];
}

export interface FileDescription {
  file: string;
  bytes: number;
  sha256: string;
  notes: number;
  characters: number;
  entities: Record<string, number>;
}

export function readJsonl(path: string): { notes: CorpusNote[]; description: FileDescription } {
  const bytes = readFileSync(path);
  const notes = bytes
    .toString("utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, index) => {
      const row = JSON.parse(line) as { id?: string; text: string; entities?: { start: number; end: number; type: string; text?: string }[] };
      const spans = (row.entities ?? []).map(({ start, end, type, text }) => {
        if (text !== undefined && row.text.slice(start, end) !== text) {
          throw new Error(`${path}:${index + 1}: entity [${start}, ${end}) reads "${row.text.slice(start, end)}", the file says "${text}"`);
        }
        return { start, end, type };
      });
      return { id: row.id ?? String(index), text: row.text, spans };
    });
  const entities: Record<string, number> = {};
  for (const note of notes) for (const span of note.spans) entities[span.type] = (entities[span.type] ?? 0) + 1;
  return {
    notes,
    description: {
      file: basename(path),
      bytes: bytes.byteLength,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      notes: notes.length,
      characters: notes.reduce((sum, note) => sum + note.text.length, 0),
      entities,
    },
  };
}
