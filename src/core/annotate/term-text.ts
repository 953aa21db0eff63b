// Term lists as a person types them (the Annotate step keeps this text per project), read
// into the TermList the terms backend runs:
// - terms and patterns: one per line; a pattern must be a regular expression;
// - cues, per attribute value of the type: the words that set it, separated by commas or
//   line breaks ("no, niega, sin, denies"), and how many words may come between a cue
//   and the match (blank: DEFAULT_CUE_WINDOW). A cue with no words is not used.
// Cues are checked against the schema here, before a run starts, so a cue left over from
// an older schema (an attribute or value since removed) stops the run with its reason
// instead of failing every note.

import type { TaskSchema } from "../schema/types.ts";
import { TermListError } from "./errors.ts";
import { checkCues, type AttributeCue, type TermList } from "./terms.ts";

export interface CueText {
  attribute: string;
  value: string;
  /** Cue words, separated by commas or line breaks. */
  words: string;
  /** Words allowed between cue and match, as typed; blank for the default. */
  window: string;
}

export interface TermText {
  terms: string;
  patterns: string;
  cues?: CueText[];
}

const lines = (text: string) => text.split("\n").map((line) => line.trim()).filter(Boolean);

/** "no, niega\nsin" -> ["no", "niega", "sin"]. */
export function cueWords(text: string): string[] {
  return text.split(/[,\n]/).map((word) => word.trim()).filter(Boolean);
}

/** The cue as the matcher takes it; undefined for one without words. */
function readCue(type: string, cue: CueText): AttributeCue | undefined {
  const words = cueWords(cue.words);
  if (words.length === 0) return undefined;
  const typed = cue.window.trim();
  if (typed === "") return { attribute: cue.attribute, value: cue.value, words };
  const window = Number(typed);
  if (!(Number.isInteger(window) && window > 0)) {
    throw new TermListError(type, `the window of the ${cue.attribute}=${cue.value} cue must be a whole number of words above 0, not "${typed}"`);
  }
  return { attribute: cue.attribute, value: cue.value, words, window };
}

/** Schema order (attribute, then value): where two values' cues both apply, the first listed wins (terms.ts). */
function inSchemaOrder(schema: TaskSchema, type: string, cues: readonly AttributeCue[]): AttributeCue[] {
  const attributes = schema.entityTypes.find((entity) => entity.name === type)?.attributes ?? [];
  const rank = (cue: AttributeCue) => {
    const attribute = attributes.findIndex((def) => def.name === cue.attribute);
    const value = attribute < 0 ? -1 : attributes[attribute].values.indexOf(cue.value);
    // Cues the schema does not know go last; checkCues refuses them anyway.
    return attribute < 0 || value < 0 ? Number.MAX_SAFE_INTEGER : attribute * 10_000 + value;
  };
  return [...cues].sort((a, b) => rank(a) - rank(b));
}

function checkPatterns(type: string, patterns: readonly string[]): void {
  for (const pattern of patterns) {
    try {
      new RegExp(pattern, "giu");
    } catch (error) {
      throw new TermListError(type, `the pattern ${pattern} is not a valid regular expression (${(error as Error).message})`);
    }
  }
}

/**
 * One list per entity type of the schema, from the typed text. Throws TermListError for
 * a pattern that is not a regular expression, and for a cue whose attribute or value the
 * type does not have in the schema, or whose window is not a whole number above 0.
 */
export function termListsFromText(schema: TaskSchema, texts: Readonly<Record<string, TermText>>): TermList[] {
  const lists = schema.entityTypes.map(({ name }): TermList => {
    const text = texts[name] ?? { terms: "", patterns: "" };
    const patterns = lines(text.patterns);
    checkPatterns(name, patterns);
    const cues = inSchemaOrder(schema, name, (text.cues ?? []).flatMap((cue) => readCue(name, cue) ?? []));
    return { type: name, terms: lines(text.terms), patterns, ...(cues.length > 0 ? { cues } : {}) };
  });
  checkCues(lists, schema);
  return lists;
}

/** The typed cue for one attribute value, if any. */
export function cueOf(text: TermText | undefined, attribute: string, value: string): CueText | undefined {
  return text?.cues?.find((cue) => cue.attribute === attribute && cue.value === value);
}

/**
 * `text` with the cue for (attribute, value) changed; a cue left with neither words nor
 * window is dropped. Blanks count as typed (the field shows what the person typed).
 */
export function withCue(text: TermText, attribute: string, value: string, change: Partial<Pick<CueText, "words" | "window">>): TermText {
  const current = cueOf(text, attribute, value);
  const updated = { ...(current ?? { attribute, value, words: "", window: "" }), ...change };
  const keep = updated.words !== "" || updated.window !== "";
  const cues = text.cues ?? [];
  if (!current) return keep ? { ...text, cues: [...cues, updated] } : text;
  return { ...text, cues: keep ? cues.map((cue) => (cue === current ? updated : cue)) : cues.filter((cue) => cue !== current) };
}

/** Cues typed for attribute values the type no longer has in the schema (the schema changed since). */
export function staleCues(schema: TaskSchema, type: string, text: TermText | undefined): CueText[] {
  const attributes = schema.entityTypes.find((entity) => entity.name === type)?.attributes ?? [];
  return (text?.cues ?? []).filter((cue) => !attributes.some((def) => def.name === cue.attribute && def.values.includes(cue.value)));
}
