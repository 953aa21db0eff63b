// The model's answer -> mentions (and, where the schema has them, attributes, relations
// and document labels). Strict first; then a repair (code fences, prose around the JSON,
// trailing commas, an answer cut off at max_tokens: the complete items are kept). Nothing
// is dropped silently: items of unknown types are returned in `rejected`; attributes,
// relation types and label values the schema does not have are reported in `problems`
// (kinds rejected-attribute, rejected-relation, rejected-label); a relation that cannot be
// kept (unknown type, an end that is not an item, was rejected, or has the wrong type) is
// returned in `unplacedRelations`; cut or malformed items and the mention cap are reported
// too. An answer that cannot be read even after repair throws UnparseableOutputError (the
// note fails; it can be retried).

import type { DocumentLabels } from "../corpus/types.ts";
import { answerSpec, extraKeys, hasAttributes, relationEndsProblem, relationType, resolveAttribute, resolveLabels, type AnswerSpec } from "./answer-spec.ts";
import { UnparseableOutputError } from "./errors.ts";
import { OCCURRENCE_SUFFIX, type FormatName, type SpecSource } from "./format.ts";
import type { ItemRelation, Mention, Problem, UnplacedRelation } from "./types.ts";

export interface ParseOptions {
  /** More mentions than this in one answer are cut, with a problem (a looping model). */
  maxMentions?: number;
  /** The engine stopped at max_tokens (`finish_reason: "length"`): the last item may be cut. */
  truncated?: boolean;
}

export interface ParseResult {
  mentions: Mention[];
  /**
   * Per mention, the position (from 1) of the answer's item it came from, as relations
   * count them: one item ("dolor #2 #4") can give several mentions.
   */
  items: number[];
  /** Mentions whose type is not in the schema. */
  rejected: Mention[];
  /** Relations of known types between kept items whose types fit the relation type. */
  relations: ItemRelation[];
  unplacedRelations: UnplacedRelation[];
  labels: DocumentLabels;
  problems: Problem[];
}

export const DEFAULT_MAX_MENTIONS = 1000;

/** An item as read, before its type and attributes are checked. */
interface RawItem {
  type: string;
  /** The words, with any occurrence suffix. */
  words: string;
  attributes: { name?: string; value: string }[];
  /** Position in the answer, from 1. */
  position: number;
}

interface RawAnswer {
  items: RawItem[];
  relations: ItemRelation[];
  labels: { name: string; values: string[] }[];
}

export function parseOutput(output: string, format: FormatName, source: SpecSource, options: ParseOptions = {}): ParseResult {
  const spec = answerSpec(source);
  const problems: Problem[] = [];
  const raw: RawAnswer =
    format === "entities-json" || format === "grouped-json"
      ? fromJson(readJson(output, problems, options.truncated ?? false), format, spec, problems)
      : fromLines(output, format, spec, problems, options.truncated ?? false);

  const canonical = new Map(spec.typeNames.map((name) => [name.toLowerCase(), name]));
  const mentions: Mention[] = [];
  const items: number[] = [];
  const rejected: Mention[] = [];
  const attributeProblems: string[] = [];
  for (const item of raw.items) {
    const type = canonical.get(item.type.trim().toLowerCase());
    if (!type) {
      rejected.push(...withSuffix(item.words, item.type));
      continue;
    }
    const attributes = checkedAttributes(spec, type, item, attributeProblems);
    for (const mention of withSuffix(item.words, type)) {
      mentions.push(attributes ? { ...mention, attributes } : mention);
      items.push(item.position);
    }
  }
  if (rejected.length > 0) {
    const names = [...new Set(rejected.map((mention) => mention.type))].slice(0, 5);
    problems.push({
      kind: "rejected-type",
      message: `${rejected.length} mention(s) of types not in the schema (${names.map((name) => JSON.stringify(name)).join(", ")}) were rejected`,
    });
  }
  if (attributeProblems.length > 0) {
    problems.push({ kind: "rejected-attribute", message: `${attributeProblems.length} attribute value(s) were left out: ${attributeProblems.slice(0, 3).join("; ")}` });
  }
  const cap = options.maxMentions ?? DEFAULT_MAX_MENTIONS;
  let cut: Set<number> = new Set();
  if (mentions.length > cap) {
    problems.push({ kind: "too-many", message: `the answer listed ${mentions.length} mentions; only the first ${cap} were kept` });
    cut = new Set(items.slice(cap));
    mentions.length = cap;
    items.length = cap;
    for (const position of items) cut.delete(position);
  }
  const relations = checkRelations(spec, raw, mentions, items, cut, problems);
  const labels = resolveLabels(spec, raw.labels);
  if (labels.problems.length > 0) {
    problems.push({ kind: "rejected-label", message: `${labels.problems.length} document label value(s) were left out: ${labels.problems.slice(0, 3).join("; ")}` });
  }
  return { mentions, items, rejected, relations: relations.kept, unplacedRelations: relations.unplaced, labels: labels.labels, problems };
}

/** The item's attributes in schema names, non-default values only; unknown ones go to `problems`. */
function checkedAttributes(spec: AnswerSpec, type: string, item: RawItem, problems: string[]): Record<string, string> | undefined {
  if (item.attributes.length === 0) return undefined;
  const attributes: Record<string, string> = {};
  for (const { name, value } of item.attributes) {
    const resolved = resolveAttribute(spec, type, name, value);
    if ("problem" in resolved) {
      problems.push(`${JSON.stringify(item.words)}: ${resolved.problem}`);
      continue;
    }
    const def = spec.attributes.get(type)!.find((candidate) => candidate.name === resolved.ok.name)!;
    if (resolved.ok.value !== def.default) attributes[resolved.ok.name] = resolved.ok.value;
  }
  return Object.keys(attributes).length > 0 ? attributes : undefined;
}

/** Relations whose type is known and whose ends are kept items of fitting types; the others, with why. */
function checkRelations(spec: AnswerSpec, raw: RawAnswer, mentions: readonly Mention[], items: readonly number[], cut: ReadonlySet<number>, problems: Problem[]) {
  const byPosition = new Map(raw.items.map((item) => [item.position, item]));
  const typeOf = new Map(mentions.map((mention, index) => [items[index], mention.type]));
  const describe = (position: number) => {
    const item = byPosition.get(position);
    return item ? `${item.words.trim()} (${item.type.trim()})` : `item ${position}`;
  };
  const endProblem = (position: number): string | undefined => {
    if (typeOf.has(position)) return undefined;
    if (!byPosition.has(position)) return `the answer has no item ${position} (it has ${raw.items.length})`;
    if (cut.has(position)) return `item ${position} was cut with the mentions beyond the cap`;
    return `item ${position} was rejected (its type "${byPosition.get(position)!.type}" is not in the schema)`;
  };
  const verdict = (relation: ItemRelation): { kind: "rejected-relation" | "unplaced-relation"; reason: string } | undefined => {
    const known = relationType(spec, relation.type);
    if (!known) return { kind: "rejected-relation", reason: `"${relation.type}" is not a relation type of the schema` };
    const end = endProblem(relation.from) ?? endProblem(relation.to);
    if (end) return { kind: "unplaced-relation", reason: end };
    if (relation.from === relation.to) return { kind: "rejected-relation", reason: "a relation needs two different items" };
    const ends = relationEndsProblem(known, typeOf.get(relation.from)!, typeOf.get(relation.to)!);
    return ends ? { kind: "rejected-relation", reason: ends } : undefined;
  };

  const kept: ItemRelation[] = [];
  const unplaced: UnplacedRelation[] = [];
  const counts = { "rejected-relation": 0, "unplaced-relation": 0 };
  for (const relation of raw.relations) {
    const problem = verdict(relation);
    if (!problem) {
      kept.push({ type: relationType(spec, relation.type)!.name, from: relation.from, to: relation.to });
      continue;
    }
    counts[problem.kind]++;
    unplaced.push({ type: relation.type, from: describe(relation.from), to: describe(relation.to), reason: problem.reason });
  }
  if (counts["rejected-relation"] > 0) {
    problems.push({ kind: "rejected-relation", message: `${counts["rejected-relation"]} relation(s) of unknown types, or between entities of the wrong types, were left out` });
  }
  if (counts["unplaced-relation"] > 0) {
    problems.push({ kind: "unplaced-relation", message: `${counts["unplaced-relation"]} relation(s) name items that are not entities of the answer` });
  }
  return { kept, unplaced };
}

// --- JSON -------------------------------------------------------------------------------

function readJson(output: string, problems: Problem[], truncated: boolean): unknown {
  try {
    return JSON.parse(output);
  } catch {
    // fall through to repair
  }
  const repaired = repairJson(output);
  if (repaired.text === undefined) throw new UnparseableOutputError(repaired.notes.join("; ") || "not JSON", output);
  try {
    const value = JSON.parse(repaired.text);
    const cut = repaired.notes.some((note) => note.startsWith("cut"));
    problems.push({
      kind: cut ? "truncated" : "repaired",
      message: `the answer was not valid JSON and was repaired: ${repaired.notes.join("; ")}${cut && truncated ? " (the model hit max_tokens)" : ""}`,
    });
    return value;
  } catch (error) {
    throw new UnparseableOutputError(`not JSON even after repair: ${(error as Error).message}`, output);
  }
}

/**
 * Best-effort repair: the JSON value inside code fences or prose, trailing commas removed,
 * and an unfinished value cut after its last complete array item and closed. Returns
 * undefined text when there is no JSON object or array to recover.
 */
export function repairJson(output: string): { text?: string; notes: string[] } {
  const notes: string[] = [];
  let text = output.trim();
  const fence = /```[\w-]*\s*\n?([\s\S]*?)(?:```|$)/.exec(text);
  if (fence) {
    text = fence[1].trim();
    notes.push("code fence removed");
  }
  const first = text.search(/[{[]/);
  if (first < 0) return { notes: ["no JSON object in the answer"] };
  if (first > 0) notes.push("text before the JSON removed");
  text = text.slice(first);

  const scan = scanJson(text);
  if (scan.end !== undefined) {
    if (scan.end < text.length && text.slice(scan.end).trim()) notes.push("text after the JSON removed");
    text = text.slice(0, scan.end);
  } else {
    if (scan.cut === undefined) return { notes: [...notes, "the answer ends before its first complete item"] };
    text = text.slice(0, scan.cut.at) + scan.cut.closers;
    notes.push("cut after the last complete item (unfinished answer)");
  }
  const withoutCommas = removeTrailingCommas(text);
  if (withoutCommas !== text) notes.push("trailing commas removed");
  return { text: withoutCommas, notes };
}

interface Scan {
  /** Where the first complete top-level value ends, if it does. */
  end?: number;
  /** The last place where a complete item ended inside an array (or a member in an object), with what closes the rest. */
  cut?: { at: number; closers: string };
}

function scanJson(text: string): Scan {
  const stack: string[] = [];
  let inString = false;
  let escaped = false;
  let cut: Scan["cut"];
  const closers = () => stack.map((open) => (open === "{" ? "}" : "]")).reverse().join("");
  const itemEnded = (at: number) => {
    const parent = stack[stack.length - 1];
    if (parent === "[") cut = { at, closers: closers() };
  };
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (char === "\\") escaped = true;
      else if (char === '"') {
        inString = false;
        // A string that is an array item is complete; an object key is not a member yet.
        if (stack[stack.length - 1] === "[") itemEnded(i + 1);
      }
      continue;
    }
    if (char === '"') {
      inString = true;
    } else if (char === "{" || char === "[") {
      stack.push(char);
    } else if (char === "}" || char === "]") {
      stack.pop();
      if (stack.length === 0) return { end: i + 1, cut };
      itemEnded(i + 1);
      // A finished array or object closes a member of the enclosing object too.
      if (stack[stack.length - 1] === "{") cut = { at: i + 1, closers: closers() };
    }
  }
  return { cut };
}

function removeTrailingCommas(text: string): string {
  let out = "";
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      out += char;
      if (escaped) escaped = false;
      else if (char === "\\") escaped = true;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    if (char === ",") {
      const next = /\S/.exec(text.slice(i + 1));
      if (!next || next[0] === "}" || next[0] === "]") continue;
    }
    out += char;
  }
  return out;
}

function fromJson(value: unknown, format: FormatName, spec: AnswerSpec, problems: Problem[]): RawAnswer {
  const answer: RawAnswer = { items: [], relations: [], labels: [] };
  const bad = (what: string) => problems.push({ kind: "bad-item", message: what });
  if (format === "entities-json") {
    const list = Array.isArray(value) ? value : (value as { entities?: unknown })?.entities;
    if (!Array.isArray(list)) throw new UnparseableOutputError(`expected {"entities": [...]}`, JSON.stringify(value) ?? "");
    list.forEach((entry, index) => {
      const { text, type, n, occurrence, attributes, ...fields } = (entry ?? {}) as Record<string, unknown>;
      if (typeof text !== "string" || typeof type !== "string") return bad(`entities[${index}] is not {"text": string, "type": string}: ${JSON.stringify(entry)}`);
      const at = n ?? occurrence;
      const words = at === undefined || at === null ? text : `${text} #${Number(at)}`;
      const nested = typeof attributes === "object" && attributes !== null ? (attributes as Record<string, unknown>) : {};
      answer.items.push({ type, words, attributes: fieldAttributes(spec, { ...fields, ...nested }), position: index + 1 });
    });
    const object = Array.isArray(value) ? {} : (value as Record<string, unknown>);
    readJsonExtras(object.relations, object.labels, spec, answer, bad);
    return answer;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UnparseableOutputError(`expected an object of type -> list of words`, JSON.stringify(value) ?? "");
  }
  const keys = extraKeys(spec, true);
  const isKey = (key: string, reserved: string, present: boolean) => present && key.toLowerCase() === reserved.toLowerCase();
  let position = 0;
  const extras: { relations?: unknown; labels?: unknown } = {};
  for (const [type, list] of Object.entries(value)) {
    if (isKey(type, keys.relations, spec.relationTypes.length > 0)) {
      extras.relations = list;
      continue;
    }
    if (isKey(type, keys.labels, spec.documentLabels.length > 0)) {
      extras.labels = list;
      continue;
    }
    const items = typeof list === "string" ? [list] : list;
    if (!Array.isArray(items)) {
      bad(`"${type}" is not a list of words: ${JSON.stringify(list)}`);
      continue;
    }
    items.forEach((item, index) => {
      // Every element the model wrote holds a position, read or not: relations count them so.
      position++;
      if (typeof item === "string") return answer.items.push({ type, words: item, attributes: [], position });
      if (typeof item === "object" && item !== null && !Array.isArray(item) && typeof (item as { text?: unknown }).text === "string") {
        const { text, n, ...fields } = item as Record<string, unknown>;
        const words = typeof n === "number" ? `${text} #${n}` : (text as string);
        return answer.items.push({ type, words, attributes: fieldAttributes(spec, fields), position });
      }
      bad(`"${type}"[${index}] is not a string: ${JSON.stringify(item)}`);
    });
  }
  readJsonExtras(extras.relations, extras.labels, spec, answer, bad);
  return answer;
}

/** JSON fields other than the words and the occurrence: attribute name -> value (ignored when the schema has no attributes). */
function fieldAttributes(spec: AnswerSpec, fields: Record<string, unknown>): RawItem["attributes"] {
  if (!hasAttributes(spec)) return [];
  return Object.entries(fields)
    .filter(([, value]) => value !== null && value !== undefined && value !== "")
    .map(([name, value]) => ({ name, value: String(value) }));
}

/**
 * `{"treats": [[1, 3]]}` (what the schema asks for), or a list of {"type", "from", "to"};
 * labels as {"name": "value" | ["value", …]}.
 */
function readJsonExtras(relations: unknown, labels: unknown, spec: AnswerSpec, answer: RawAnswer, bad: (what: string) => void): void {
  if (relations !== undefined && spec.relationTypes.length > 0) {
    const pairs: [string, unknown][] = Array.isArray(relations)
      ? relations.map((entry) => {
          const { type, from, to } = (entry ?? {}) as Record<string, unknown>;
          return [String(type), [from, to]];
        })
      : typeof relations === "object" && relations !== null
        ? Object.entries(relations).flatMap(([type, list]) => (Array.isArray(list) ? list.map((pair): [string, unknown] => [type, pair]) : [[type, list] as [string, unknown]]))
        : [["", relations]];
    for (const [type, pair] of pairs) {
      const ends = Array.isArray(pair) && pair.length === 2 ? pair.map(Number) : [];
      if (ends.length === 2 && ends.every((end) => Number.isInteger(end))) answer.relations.push({ type, from: ends[0], to: ends[1] });
      else bad(`relation ${JSON.stringify(type)} is not a pair of item positions: ${JSON.stringify(pair)}`);
    }
  }
  if (labels !== undefined && spec.documentLabels.length > 0) {
    if (typeof labels !== "object" || labels === null || Array.isArray(labels)) return void bad(`labels is not an object of label -> value: ${JSON.stringify(labels)}`);
    for (const [name, given] of Object.entries(labels)) {
      const values = (Array.isArray(given) ? given : [given]).filter((value) => value !== null && value !== undefined).map(String);
      answer.labels.push({ name, values });
    }
  }
}

/** "words" -> one mention; "words #2 #5" -> one mention per occurrence. */
function withSuffix(words: string, type: string): Mention[] {
  const match = OCCURRENCE_SUFFIX.exec(words.trim());
  if (!match) return [{ text: words.trim(), type }];
  return [...match[2].matchAll(/#(\d+)/g)].map((number) => ({ text: match[1], type, occurrence: Number(number[1]) }));
}

const ATTRIBUTE_SUFFIX = /\s*\[([^[\]]*)\]\s*$/;

/**
 * A text item of a type with attributes: "words #2 [negated, temporality=past]" (the
 * brackets may come before the occurrences too) -> the words with their occurrences, and
 * the attributes as written. Types without attributes keep brackets as words.
 */
function splitAttributes(item: string, type: string, spec: AnswerSpec): { words: string; attributes: RawItem["attributes"] } {
  const canonical = spec.typeNames.find((name) => name.toLowerCase() === type.trim().toLowerCase());
  if (canonical === undefined || !spec.attributes.has(canonical)) return { words: item, attributes: [] };
  let words = item.trim();
  let inside: string | undefined;
  const occurrences = /((?:\s+#\d{1,5})+)$/.exec(words);
  if (occurrences) words = words.slice(0, occurrences.index);
  const bracket = ATTRIBUTE_SUFFIX.exec(words);
  if (bracket) {
    inside = bracket[1];
    words = words.slice(0, bracket.index);
  }
  words += occurrences?.[1] ?? "";
  const trailing = inside === undefined ? ATTRIBUTE_SUFFIX.exec(words) : null;
  if (trailing) {
    inside = trailing[1];
    words = words.slice(0, trailing.index);
  }
  const attributes = (inside ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const equals = part.search(/[=:]/);
      return equals < 0 ? { value: part } : { name: part.slice(0, equals).trim(), value: part.slice(equals + 1).trim() };
    });
  return { words, attributes };
}

// --- Line formats -------------------------------------------------------------------------

function fromLines(output: string, format: FormatName, spec: AnswerSpec, problems: Problem[], truncated: boolean): RawAnswer {
  const answer: RawAnswer = { items: [], relations: [], labels: [] };
  let text = output.replace(/\r\n?/g, "\n");
  const fence = /```[\w-]*\s*\n([\s\S]*?)(?:```|$)/.exec(text);
  if (fence) {
    text = fence[1];
    problems.push({ kind: "repaired", message: "code fence removed" });
  }
  const lines = text.split("\n");
  if (truncated && lines.length > 0 && !text.endsWith("\n")) {
    const last = lines.pop()!;
    if (last.trim()) problems.push({ kind: "truncated", message: `the answer hit max_tokens; its last, unfinished line was dropped: ${JSON.stringify(last)}` });
  }
  const unreadable: string[] = [];
  const add = (words: string, type: string) => {
    const split = splitAttributes(words, type, spec);
    answer.items.push({ type, words: split.words, attributes: split.attributes, position: answer.items.length + 1 });
  };
  const extra = extraLine(spec);
  let type: string | undefined;
  for (const line of lines.map((line) => line.trim()).filter(Boolean)) {
    if (extra(line, answer, unreadable)) continue;
    if (format === "lines") {
      const bar = line.indexOf("|");
      if (bar <= 0) unreadable.push(line);
      else add(line.slice(bar + 1), line.slice(0, bar).trim());
    } else if (format === "grouped-lines") {
      const header = typeLine(line, spec);
      if (header && header.rest.trim() === "") type = header.type;
      else if (type === undefined) unreadable.push(line);
      else add(line.replace(/^[-*•]\s+/, ""), type);
    } else {
      const row = typeLine(line, spec);
      if (!row) unreadable.push(line);
      else for (const words of row.rest.split(";")) if (words.trim()) add(words, row.type);
    }
  }
  if (unreadable.length > 0) {
    if (answer.items.length === 0 && answer.labels.length === 0) throw new UnparseableOutputError(`no line has the ${format} shape`, output);
    problems.push({ kind: "bad-item", message: `${unreadable.length} line(s) not in the ${format} shape were skipped, e.g. ${JSON.stringify(unreadable[0])}` });
  }
  return answer;
}

/**
 * "TYPE: rest" -> the type and the rest. A schema's type name may hold spaces or other
 * signs ("Adverse event", "Dose/route"): those are matched first (longest first, any case);
 * else a single word before the colon, which the parser then reports as an unknown type.
 */
function typeLine(line: string, spec: AnswerSpec): { type: string; rest: string } | undefined {
  const lower = line.toLowerCase();
  const known = [...spec.typeNames].sort((a, b) => b.length - a.length).find((name) => lower.startsWith(name.toLowerCase()) && /^\s*:/.test(line.slice(name.length)));
  if (known !== undefined) return { type: line.slice(0, known.length), rest: line.slice(known.length).replace(/^\s*:/, "") };
  const word = /^([\p{L}\p{N}_-]+)\s*:(.*)$/u.exec(line);
  return word ? { type: word[1], rest: word[2] } : undefined;
}

const RELATION_ITEM = /^(.+?)\s+(\d{1,5})\s*(?:>|->|→|-|,)?\s*(\d{1,5})$/u;

/** Reads a "Relations: …" or "Labels: …" line into the answer; false for any other line. */
function extraLine(spec: AnswerSpec): (line: string, answer: RawAnswer, unreadable: string[]) => boolean {
  const keys = extraKeys(spec, false);
  const relations = spec.relationTypes.length > 0 ? new RegExp(`^${escape(keys.relations)}\\s*:(.*)$`, "iu") : undefined;
  const labels = spec.documentLabels.length > 0 ? new RegExp(`^${escape(keys.labels)}\\s*:(.*)$`, "iu") : undefined;
  return (line, answer, unreadable) => {
    const relationLine = relations?.exec(line);
    if (relationLine) {
      for (const part of relationLine[1].split(";").map((piece) => piece.trim()).filter(Boolean)) {
        const match = RELATION_ITEM.exec(part);
        if (match) answer.relations.push({ type: match[1].trim(), from: Number(match[2]), to: Number(match[3]) });
        else unreadable.push(part);
      }
      return true;
    }
    const labelLine = labels?.exec(line);
    if (!labelLine) return false;
    for (const part of labelLine[1].split(";").map((piece) => piece.trim()).filter(Boolean)) {
      const equals = part.search(/[=:]/);
      if (equals <= 0) {
        unreadable.push(part);
        continue;
      }
      const name = part.slice(0, equals).trim();
      const written = part.slice(equals + 1).trim();
      const def = spec.documentLabels.find((label) => label.name.toLowerCase() === name.toLowerCase());
      // A value may hold a comma itself: split only when the whole is not one of the values.
      const whole = def?.values.some((value) => value.toLowerCase() === written.toLowerCase());
      answer.labels.push({ name, values: whole ? [written] : written.split(/\s*[|,]\s*/).filter(Boolean) });
    }
    return true;
  };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
