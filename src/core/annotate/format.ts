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
//
// When the schema has them (answer-spec.ts), an answer also carries:
//   attributes  per item, only values other than the default: "fiebre [negated]" in the
//               line formats ("[name=value]" where a value names several attributes), an
//               object {"text": "fiebre", "certainty": "negated"} in place of the string
//               in grouped-json, fields of the entity in entities-json;
//   relations   between items, by their position in the answer (from 1, in the order
//               written, across types): "Relations: treats 1>3; has_dose 2>4", or
//               "relations": {"treats": [[1, 3]]} in JSON;
//   labels      "Labels: smoking=current; findings=a|b", or "labels": {"smoking":
//               "current", "findings": ["a", "b"]} in JSON (required by its schema).
// Without them every format writes, and asks for, exactly what it did before.
//
// Attribute cost, measured (`npm run bench -- annotate --attributes`: es_clinicalcases100,
// DISO spans negated by Spanish cues, 5.0 per note; Llama-3 tokens per negated entity over
// the same answer without attributes; all recovered 100%): type-rows "[negated]" 3.0
// ("[certainty=negated]" 5.9), grouped-lines 3.0, lines 3.1, entities-json fields 6.1,
// grouped-json objects 8.4 (strings "words [negated]" would cost 4.0, but a JSON schema
// cannot hold their values to the schema's enums; objects can, so constrained decoding
// never writes an unknown value).

import type { DocumentLabels } from "../corpus/types.ts";
import type { TaskSchema } from "../schema/types.ts";
import { answerSpec, attributeKey, extraKeys, hasAttributes, nonDefault, valueIsUnique, type AnswerSpec } from "./answer-spec.ts";
import type { JsonSchema } from "./chat.ts";
import { typeRowsGrammar } from "./grammar.ts";
import type { Mention, MentionRelation } from "./types.ts";

export type FormatName = "entities-json" | "grouped-json" | "lines" | "grouped-lines" | "type-rows";

export const FORMAT_NAMES: readonly FormatName[] = ["entities-json", "grouped-json", "lines", "grouped-lines", "type-rows"];

/** Fewest generated tokens at full alignment. Items containing ";" are written with "," (fuzzy alignment recovers long ones). */
export const DEFAULT_FORMAT: FormatName = "type-rows";

/**
 * For engines whose decoding is constrained (WebLLM's `response_format`): type-rows held
 * to its grammar (grammar.ts), so the answer is always well-formed and its types, values,
 * relation types and labels are always the schema's. The cheapest format with a JSON
 * schema, grouped-json, costs 5% more tokens.
 */
export const CONSTRAINED_FORMAT: FormatName = "type-rows";

/** The cheapest format with a JSON schema, for servers whose structured output takes one (vLLM, llama.cpp, OpenAI). */
export const SCHEMA_FORMAT: FormatName = "grouped-json";

/** Type names (entities only), a task schema, or a spec built from one. */
export type SpecSource = readonly string[] | TaskSchema | AnswerSpec;

/** What an answer says beyond its mentions. */
export interface AnswerExtras {
  /** Between mentions, by index into the mention list. */
  relations?: readonly MentionRelation[];
  labels?: DocumentLabels;
}

export interface OutputFormat {
  name: FormatName;
  /** A JSON schema for constrained decoding, or undefined for line formats. */
  schema(spec: SpecSource): JsonSchema | undefined;
  /** An EBNF grammar (xgrammar's dialect, start rule `root`) for engines that take one, or undefined. */
  grammar(spec: SpecSource): string | undefined;
  /** What the prompt says about the answer's shape. */
  instructions(spec: SpecSource): string;
  /** The answer a model should write for these mentions (few-shot examples, benchmark). */
  serialize(mentions: readonly Mention[], spec: SpecSource, extras?: AnswerExtras): string;
}

/** One item of an answer: words, the places meant (none = every place), non-default attributes, and the mentions it stands for. */
interface Item {
  type: string;
  words: string;
  occurrences: number[];
  attributes: [string, string][];
  mentions: number[];
}

/**
 * Mentions -> the items of an answer, in the order written: by type (schema order), then
 * as listed. Mentions of the same type, words and attributes with occurrences are merged
 * into one item ("words #2 #5": the words are written once, cheaper), except those that
 * take part in a relation: a relation names one item, so it keeps its own place.
 */
function layout(mentions: readonly Mention[], spec: AnswerSpec, related: ReadonlySet<number>): Item[] {
  const groups = new Map<string, Item[]>();
  for (const name of spec.typeNames) groups.set(name, []);
  const merged = new Map<string, Item>();
  mentions.forEach((mention, index) => {
    const attributes = nonDefault(spec, mention.type, mention.attributes);
    const item: Item = { type: mention.type, words: mention.text, occurrences: [], attributes, mentions: [index] };
    let group = groups.get(mention.type);
    if (!group) groups.set(mention.type, (group = []));
    if (mention.occurrence === undefined || related.has(index)) {
      if (mention.occurrence !== undefined) item.occurrences.push(mention.occurrence);
      group.push(item);
      return;
    }
    const key = JSON.stringify([mention.type, mention.text, attributes]);
    const at = merged.get(key);
    if (at) {
      at.occurrences.push(mention.occurrence);
      at.mentions.push(index);
    } else {
      item.occurrences.push(mention.occurrence);
      merged.set(key, item);
      group.push(item);
    }
  });
  return [...groups.values()].flat();
}

/** Items, each mention's position (from 1) in the answer, and the relations in those positions. */
function arrange(mentions: readonly Mention[], spec: AnswerSpec, extras: AnswerExtras | undefined) {
  const relations = extras?.relations ?? [];
  const related = new Set(relations.flatMap((relation) => [relation.from, relation.to]));
  const items = layout(mentions, spec, related);
  const position = new Map<number, number>();
  items.forEach((item, index) => item.mentions.forEach((mention) => position.set(mention, index + 1)));
  const byType = new Map<string, [number, number][]>();
  for (const relation of relations) {
    const from = position.get(relation.from);
    const to = position.get(relation.to);
    if (from === undefined || to === undefined) throw new RangeError(`relation ${relation.type} names mention ${relation.from} or ${relation.to}, but there are ${mentions.length}`);
    const list = byType.get(relation.type) ?? [];
    list.push([from, to]);
    byType.set(relation.type, list);
  }
  return { items, relations: byType };
}

/** "words", "words #n #m". */
const placed = (item: Item) => `${item.words}${item.occurrences.map((n) => ` #${n}`).join("")}`;

/** " [negated]" or " [certainty=negated, temporality=past]"; "" without attributes. */
function attributeSuffix(spec: AnswerSpec, item: Item): string {
  if (item.attributes.length === 0) return "";
  const parts = item.attributes.map(([name, value]) => (valueIsUnique(spec, item.type, value) ? value : `${name}=${value}`));
  return ` [${parts.join(", ")}]`;
}

const textItem = (spec: AnswerSpec, item: Item) => `${placed(item)}${attributeSuffix(spec, item)}`;

/** The relations and labels lines of the line formats (none when the answer has neither). */
function extraLines(spec: AnswerSpec, relations: Map<string, [number, number][]>, labels: DocumentLabels | undefined): string[] {
  const out: string[] = [];
  const pairs = [...relations].flatMap(([type, list]) => list.map(([from, to]) => `${type} ${from}>${to}`));
  const keys = extraKeys(spec, false);
  if (pairs.length > 0) out.push(`${keys.relations}: ${pairs.join("; ")}`);
  const written = spec.documentLabels.filter((def) => labels?.[def.name] !== undefined).map((def) => `${def.name}=${labels![def.name].join("|")}`);
  if (written.length > 0) out.push(`${keys.labels}: ${written.join("; ")}`);
  return out;
}

/** The relations and labels members of the JSON formats. */
function extraMembers(spec: AnswerSpec, relations: Map<string, [number, number][]>, labels: DocumentLabels | undefined, keys: { relations: string; labels: string }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (relations.size > 0) out[keys.relations] = Object.fromEntries(relations);
  if (spec.documentLabels.length > 0) {
    out[keys.labels] = Object.fromEntries(
      spec.documentLabels.filter((def) => labels?.[def.name] !== undefined).map((def) => [def.name, def.multiple ? labels![def.name] : labels![def.name][0]]),
    );
  }
  return out;
}

const ENTITIES_JSON_KEYS = { relations: "relations", labels: "labels" };

// --- JSON schemas of the extras --------------------------------------------------------------

const unique = (values: readonly string[]) => [...new Set(values)];

/** Attribute key -> enum of values, over the given types. */
function attributeProperties(spec: AnswerSpec, types: readonly string[]): Record<string, JsonSchema> {
  const values = new Map<string, string[]>();
  for (const type of types) {
    for (const def of spec.attributes.get(type) ?? []) values.set(attributeKey(def.name), unique([...(values.get(attributeKey(def.name)) ?? []), ...def.values]));
  }
  return Object.fromEntries([...values].map(([key, list]) => [key, { type: "string", enum: list }]));
}

function relationsSchema(spec: AnswerSpec): JsonSchema {
  const pair = { type: "array", items: { type: "integer", minimum: 1 }, minItems: 2, maxItems: 2 };
  return {
    type: "object",
    properties: Object.fromEntries(spec.relationTypes.map((type) => [type.name, { type: "array", items: pair }])),
    additionalProperties: false,
  };
}

function labelsSchema(spec: AnswerSpec): JsonSchema {
  const value = (values: readonly string[]) => ({ type: "string", enum: [...values] });
  return {
    type: "object",
    properties: Object.fromEntries(spec.documentLabels.map((def) => [def.name, def.multiple ? { type: "array", items: value(def.values) } : value(def.values)])),
    required: spec.documentLabels.map((def) => def.name),
    additionalProperties: false,
  };
}

/** Adds the relations and labels members (labels required) to an object schema. */
function withExtras(schema: { properties: Record<string, unknown>; required?: string[] } & JsonSchema, spec: AnswerSpec, keys: { relations: string; labels: string }): JsonSchema {
  if (spec.relationTypes.length > 0) schema.properties[keys.relations] = relationsSchema(spec);
  if (spec.documentLabels.length > 0) {
    schema.properties[keys.labels] = labelsSchema(spec);
    schema.required = [...(schema.required ?? []), keys.labels];
  }
  return schema;
}

// --- Instructions of the extras ---------------------------------------------------------------

function relationNames(spec: AnswerSpec): string {
  return spec.relationTypes.map((type) => type.name).join(", ");
}

function lineExtrasInstructions(spec: AnswerSpec): string {
  const out: string[] = [];
  const keys = extraKeys(spec, false);
  if (hasAttributes(spec)) {
    out.push(
      `After an entity's words (and any #n), write its attribute values that are not the default in brackets, e.g. "words [value]"; ` +
        `several: "words [value, value]"; where a value belongs to two attributes: "[attribute=value]".`,
    );
  }
  if (spec.relationTypes.length > 0) {
    out.push(
      `Then, if entities are related, one line "${keys.relations}: RELATION a>b; RELATION c>d" (RELATION one of ${relationNames(spec)}), ` +
        `where a and b are the positions of the two entities in your answer, counted from 1 over all items in the order you wrote them.`,
    );
  }
  if (spec.documentLabels.length > 0) out.push(`Last, one line "${keys.labels}: LABEL=value; LABEL=value|value" giving every document label.`);
  return out.length > 0 ? ` ${out.join(" ")}` : "";
}

function jsonExtrasInstructions(spec: AnswerSpec, keys: { relations: string; labels: string }, attributes: string): string {
  const out: string[] = [];
  if (hasAttributes(spec)) out.push(attributes);
  if (spec.relationTypes.length > 0) {
    out.push(
      `If entities are related, add "${keys.relations}": {"RELATION": [[a, b]]} (RELATION one of ${relationNames(spec)}), ` +
        `where a and b are the positions of the two entities in your answer, counted from 1 over all entities in the order you wrote them.`,
    );
  }
  if (spec.documentLabels.length > 0) out.push(`Always add "${keys.labels}": {"LABEL": "value"} with every document label (a list of values for labels that take several).`);
  return out.length > 0 ? ` ${out.join(" ")}` : "";
}

// --- The formats -------------------------------------------------------------------------------

/** The words, then one or more " #n". */
export const OCCURRENCE_SUFFIX = /^([\s\S]*?\S)((?:\s+#\d{1,5})+)$/;

const OCCURRENCE_RULE =
  "Write each entity's words exactly as they appear in the note. Listing words once marks every place they occur. " +
  "If the same words occur several times but only some of those places are the entity, write";

const oneLine = (words: string) => words.replace(/\s+/g, " ");

function byType(items: readonly Item[]): Map<string, Item[]> {
  const groups = new Map<string, Item[]>();
  for (const item of items) {
    const group = groups.get(item.type);
    if (group) group.push(item);
    else groups.set(item.type, [item]);
  }
  return groups;
}

const entitiesJson: OutputFormat = {
  name: "entities-json",
  grammar: () => undefined,
  schema: (source) => {
    const spec = answerSpec(source);
    const attributes = attributeProperties(spec, spec.typeNames);
    return withExtras(
      {
        type: "object",
        properties: {
          entities: {
            type: "array",
            items: {
              type: "object",
              properties: {
                text: { type: "string" },
                type: { type: "string", enum: [...spec.typeNames] },
                n: { type: "integer", minimum: 1 },
                ...attributes,
              },
              required: ["text", "type"],
              additionalProperties: false,
            },
          },
        },
        required: ["entities"],
        additionalProperties: false,
      },
      spec,
      ENTITIES_JSON_KEYS,
    );
  },
  instructions: (source) => {
    const spec = answerSpec(source);
    return (
      `Answer with JSON only: {"entities":[{"text":"<words>","type":"<${spec.typeNames.join("|")}>"}]}. ` +
      `${OCCURRENCE_RULE} one entry per place with "n": the occurrence number counted from the start of the note (1 = first). ` +
      `No entities: {"entities":[]}.` +
      jsonExtrasInstructions(spec, ENTITIES_JSON_KEYS, `Give an entity's attribute values that are not the default as fields: {"text":"<words>","type":"<TYPE>","<attribute>":"<value>"}.`)
    );
  },
  serialize: (mentions, source, extras) => {
    const spec = answerSpec(source);
    // Here every mention is its own entry, in the order given: positions are list indexes.
    const relations = new Map<string, [number, number][]>();
    for (const relation of extras?.relations ?? []) relations.set(relation.type, [...(relations.get(relation.type) ?? []), [relation.from + 1, relation.to + 1]]);
    return JSON.stringify({
      entities: mentions.map((mention) => {
        const entry: Record<string, unknown> = { text: mention.text, type: mention.type };
        if (mention.occurrence !== undefined) entry.n = mention.occurrence;
        for (const [name, value] of nonDefault(spec, mention.type, mention.attributes)) entry[attributeKey(name)] = value;
        return entry;
      }),
      ...extraMembers(spec, relations, extras?.labels, ENTITIES_JSON_KEYS),
    });
  },
};

const groupedJson: OutputFormat = {
  name: "grouped-json",
  grammar: () => undefined,
  schema: (source) => {
    const spec = answerSpec(source);
    const itemSchema = (type: string): JsonSchema => {
      if (!spec.attributes.has(type)) return { type: "string" };
      const object = { type: "object", properties: { text: { type: "string" }, ...attributeProperties(spec, [type]) }, required: ["text"], additionalProperties: false };
      return { anyOf: [{ type: "string" }, object] };
    };
    return withExtras(
      {
        type: "object",
        properties: Object.fromEntries(spec.typeNames.map((name) => [name, { type: "array", items: itemSchema(name) }])),
        additionalProperties: false,
      },
      spec,
      extraKeys(spec, true),
    );
  },
  instructions: (source) => {
    const spec = answerSpec(source);
    const typeNames = spec.typeNames;
    return (
      `Answer with JSON only: an object whose keys are entity types (${typeNames.join(", ")}) and whose values are lists of the entities' words, ` +
      `e.g. {"${typeNames[0] ?? "TYPE"}":["<words>","<words>"]}. Leave out types with no entities; no entities at all: {}. ` +
      `${OCCURRENCE_RULE} one item "<words> #n #m" listing the places, n and m counted from the start of the note (1 = first).` +
      jsonExtrasInstructions(spec, extraKeys(spec, true), `An entity with attribute values that are not the default is written as an object instead of a string: {"text":"<words>","<attribute>":"<value>"}.`)
    );
  },
  serialize: (mentions, source, extras) => {
    const spec = answerSpec(source);
    const { items, relations } = arrange(mentions, spec, extras);
    const object: Record<string, unknown> = {};
    for (const [type, group] of byType(items)) {
      object[type] = group.map((item) =>
        item.attributes.length === 0 ? placed(item) : { text: placed(item), ...Object.fromEntries(item.attributes.map(([name, value]) => [attributeKey(name), value])) },
      );
    }
    return JSON.stringify({ ...object, ...extraMembers(spec, relations, extras?.labels, extraKeys(spec, true)) });
  },
};

const lines: OutputFormat = {
  name: "lines",
  schema: () => undefined,
  grammar: () => undefined,
  instructions: (source) => {
    const spec = answerSpec(source);
    return (
      `Answer with one entity per line as TYPE|words, TYPE one of ${spec.typeNames.join(", ")}; nothing else. No entities: an empty answer. ` +
      `${OCCURRENCE_RULE} one line TYPE|words #n #m listing the places, n and m counted from the start of the note (1 = first).` +
      lineExtrasInstructions(spec)
    );
  },
  serialize: (mentions, source, extras) => {
    const spec = answerSpec(source);
    const { items, relations } = arrange(mentions, spec, extras);
    return [...items.map((item) => `${item.type}|${oneLine(textItem(spec, item))}`), ...extraLines(spec, relations, extras?.labels)].join("\n");
  },
};

const groupedLines: OutputFormat = {
  name: "grouped-lines",
  schema: () => undefined,
  grammar: () => undefined,
  instructions: (source) => {
    const spec = answerSpec(source);
    return (
      `Answer with, for each entity type that occurs (${spec.typeNames.join(", ")}), a line "TYPE:" followed by one entity's words per line; nothing else. ` +
      `${OCCURRENCE_RULE} one line "words #n #m" listing the places, n and m counted from the start of the note (1 = first).` +
      lineExtrasInstructions(spec)
    );
  },
  serialize: (mentions, source, extras) => {
    const spec = answerSpec(source);
    const { items, relations } = arrange(mentions, spec, extras);
    const out: string[] = [];
    for (const [type, group] of byType(items)) {
      out.push(`${type}:`);
      for (const item of group) out.push(oneLine(textItem(spec, item)));
    }
    return [...out, ...extraLines(spec, relations, extras?.labels)].join("\n");
  },
};

const typeRows: OutputFormat = {
  name: "type-rows",
  schema: () => undefined,
  grammar: typeRowsGrammar,
  instructions: (source) => {
    const spec = answerSpec(source);
    return (
      `Answer with one line per entity type that occurs (${spec.typeNames.join(", ")}): "TYPE: words; words; words"; nothing else. ` +
      `${OCCURRENCE_RULE} one item "words #n #m" listing the places, n and m counted from the start of the note (1 = first).` +
      lineExtrasInstructions(spec)
    );
  },
  serialize: (mentions, source, extras) => {
    const spec = answerSpec(source);
    const { items, relations } = arrange(mentions, spec, extras);
    const out: string[] = [];
    for (const [type, group] of byType(items)) out.push(`${type}: ${group.map((item) => oneLine(textItem(spec, item)).replace(/;/g, ",")).join("; ")}`);
    return [...out, ...extraLines(spec, relations, extras?.labels)].join("\n");
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
