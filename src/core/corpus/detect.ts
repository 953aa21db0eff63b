// The one entry point an import calls: a heap of dropped files in, notes out. Each file is
// decoded and parsed by its extension; a bad file becomes an error in the result and the
// others go on, because one broken export should not cost the user the other ninety-nine.

import { InputFileError } from "../errors.ts";
import { pairBratFiles, parseBrat } from "./brat.ts";
import { parseConll } from "./conll.ts";
import { inspectDelimited, parseDelimited, type DelimitedColumns } from "./delimited.ts";
import { decodeText } from "./encoding.ts";
import { extensionOf } from "./file-names.ts";
import { parseJsonl, type JsonlFields } from "./jsonl.ts";
import type { ParseOutcome } from "./parse-outcome.ts";
import { parseTxt } from "./txt.ts";
import type { InputFile, ParsedNote } from "./types.ts";

export interface ParseFilesOptions {
  /** Column choices per CSV/TSV file name; what is left out comes from `inspectDelimited`. */
  delimited?: Record<string, Partial<DelimitedColumns>>;
  /** Field names for every JSONL file. */
  jsonl?: JsonlFields;
}

export interface FileSummary {
  file: string;
  /** How many notes the file gave. */
  notes: number;
  encoding: string;
}

export interface ParseFilesResult {
  notes: ParsedNote[];
  errors: InputFileError[];
  warnings: string[];
  perFile: FileSummary[];
}

export const ACCEPTED_EXTENSIONS = ["txt", "csv", "tsv", "jsonl", "ndjson", "ann", "conll", "bio", "iob"];

export function parseFiles(files: InputFile[], options: ParseFilesOptions = {}): ParseFilesResult {
  const { pairs, errors } = pairBratFiles(files);
  const annotationsOf = new Map(pairs.map(({ txt, ann }) => [txt, ann]));
  const result: ParseFilesResult = { notes: [], errors, warnings: [], perFile: [] };

  for (const file of files) {
    if (extensionOf(file.name) === "ann") continue; // read with its .txt, or already an error
    try {
      const { notes, warnings, encoding } = parseFile(file, annotationsOf.get(file), options);
      result.notes.push(...notes);
      result.warnings.push(...warnings);
      result.perFile.push({ file: file.name, notes: notes.length, encoding });
    } catch (error) {
      if (!(error instanceof InputFileError)) throw error; // a bug, not a bad file
      result.errors.push(error);
    }
  }
  result.warnings.push(...duplicateIdWarnings(result.notes));
  return result;
}

function parseFile(
  file: InputFile,
  annotations: InputFile | undefined,
  options: ParseFilesOptions,
): ParseOutcome & { encoding: string } {
  const extension = extensionOf(file.name);
  if (!ACCEPTED_EXTENSIONS.includes(extension)) {
    const accepted = ACCEPTED_EXTENSIONS.map((e) => `.${e}`).join(", ");
    throw new InputFileError(file.name, `is not a format we read (accepted: ${accepted})`);
  }
  const { text, encoding } = decodeText(file.name, file.bytes);
  const outcome = parseDecoded(file.name, extension, text, annotations, options);
  return { ...outcome, encoding };
}

function parseDecoded(
  name: string,
  extension: string,
  text: string,
  annotations: InputFile | undefined,
  options: ParseFilesOptions,
): ParseOutcome {
  const notesOnly = (notes: ParsedNote[]): ParseOutcome => ({ notes, warnings: [] });
  switch (extension) {
    case "txt":
      if (!annotations) return notesOnly(parseTxt(name, text));
      return notesOnly(parseBrat({ name, text }, { name: annotations.name, text: decodeAnnotations(annotations) }));
    case "csv":
    case "tsv":
      return parseDelimited(name, text, delimitedColumns(name, text, options.delimited?.[name]));
    case "jsonl":
    case "ndjson":
      return parseJsonl(name, text, options.jsonl);
    default: // conll, bio, iob
      return notesOnly(parseConll(name, text));
  }
}

/** An empty .ann is a note nobody annotated yet, not an empty file. */
function decodeAnnotations(file: InputFile): string {
  const blank = file.bytes.every((b) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d);
  return blank ? "" : decodeText(file.name, file.bytes).text;
}

function delimitedColumns(name: string, text: string, chosen: Partial<DelimitedColumns> = {}): DelimitedColumns {
  if (chosen.textColumn !== undefined) return { ...chosen, textColumn: chosen.textColumn };
  const suggested = inspectDelimited(name, text);
  return {
    textColumn: suggested.suggestedText,
    idColumn: chosen.idColumn ?? suggested.suggestedId,
    delimiter: chosen.delimiter ?? suggested.delimiter,
  };
}

/** Ids must be unique within an import; say so once, listing a few. */
function duplicateIdWarnings(notes: ParsedNote[]): string[] {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const note of notes) {
    if (seen.has(note.externalId)) duplicates.add(note.externalId);
    seen.add(note.externalId);
  }
  if (duplicates.size === 0) return [];
  const shown = [...duplicates].slice(0, 10).map((id) => JSON.stringify(id));
  const more = duplicates.size > 10 ? ` and ${duplicates.size - 10} more` : "";
  return [`${duplicates.size} note ids appear more than once: ${shown.join(", ")}${more}`];
}
