// CoNLL-style token files: one token per line, the token in the first column and its BIO
// tag in the last (IOB2: B-X, I-X, O), a blank line between sentences, `-DOCSTART-` between
// documents. A file without `-DOCSTART-` is one document.
//
// CoNLL keeps tokens, not the original text, so the text is rebuilt: tokens joined by one
// space, sentences by "\n". Spans are offsets in that rebuilt text. An I- tag that does not
// continue an entity of its type starts one (as IOB1 files and sloppy taggers expect).

import { InputFileError } from "../errors.ts";
import { stripExtension } from "./file-names.ts";
import type { ParsedNote, Span } from "./types.ts";

export interface ConllToken {
  token: string;
  tag: string;
}

/** A document as the file has it: sentences of tagged tokens. */
export type ConllDocument = ConllToken[][];

const TAG = /^(O|[BI]-\S+)$/;
const DOCSTART = "-DOCSTART-";

export function parseConll(file: string, text: string): ParsedNote[] {
  const documents = readConllDocuments(file, text);
  const stem = stripExtension(file);
  return documents.map((sentences, i) => ({
    externalId: documents.length === 1 ? stem : `${stem}#${i + 1}`,
    ...rebuildText(sentences),
    sourceFile: file,
  }));
}

/** The tokens and tags exactly as the file has them, grouped into documents and sentences. */
export function readConllDocuments(file: string, text: string): ConllDocument[] {
  const documents: ConllDocument[] = [];
  let sentences: ConllToken[][] = [];
  let sentence: ConllToken[] = [];
  let layout: { columns: number; line: number } | undefined;

  const endSentence = () => {
    if (sentence.length > 0) sentences.push(sentence);
    sentence = [];
  };
  const endDocument = () => {
    endSentence();
    if (sentences.length > 0) documents.push(sentences);
    sentences = [];
  };

  text.split("\n").forEach((rawLine, i) => {
    const line = i + 1;
    const columns = rawLine.trim().split(/[\t ]+/);
    if (columns[0] === "") return endSentence();
    if (columns[0] === DOCSTART) return endDocument();

    layout ??= { columns: columns.length, line };
    if (columns.length < 2) {
      throw new InputFileError(file, `has only one column: expected a token first and its BIO tag last`, line);
    }
    if (columns.length !== layout.columns) {
      throw new InputFileError(
        file,
        `has ${columns.length} columns but line ${layout.line} has ${layout.columns} (a token with a space in it?)`,
        line,
      );
    }
    const tag = columns[columns.length - 1];
    if (!TAG.test(tag)) throw new InputFileError(file, `has tag "${tag}": expected O, B-type or I-type`, line);
    sentence.push({ token: columns[0], tag });
  });
  endDocument();

  if (documents.length === 0) throw new InputFileError(file, "has no tokens");
  return documents;
}

function rebuildText(sentences: ConllDocument): { text: string; spans: Span[] } {
  let text = "";
  const spans: Span[] = [];
  let open: Span | undefined;
  const close = () => {
    if (open) spans.push(open);
    open = undefined;
  };

  sentences.forEach((sentence, s) => {
    if (s > 0) text += "\n";
    sentence.forEach(({ token, tag }, t) => {
      if (t > 0) text += " ";
      const start = text.length;
      text += token;
      const end = text.length;

      if (tag === "O") return close();
      const type = tag.slice(2);
      if (tag.startsWith("I-") && open?.type === type) {
        open.end = end;
        return;
      }
      close();
      open = { start, end, type };
    });
    close(); // entities do not cross sentence boundaries
  });
  return { text, spans };
}
