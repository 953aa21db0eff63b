// brat standoff: a note in `x.txt`, its annotations in `x.ann`. We read the text-bound
// annotations (T lines: `T1<tab>Type start end<tab>covered text`) and skip the others
// (attributes A, relations R, events E, normalizations N, notes #, equivalences *): the
// schema has no place for them yet, and a file that has them is still a good file.
//
// Discontinuous annotations (`T2<tab>Disease 10 15;20 28<tab>…`) become one span per
// fragment, all of the same type. The alternative, one span from the first start to the
// last end, would claim the words between the fragments, which the annotator left out.

import { InputFileError } from "../errors.ts";
import { codePointToUtf16 } from "./code-point-offsets.ts";
import { extensionOf, stripExtension } from "./file-names.ts";
import type { ParsedNote, Span } from "./types.ts";

export interface NamedText {
  name: string;
  text: string;
}

export interface BratPairing<F extends { name: string }> {
  pairs: { txt: F; ann: F }[];
  /** Files that are not part of a pair: .txt without .ann (plain notes), other formats. */
  rest: F[];
  /** One per .ann file without its .txt. */
  errors: InputFileError[];
}

// T1 <tab> Type start end[;start end]* [<tab> covered text]
const TEXT_BOUND = /^(T\S*)\t(\S+) (\d+ \d+(?:;\d+ \d+)*)(?:\t(.*))?$/;

export function parseBrat(txt: NamedText, ann: NamedText): ParsedNote[] {
  const toUtf16 = codePointToUtf16(txt.text);
  const spans: Span[] = [];

  ann.text.split("\n").forEach((rawLine, i) => {
    const line = i + 1;
    const content = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (!content.startsWith("T")) return; // blank, or an annotation kind we do not read yet
    const fail = (problem: string) => new InputFileError(ann.name, problem, line);

    const match = TEXT_BOUND.exec(content);
    if (!match) throw fail('is not a text-bound annotation (expected "T1<tab>Type start end<tab>covered text")');
    const [, id, type, ranges, covered] = match;

    const fragments = ranges.split(";").map((range) => {
      const [start, end] = range.split(" ").map(Number);
      const [s, e] = [toUtf16(start), toUtf16(end)];
      if (start >= end) throw fail(`${id} spans ${start}–${end}: the end must come after the start`);
      if (s < 0 || e < 0) {
        throw fail(`${id} spans ${start}–${end}, which is not inside ${txt.name} (${[...txt.text].length} characters)`);
      }
      return { start: s, end: e, type };
    });

    // brat writes the covered text of a discontinuous annotation as its fragments joined by
    // a space, and line breaks inside a span cannot survive a one-line format: compare with
    // whitespace runs made equal.
    if (covered !== undefined) {
      const actual = fragments.map((f) => txt.text.slice(f.start, f.end)).join(" ");
      if (!sameIgnoringWhitespace(actual, covered)) {
        throw fail(`${id} says it covers ${JSON.stringify(covered)} but ${txt.name} has ${JSON.stringify(actual)} there`);
      }
    }
    spans.push(...fragments);
  });

  return [{ externalId: stripExtension(txt.name), text: txt.text, spans, sourceFile: txt.name }];
}

function sameIgnoringWhitespace(a: string, b: string): boolean {
  const squeeze = (s: string) => s.replace(/\s+/g, " ").trim();
  return squeeze(a) === squeeze(b);
}

/** Match `x.txt` with `x.ann` (same folder, same name). A lone .ann is an error: its text is missing. */
export function pairBratFiles<F extends { name: string }>(files: F[]): BratPairing<F> {
  const txtByStem = new Map<string, F>();
  for (const file of files) if (extensionOf(file.name) === "txt") txtByStem.set(stripExtension(file.name), file);

  const pairs: { txt: F; ann: F }[] = [];
  const paired = new Set<F>();
  const errors: InputFileError[] = [];
  for (const ann of files) {
    if (extensionOf(ann.name) !== "ann") continue;
    const stem = stripExtension(ann.name);
    const txt = txtByStem.get(stem);
    if (!txt) {
      errors.push(new InputFileError(ann.name, `is a brat annotation file without its text: add ${stem}.txt`));
      continue;
    }
    pairs.push({ txt, ann });
    paired.add(txt).add(ann);
  }
  const rest = files.filter((file) => !paired.has(file) && extensionOf(file.name) !== "ann");
  return { pairs, rest, errors };
}
