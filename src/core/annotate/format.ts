// The output formats a model can be asked for. Every format writes mentions (words +
// type, optionally an occurrence number); align.ts turns them into offsets. Offsets are
// never asked of the model: models count characters badly, and words cost fewer tokens.
//
// Measured on es_clinicalcases100 gold (`npm run bench -- annotate`, Llama-3 tokenizer;
// overhead = generated tokens / tokens of the distinct entity words; all align 100%):
//   type-rows 1.24, grouped-lines 1.30, grouped-json 1.31, lines 1.81, entities-json 2.77.
// Grouped formats write each type name once per note; in type-rows each item after the
// first starts with a space, and Llama-3's vocabulary holds " word" more often than "word".
// Occurrence numbers are needed for 4.75% of the written items; without them ("every
// occurrence" only) 0.14% of gold spans are lost and 0.2 spurious spans per note appear.

import type { JsonSchema } from "./chat.ts";
import type { Mention } from "./types.ts";

export type FormatName = "entities-json" | "grouped-json" | "lines" | "grouped-lines" | "type-rows";

export const FORMAT_NAMES: readonly FormatName[] = ["entities-json", "grouped-json", "lines", "grouped-lines", "type-rows"];

/** Fewest generated tokens at full alignment. Items containing ";" are written with "," (fuzzy alignment recovers long ones). */
export const DEFAULT_FORMAT: FormatName = "type-rows";

/**
 * The cheapest format with a JSON schema (5% more tokens than type-rows), for engines
 * whose decoding should be constrained (WebLLM's `response_format`): the answer is then
 * always well-formed and its types are always in the schema.
 */
export const CONSTRAINED_FORMAT: FormatName = "grouped-json";

export interface OutputFormat {
  name: FormatName;
  /** A JSON schema for constrained decoding, or undefined for line formats. */
  schema(typeNames: readonly string[]): JsonSchema | undefined;
  /** What the prompt says about the answer's shape. */
  instructions(typeNames: readonly string[]): string;
  /** The answer a model should write for these mentions (few-shot examples, benchmark). */
  serialize(mentions: readonly Mention[], typeNames: readonly string[]): string;
}

/**
 * Text formats mark occurrences with a suffix: "words #n", or "words #2 #5" for several
 * (the words are written once: cheaper); parse.ts reads them back as one mention each.
 * Mentions of the same type and words with occurrences are merged into one item.
 */
function items(mentions: readonly Mention[]): string[] {
  const out: string[] = [];
  const merged = new Map<string, number>();
  for (const mention of mentions) {
    if (mention.occurrence === undefined) {
      out.push(mention.text);
      continue;
    }
    const key = `${mention.type}\u0000${mention.text}`;
    const at = merged.get(key);
    if (at === undefined) {
      merged.set(key, out.length);
      out.push(`${mention.text} #${mention.occurrence}`);
    } else out[at] += ` #${mention.occurrence}`;
  }
  return out;
}

/** The words, then one or more " #n". */
export const OCCURRENCE_SUFFIX = /^([\s\S]*?\S)((?:\s+#\d{1,5})+)$/;

const OCCURRENCE_RULE =
  "Write each entity's words exactly as they appear in the note. Listing words once marks every place they occur. " +
  "If the same words occur several times but only some of those places are the entity, write";

function byType(mentions: readonly Mention[], typeNames: readonly string[]): Map<string, Mention[]> {
  const groups = new Map<string, Mention[]>();
  for (const name of typeNames) groups.set(name, []);
  for (const mention of mentions) {
    const group = groups.get(mention.type);
    if (group) group.push(mention);
    else groups.set(mention.type, [mention]);
  }
  return groups;
}

const oneLine = (words: string) => words.replace(/\s+/g, " ");

const entitiesJson: OutputFormat = {
  name: "entities-json",
  schema: (typeNames) => ({
    type: "object",
    properties: {
      entities: {
        type: "array",
        items: {
          type: "object",
          properties: {
            text: { type: "string" },
            type: { type: "string", enum: [...typeNames] },
            n: { type: "integer", minimum: 1 },
          },
          required: ["text", "type"],
          additionalProperties: false,
        },
      },
    },
    required: ["entities"],
    additionalProperties: false,
  }),
  instructions: (typeNames) =>
    `Answer with JSON only: {"entities":[{"text":"<words>","type":"<${typeNames.join("|")}>"}]}. ` +
    `${OCCURRENCE_RULE} one entry per place with "n": the occurrence number counted from the start of the note (1 = first). ` +
    `No entities: {"entities":[]}.`,
  serialize: (mentions) =>
    JSON.stringify({
      entities: mentions.map((mention) =>
        mention.occurrence === undefined
          ? { text: mention.text, type: mention.type }
          : { text: mention.text, type: mention.type, n: mention.occurrence },
      ),
    }),
};

const groupedJson: OutputFormat = {
  name: "grouped-json",
  schema: (typeNames) => ({
    type: "object",
    properties: Object.fromEntries(typeNames.map((name) => [name, { type: "array", items: { type: "string" } }])),
    additionalProperties: false,
  }),
  instructions: (typeNames) =>
    `Answer with JSON only: an object whose keys are entity types (${typeNames.join(", ")}) and whose values are lists of the entities' words, ` +
    `e.g. {"${typeNames[0] ?? "TYPE"}":["<words>","<words>"]}. Leave out types with no entities; no entities at all: {}. ` +
    `${OCCURRENCE_RULE} one item "<words> #n #m" listing the places, n and m counted from the start of the note (1 = first).`,
  serialize: (mentions, typeNames) => {
    const object: Record<string, string[]> = {};
    for (const [type, group] of byType(mentions, typeNames)) if (group.length > 0) object[type] = items(group);
    return JSON.stringify(object);
  },
};

const lines: OutputFormat = {
  name: "lines",
  schema: () => undefined,
  instructions: (typeNames) =>
    `Answer with one entity per line as TYPE|words, TYPE one of ${typeNames.join(", ")}; nothing else. No entities: an empty answer. ` +
    `${OCCURRENCE_RULE} one line TYPE|words #n #m listing the places, n and m counted from the start of the note (1 = first).`,
  serialize: (mentions, typeNames) =>
    [...byType(mentions, typeNames)].flatMap(([type, group]) => items(group).map((item) => `${type}|${oneLine(item)}`)).join("\n"),
};

const groupedLines: OutputFormat = {
  name: "grouped-lines",
  schema: () => undefined,
  instructions: (typeNames) =>
    `Answer with, for each entity type that occurs (${typeNames.join(", ")}), a line "TYPE:" followed by one entity's words per line; nothing else. ` +
    `${OCCURRENCE_RULE} one line "words #n #m" listing the places, n and m counted from the start of the note (1 = first).`,
  serialize: (mentions, typeNames) => {
    const out: string[] = [];
    for (const [type, group] of byType(mentions, typeNames)) {
      if (group.length === 0) continue;
      out.push(`${type}:`);
      for (const item of items(group)) out.push(oneLine(item));
    }
    return out.join("\n");
  },
};

const typeRows: OutputFormat = {
  name: "type-rows",
  schema: () => undefined,
  instructions: (typeNames) =>
    `Answer with one line per entity type that occurs (${typeNames.join(", ")}): "TYPE: words; words; words"; nothing else. ` +
    `${OCCURRENCE_RULE} one item "words #n #m" listing the places, n and m counted from the start of the note (1 = first).`,
  serialize: (mentions, typeNames) => {
    const out: string[] = [];
    for (const [type, group] of byType(mentions, typeNames)) {
      if (group.length > 0) out.push(`${type}: ${items(group).map((item) => oneLine(item).replace(/;/g, ",")).join("; ")}`);
    }
    return out.join("\n");
  },
};

const FORMATS: Record<FormatName, OutputFormat> = {
  "entities-json": entitiesJson,
  "grouped-json": groupedJson,
  lines,
  "grouped-lines": groupedLines,
  "type-rows": typeRows,
};

export function outputFormat(name: FormatName): OutputFormat {
  const format = FORMATS[name];
  if (!format) throw new Error(`Unknown output format "${name}"; known: ${FORMAT_NAMES.join(", ")}`);
  return format;
}
