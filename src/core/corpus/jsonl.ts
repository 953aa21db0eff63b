// JSON Lines: one object per line, `{"id": …, "text": …, "entities": [{start, end, type, text?}]}`,
// the format of the benchmark corpora and of our own export. Entity offsets are checked
// against the text, because a corpus whose offsets drifted (another tokenizer, CRLF
// stripped) would silently train a model on the wrong words.

import { InputFileError } from "../errors.ts";
import { listLines, type ParseOutcome } from "./parse-outcome.ts";
import type { ParsedNote, Span } from "./types.ts";

export interface JsonlFields {
  /** Field holding the note text; default "text". */
  textField?: string;
  /** Field holding the id; default "id". Without one, the id is `${file}#${line}`. */
  idField?: string;
}

export function parseJsonl(file: string, text: string, fields: JsonlFields = {}): ParseOutcome {
  const textField = fields.textField ?? "text";
  const idField = fields.idField ?? "id";
  const notes: ParsedNote[] = [];
  const emptyLines: number[] = [];

  text.split("\n").forEach((rawLine, i) => {
    const line = i + 1;
    if (rawLine.trim() === "") return;
    const record = parseObject(file, rawLine, line);

    const noteText = record[textField];
    if (typeof noteText !== "string") {
      const problem =
        noteText === undefined
          ? `has no string field "${textField}" (its fields: ${Object.keys(record).join(", ")})`
          : `has a field "${textField}" that is ${describeJson(noteText)}, not a string`;
      throw new InputFileError(file, problem, line);
    }
    if (noteText.trim() === "") {
      emptyLines.push(line);
      return;
    }
    const note: ParsedNote = { externalId: readId(file, record[idField], line), text: noteText, sourceFile: file };
    if (record.entities !== undefined) note.spans = readEntities(file, record.entities, noteText, line);
    notes.push(note);
  });

  const warnings = emptyLines.length
    ? [`${file}: skipped ${emptyLines.length} ${emptyLines.length === 1 ? "record" : "records"} with an empty "${textField}" (${listLines(emptyLines)})`]
    : [];
  return { notes, warnings };
}

function parseObject(file: string, rawLine: string, line: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(rawLine);
  } catch (error) {
    throw new InputFileError(file, `is not valid JSON (${(error as Error).message})`, line);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InputFileError(file, "is not a JSON object (each line must be one {…} record)", line);
  }
  return value as Record<string, unknown>;
}

function describeJson(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function readId(file: string, id: unknown, line: number): string {
  if (id === undefined || id === null || id === "") return `${file}#${line}`;
  if (typeof id === "string" || typeof id === "number") return String(id);
  throw new InputFileError(file, `has an id that is neither a string nor a number`, line);
}

function readEntities(file: string, entities: unknown, text: string, line: number): Span[] {
  if (!Array.isArray(entities)) throw new InputFileError(file, `has "entities" that is not a list`, line);
  return entities.map((entity: unknown, i) => {
    const fail = (problem: string) => new InputFileError(file, `entity ${i + 1}: ${problem}`, line);
    if (typeof entity !== "object" || entity === null) throw fail("is not an object");
    const { start, end, type, text: covered } = entity as Record<string, unknown>;
    if (!Number.isInteger(start) || !Number.isInteger(end)) throw fail("start and end must be whole numbers");
    if (typeof type !== "string" || type === "") throw fail("has no type");
    const [s, e] = [start as number, end as number];
    if (!(0 <= s && s < e && e <= text.length)) {
      throw fail(`offsets ${s}–${e} are not inside the text (0–${text.length}, start before end)`);
    }
    if (covered !== undefined && text.slice(s, e) !== covered) {
      throw fail(`says it covers ${JSON.stringify(covered)} but ${s}–${e} is ${JSON.stringify(text.slice(s, e))} in the text`);
    }
    return { start: s, end: e, type };
  });
}
