// brat standoff: a note in `x.txt`, its annotations in `x.ann`. We read
//   T lines, text-bound annotations: `T1<tab>Type start end<tab>covered text`;
//   A (and the older M) lines, attributes of a T: `A1<tab>Negation T1` (binary: the value
//     "true") or `A2<tab>Certainty T1 negative` (valued);
//   R lines, relations between two T: `R1<tab>Treats Arg1:T1 Arg2:T2` (the first
//     argument is `from`, whatever the role names).
// and skip the others (events E, normalizations N, notes #, equivalences *): the schema has
// no place for them yet, and a file that has them is still a good file. An attribute or a
// relation of an event (A1 on E1) goes with the event; one that names a T the file does not
// define is an error, since the annotation it belonged to is lost.
//
// Discontinuous annotations (`T2<tab>Disease 10 15;20 28<tab>…`) become one span per
// fragment, all of the same type. The alternative, one span from the first start to the
// last end, would claim the words between the fragments, which the annotator left out.
// Each fragment takes the T's attributes; a relation points at its first fragment.

import { InputFileError } from "../errors.ts";
import { codePointToUtf16 } from "./code-point-offsets.ts";
import { extensionOf, stripExtension } from "./file-names.ts";
import type { ParsedNote, Relation, Span } from "./types.ts";

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

/** The value a binary brat attribute (`A1<tab>Negation T1`) gets; written back as binary. */
export const BINARY_ATTRIBUTE_VALUE = "true";

// T1 <tab> Type start end[;start end]* [<tab> covered text]
const TEXT_BOUND = /^(T\S*)\t(\S+) (\d+ \d+(?:;\d+ \d+)*)(?:\t(.*))?$/;
// A1 <tab> Name Target [Value]
const ATTRIBUTE = /^([AM]\S*)\t(\S+) (\S+)(?: (\S+))?[ \t]*$/;
// R1 <tab> Type Role:Arg Role:Arg
const RELATION = /^(R\S*)\t(\S+) \S+?:(\S+) \S+?:(\S+)[ \t]*$/;

interface AnnLine {
  line: number;
  content: string;
  fail: (problem: string) => InputFileError;
}

export function parseBrat(txt: NamedText, ann: NamedText): ParsedNote[] {
  const lines = ann.text.split("\n").map((rawLine, i): AnnLine => ({
    line: i + 1,
    content: rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine,
    fail: (problem) => new InputFileError(ann.name, problem, i + 1),
  }));
  // T lines first: an A or R line may come before the T it names.
  const { spans, fragmentsOf } = readTextBound(txt, lines.filter((l) => l.content.startsWith("T")));
  const relations: Relation[] = [];
  for (const line of lines) {
    if (/^[AM]/.test(line.content)) readAttribute(line, spans, fragmentsOf);
    else if (line.content.startsWith("R")) {
      const relation = readRelation(line, fragmentsOf);
      if (relation) relations.push(relation);
    }
  }
  const note: ParsedNote = { externalId: stripExtension(txt.name), text: txt.text, spans, sourceFile: txt.name };
  if (relations.length > 0) note.relations = relations;
  return [note];
}

/** Spans of the T lines, and for each T id the indexes of its fragments among them. */
function readTextBound(txt: NamedText, lines: AnnLine[]): { spans: Span[]; fragmentsOf: Map<string, number[]> } {
  const toUtf16 = codePointToUtf16(txt.text);
  const spans: Span[] = [];
  const fragmentsOf = new Map<string, number[]>();
  for (const { content, fail } of lines) {
    const match = TEXT_BOUND.exec(content);
    if (!match) throw fail('is not a text-bound annotation (expected "T1<tab>Type start end<tab>covered text")');
    const [, id, type, ranges, covered] = match;
    if (fragmentsOf.has(id)) throw fail(`defines ${id} a second time; each T id names one annotation`);

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
    fragmentsOf.set(id, fragments.map((_, k) => spans.length + k));
    spans.push(...fragments);
  }
  return { spans, fragmentsOf };
}

function readAttribute({ content, fail }: AnnLine, spans: Span[], fragmentsOf: Map<string, number[]>): void {
  const match = ATTRIBUTE.exec(content);
  if (!match) throw fail('is not an attribute (expected "A1<tab>Name T1" or "A1<tab>Name T1 value")');
  const [, id, name, target, value = BINARY_ATTRIBUTE_VALUE] = match;
  const fragments = targetFragments(id, target, fragmentsOf, fail);
  for (const index of fragments ?? []) {
    const attributes = (spans[index].attributes ??= {});
    if (name in attributes) throw fail(`${id} gives ${target} a second ${name} (it already has ${JSON.stringify(attributes[name])})`);
    attributes[name] = value;
  }
}

function readRelation({ content, fail }: AnnLine, fragmentsOf: Map<string, number[]>): Relation | undefined {
  const match = RELATION.exec(content);
  if (!match) throw fail('is not a relation (expected "R1<tab>Type Arg1:T1 Arg2:T2")');
  const [, id, type, from, to] = match;
  const fromFragments = targetFragments(id, from, fragmentsOf, fail);
  const toFragments = targetFragments(id, to, fragmentsOf, fail);
  if (!fromFragments || !toFragments) return undefined; // a relation of an event, which we do not read
  return { type, from: fromFragments[0], to: toFragments[0] };
}

/** The fragments of a T the line names; undefined for an id of a kind we skip (E1, R2). */
function targetFragments(
  id: string,
  target: string,
  fragmentsOf: Map<string, number[]>,
  fail: (problem: string) => InputFileError,
): number[] | undefined {
  if (!target.startsWith("T")) return undefined;
  const fragments = fragmentsOf.get(target);
  if (!fragments) throw fail(`${id} names ${target}, which is not a text-bound annotation of this file`);
  return fragments;
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
