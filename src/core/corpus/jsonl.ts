// JSON Lines: one object per line, `{"id": …, "text": …, "entities": [{start, end, type, text?}]}`,
// the format of the benchmark corpora and of our own export. Entity offsets are checked
// against the text, because a corpus whose offsets drifted (another tokenizer, CRLF
// stripped) would silently train a model on the wrong words.
//
// Optional, as our export writes them (src/core/corpus/export.ts):
//   - `attributes` on an entity: {name: value}, values strings;
//   - `relations`: [{type, from, to}], from/to indexing `entities` (0-based); the
//     {type, head, tail} spelling of other tools is read too;
//   - `labels`: {name: value or [values]}.
// Like entity types, attribute names and values, relation types and label values are not
// checked against the schema here (the parser has none): an unknown one is kept as given,
// and the screens and metrics show it as it is. Only their shape is checked.

import { InputFileError } from "../errors.ts";
import { listLines, type ParseOutcome } from "./parse-outcome.ts";
import type { DocumentLabels, ParsedNote, Relation, Span } from "./types.ts";

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
    if (record.relations !== undefined) note.relations = readRelations(file, record.relations, note.spans?.length ?? 0, line);
    if (record.labels !== undefined) note.labels = readLabels(file, record.labels, line);
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
    const { start, end, type, text: covered, attributes } = entity as Record<string, unknown>;
    if (!Number.isInteger(start) || !Number.isInteger(end)) throw fail("start and end must be whole numbers");
    if (typeof type !== "string" || type === "") throw fail("has no type");
    const [s, e] = [start as number, end as number];
    if (!(0 <= s && s < e && e <= text.length)) {
      throw fail(`offsets ${s}–${e} are not inside the text (0–${text.length}, start before end)`);
    }
    if (covered !== undefined && text.slice(s, e) !== covered) {
      throw fail(`says it covers ${JSON.stringify(covered)} but ${s}–${e} is ${JSON.stringify(text.slice(s, e))} in the text`);
    }
    const span: Span = { start: s, end: e, type };
    if (attributes !== undefined) span.attributes = readAttributes(attributes, fail);
    return span;
  });
}

function readAttributes(attributes: unknown, fail: (problem: string) => InputFileError): Record<string, string> {
  if (typeof attributes !== "object" || attributes === null || Array.isArray(attributes)) {
    throw fail(`has "attributes" that is ${describeJson(attributes)}, not an object of name: value`);
  }
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value !== "string" || value === "") {
      throw fail(`attribute "${name}" is ${value === "" ? "empty" : describeJson(value)}; attribute values are non-empty strings`);
    }
  }
  return attributes as Record<string, string>;
}

function readRelations(file: string, relations: unknown, entityCount: number, line: number): Relation[] {
  if (!Array.isArray(relations)) throw new InputFileError(file, `has "relations" that is not a list`, line);
  return relations.map((relation: unknown, i) => {
    const fail = (problem: string) => new InputFileError(file, `relation ${i + 1}: ${problem}`, line);
    if (typeof relation !== "object" || relation === null) throw fail("is not an object");
    const fields = relation as Record<string, unknown>;
    if (typeof fields.type !== "string" || fields.type === "") throw fail("has no type");
    // {from, to} is what we write; {head, tail} what several relation-extraction corpora use.
    const [fromKey, toKey] = "head" in fields && !("from" in fields) ? ["head", "tail"] : ["from", "to"];
    const endpoint = (key: string) => {
      const index = fields[key];
      if (!Number.isInteger(index)) throw fail(`"${key}" must be the index of an entity (a whole number from 0)`);
      if ((index as number) < 0 || (index as number) >= entityCount) {
        throw fail(`"${key}" is ${index as number}, but the record has ${entityCount} ${entityCount === 1 ? "entity" : "entities"} (indexes from 0)`);
      }
      return index as number;
    };
    return { type: fields.type, from: endpoint(fromKey), to: endpoint(toKey) };
  });
}

function readLabels(file: string, labels: unknown, line: number): DocumentLabels {
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) {
    throw new InputFileError(file, `has "labels" that is ${describeJson(labels)}, not an object of name: value or [values]`, line);
  }
  const read: DocumentLabels = {};
  for (const [name, value] of Object.entries(labels)) {
    const values = Array.isArray(value) ? value : [value];
    if (values.some((v) => typeof v !== "string" || v === "")) {
      throw new InputFileError(file, `label "${name}" must be a non-empty string or a list of them`, line);
    }
    read[name] = values as string[];
  }
  return read;
}
