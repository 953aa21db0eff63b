// CSV and TSV exports from hospital systems: one note per row, a header row naming the
// columns. The user picks which column holds the text (and the id); `inspectDelimited`
// suggests both. Quoted fields may hold delimiters and line breaks, so a row's line in the
// file is computed from its character offset, not from its row index.

import Papa from "papaparse";
import { InputFileError } from "../errors.ts";
import { extensionOf } from "./file-names.ts";
import { LineCounter } from "./line-counter.ts";
import { listLines, type ParseOutcome } from "./parse-outcome.ts";
import type { ParsedNote } from "./types.ts";

export interface DelimitedInspection {
  columns: string[];
  /** Data rows, not counting the header. */
  rowCount: number;
  delimiter: string;
  /** The column with the longest average content: in a note export, the note. */
  suggestedText: string;
  /** A column named like an id (id, note_id, document_id, …), if there is one. */
  suggestedId?: string;
}

export interface DelimitedColumns {
  textColumn: string;
  idColumn?: string;
  /** Defaults to a tab for .tsv and to the likeliest of , ; tab | in the header for others. */
  delimiter?: string;
}

interface Row {
  fields: string[];
  /** 1-based line in the file where the row starts. */
  line: number;
}

export function inspectDelimited(file: string, text: string): DelimitedInspection {
  const delimiter = guessDelimiter(file, text);
  const { columns, rows } = readTable(file, text, delimiter);
  const suggestedId = columns.find((column) => ID_COLUMN.test(normalizeName(column)));
  return {
    columns,
    rowCount: rows.length,
    delimiter,
    suggestedText: longestColumn(columns, rows, suggestedId),
    ...(suggestedId !== undefined && { suggestedId }),
  };
}

export function parseDelimited(file: string, text: string, options: DelimitedColumns): ParseOutcome {
  const delimiter = options.delimiter ?? guessDelimiter(file, text);
  const { columns, rows } = readTable(file, text, delimiter);
  const textIndex = columnIndex(file, columns, options.textColumn);
  const idIndex = options.idColumn === undefined ? -1 : columnIndex(file, columns, options.idColumn);

  const notes: ParsedNote[] = [];
  const emptyLines: number[] = [];
  rows.forEach((row, i) => {
    const noteText = row.fields[textIndex];
    if (noteText.trim() === "") {
      emptyLines.push(row.line);
      return;
    }
    const id = idIndex >= 0 ? row.fields[idIndex].trim() : "";
    notes.push({ externalId: id || `${file}#${i + 1}`, text: noteText, sourceFile: file });
  });

  const warnings: string[] = [];
  // A file without a header row gives its first note as the column names: say so, or that
  // note is lost without a word.
  const dataLike = columns.find((name) => name.length > MAX_COLUMN_NAME);
  if (dataLike !== undefined) {
    warnings.push(
      `${file}: line 1 is read as the column names, but "${dataLike.slice(0, MAX_COLUMN_NAME)}…" looks like data, not a name; ` +
        `if the file has no header row, add one (it was not imported as a note)`,
    );
  }
  if (rows.length === 0) warnings.push(`${file}: has a header row but no data rows`);
  if (emptyLines.length > 0) {
    const rowsWord = emptyLines.length === 1 ? "row" : "rows";
    warnings.push(
      `${file}: skipped ${emptyLines.length} ${rowsWord} with an empty "${options.textColumn}" cell (${listLines(emptyLines)})`,
    );
  }
  return { notes, warnings };
}

/** Longer header cells are not column names but data (a file without a header row). */
const MAX_COLUMN_NAME = 40;

/** id, note_id, NoteID, document-id, doc_id, record id, report_id, … */
const ID_COLUMN = /^(id|(note|doc|document|record|report|case|text)_?id)$/;

function normalizeName(column: string): string {
  return column.trim().toLowerCase().replace(/[\s-]+/g, "_");
}

function columnIndex(file: string, columns: string[], name: string): number {
  const index = columns.indexOf(name);
  if (index < 0) {
    const known = columns.map((c) => `"${c}"`).join(", ");
    throw new InputFileError(file, `has no column "${name}"; its columns are ${known}`, 1);
  }
  return index;
}

/** Every column has a cell in every row, so the longest total is the longest average. */
function longestColumn(columns: string[], rows: Row[], exclude: string | undefined): string {
  let best = columns[0];
  let bestLength = -1;
  columns.forEach((column, i) => {
    if (column === exclude && columns.length > 1) return;
    const total = rows.reduce((sum, row) => sum + row.fields[i].length, 0);
    if (total > bestLength) [best, bestLength] = [column, total];
  });
  return best;
}

const CANDIDATE_DELIMITERS = [",", ";", "\t", "|"];

/** The candidate that splits the header line into the most fields (quotes respected). */
function guessDelimiter(file: string, text: string): string {
  if (extensionOf(file) === "tsv") return "\t";
  const counts = new Map(CANDIDATE_DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === "\n" || char === "\r")) break;
    else if (!quoted && counts.has(char)) counts.set(char, counts.get(char)! + 1);
  }
  let best = ",";
  for (const [delimiter, count] of counts) if (count > counts.get(best)!) best = delimiter;
  return best;
}

function readTable(file: string, text: string, delimiter: string): { columns: string[]; rows: Row[] } {
  const lines = new LineCounter(text);
  const records: Row[] = [];
  let failure: InputFileError | undefined;
  let rowStart = 0;

  Papa.parse<string[]>(text, {
    delimiter,
    skipEmptyLines: "greedy",
    step: (result, parser) => {
      // The row begins where the previous one ended, after any blank lines papaparse skipped.
      const line = lines.lineAt(firstNonBlank(text, rowStart));
      rowStart = result.meta.cursor;
      const error = result.errors[0];
      if (error) {
        // papaparse points at the quote that went wrong, which may be lines into the row.
        const errorLine = error.index === undefined ? line : lines.lineAt(error.index);
        failure = new InputFileError(file, describeQuoteError(error.code), errorLine);
        parser.abort();
        return;
      }
      records.push({ fields: result.data, line });
    },
  });
  if (failure) throw failure;
  if (records.length === 0) throw new InputFileError(file, "is empty");

  const [header, ...rows] = records;
  const columns = header.fields.map((name) => name.trim());
  const duplicate = columns.find((name, i) => columns.indexOf(name) !== i);
  if (duplicate !== undefined) throw new InputFileError(file, `has two columns named "${duplicate}"`, 1);

  for (const row of rows) {
    if (row.fields.length !== columns.length) {
      throw new InputFileError(
        file,
        `has ${row.fields.length} fields but the header has ${columns.length} ` +
          `(separated by ${delimiterName(delimiter)}; a field that contains one must be in double quotes)`,
        row.line,
      );
    }
  }
  return { columns, rows };
}

function firstNonBlank(text: string, from: number): number {
  let i = from;
  while (i < text.length && /\s/.test(text[i])) i++;
  return i;
}

function describeQuoteError(code: string): string {
  switch (code) {
    case "MissingQuotes":
      return "a quoted field starts here and is never closed (a missing closing double quote)";
    case "InvalidQuotes":
      return "a quoted field has text after its closing double quote (write a double quote inside a field as two)";
    default:
      return `cannot be read as a table (${code})`;
  }
}

function delimiterName(delimiter: string): string {
  return { ",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars" }[delimiter] ?? `"${delimiter}"`;
}
