import type { ParsedNote } from "./types.ts";

/** What a parser that may skip records returns: the notes, and what it skipped and why. */
export interface ParseOutcome {
  notes: ParsedNote[];
  /** Human-readable, each naming the file: "notes.csv: skipped 2 rows with an empty …". */
  warnings: string[];
}

/** "lines 3, 7, 9" with at most `limit` numbers, then "and N more". */
export function listLines(lines: number[], limit = 10): string {
  const shown = lines.slice(0, limit).join(", ");
  const more = lines.length > limit ? ` and ${lines.length - limit} more` : "";
  return `${lines.length === 1 ? "line" : "lines"} ${shown}${more}`;
}
