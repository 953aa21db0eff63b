// The model's answer -> mentions. Strict first; then a repair (code fences, prose around
// the JSON, trailing commas, an answer cut off at max_tokens: the complete items are kept).
// Nothing is dropped silently: items of unknown types are returned in `rejected`, cut or
// malformed items and the mention cap are reported in `problems`. An answer that cannot be
// read even after repair throws UnparseableOutputError (the note fails; it can be retried).

import { UnparseableOutputError } from "./errors.ts";
import { OCCURRENCE_SUFFIX, type FormatName } from "./format.ts";
import type { Mention, Problem } from "./types.ts";

export interface ParseOptions {
  /** More mentions than this in one answer are cut, with a problem (a looping model). */
  maxMentions?: number;
  /** The engine stopped at max_tokens (`finish_reason: "length"`): the last item may be cut. */
  truncated?: boolean;
}

export interface ParseResult {
  mentions: Mention[];
  /** Mentions whose type is not in the schema. */
  rejected: Mention[];
  problems: Problem[];
}

export const DEFAULT_MAX_MENTIONS = 1000;

export function parseOutput(output: string, format: FormatName, typeNames: readonly string[], options: ParseOptions = {}): ParseResult {
  const problems: Problem[] = [];
  const raw: Mention[] =
    format === "entities-json" || format === "grouped-json"
      ? fromJson(readJson(output, problems, options.truncated ?? false), format, problems)
      : fromLines(output, format, problems, options.truncated ?? false);

  const canonical = new Map(typeNames.map((name) => [name.toLowerCase(), name]));
  const mentions: Mention[] = [];
  const rejected: Mention[] = [];
  for (const mention of raw) {
    const type = canonical.get(mention.type.trim().toLowerCase());
    if (type) mentions.push({ ...mention, type });
    else rejected.push(mention);
  }
  if (rejected.length > 0) {
    const names = [...new Set(rejected.map((mention) => mention.type))].slice(0, 5);
    problems.push({
      kind: "rejected-type",
      message: `${rejected.length} mention(s) of types not in the schema (${names.map((name) => JSON.stringify(name)).join(", ")}) were rejected`,
    });
  }
  const cap = options.maxMentions ?? DEFAULT_MAX_MENTIONS;
  if (mentions.length > cap) {
    problems.push({ kind: "too-many", message: `the answer listed ${mentions.length} mentions; only the first ${cap} were kept` });
    mentions.length = cap;
  }
  return { mentions, rejected, problems };
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

function fromJson(value: unknown, format: FormatName, problems: Problem[]): Mention[] {
  const mentions: Mention[] = [];
  const bad = (what: string) => problems.push({ kind: "bad-item", message: what });
  if (format === "entities-json") {
    const list = Array.isArray(value) ? value : (value as { entities?: unknown })?.entities;
    if (!Array.isArray(list)) throw new UnparseableOutputError(`expected {"entities": [...]}`, JSON.stringify(value) ?? "");
    list.forEach((item, index) => {
      const { text, type, n, occurrence } = (item ?? {}) as Record<string, unknown>;
      if (typeof text !== "string" || typeof type !== "string") return bad(`entities[${index}] is not {"text": string, "type": string}: ${JSON.stringify(item)}`);
      const at = n ?? occurrence;
      mentions.push(at === undefined || at === null ? { text, type } : { text, type, occurrence: Number(at) });
    });
    return mentions;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UnparseableOutputError(`expected an object of type -> list of words`, JSON.stringify(value) ?? "");
  }
  for (const [type, list] of Object.entries(value)) {
    const items = typeof list === "string" ? [list] : list;
    if (!Array.isArray(items)) {
      bad(`"${type}" is not a list of words: ${JSON.stringify(list)}`);
      continue;
    }
    items.forEach((item, index) => {
      if (typeof item !== "string") return bad(`"${type}"[${index}] is not a string: ${JSON.stringify(item)}`);
      mentions.push(...withSuffix(item, type));
    });
  }
  return mentions;
}

/** "words" -> one mention; "words #2 #5" -> one mention per occurrence. */
function withSuffix(words: string, type: string): Mention[] {
  const match = OCCURRENCE_SUFFIX.exec(words.trim());
  if (!match) return [{ text: words.trim(), type }];
  return [...match[2].matchAll(/#(\d+)/g)].map((number) => ({ text: match[1], type, occurrence: Number(number[1]) }));
}

// --- Line formats -------------------------------------------------------------------------

function fromLines(output: string, format: FormatName, problems: Problem[], truncated: boolean): Mention[] {
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
  const mentions: Mention[] = [];
  const unreadable: string[] = [];
  let type: string | undefined;
  for (const line of lines.map((line) => line.trim()).filter(Boolean)) {
    if (format === "lines") {
      const bar = line.indexOf("|");
      if (bar <= 0) unreadable.push(line);
      else mentions.push(...withSuffix(line.slice(bar + 1), line.slice(0, bar).trim()));
    } else if (format === "grouped-lines") {
      const header = /^([\p{L}\p{N}_-]+):$/u.exec(line);
      if (header) type = header[1];
      else if (type === undefined) unreadable.push(line);
      else mentions.push(...withSuffix(line.replace(/^[-*•]\s+/, ""), type));
    } else {
      const row = /^([\p{L}\p{N}_-]+):(.*)$/u.exec(line);
      if (!row) unreadable.push(line);
      else for (const words of row[2].split(";")) if (words.trim()) mentions.push(...withSuffix(words, row[1]));
    }
  }
  if (unreadable.length > 0) {
    if (mentions.length === 0) throw new UnparseableOutputError(`no line has the ${format} shape`, output);
    problems.push({ kind: "bad-item", message: `${unreadable.length} line(s) not in the ${format} shape were skipped, e.g. ${JSON.stringify(unreadable[0])}` });
  }
  return mentions;
}
