// What an answer may hold beyond entity spans, from the task schema: attributes per entity
// type, relation types, document labels. The formats write and read answers against it;
// the parser checks every name and value the model wrote here, so an unknown one is
// reported (like a rejected type), never kept. A schema without attributes, relations and
// labels gives a spec with only type names, and the formats write exactly what they wrote
// before those existed.

import type { DocumentLabels } from "../corpus/types.ts";
import type { AttributeDef, DocumentLabelDef, RelationType, TaskSchema } from "../schema/types.ts";

export interface AnswerSpec {
  typeNames: readonly string[];
  /** Entity type -> its attributes (types without attributes are absent). */
  attributes: ReadonlyMap<string, readonly AttributeDef[]>;
  relationTypes: readonly RelationType[];
  documentLabels: readonly DocumentLabelDef[];
}

/** A spec from a schema, or from bare type names (entities only), or as given. */
export function answerSpec(source: TaskSchema | AnswerSpec | readonly string[]): AnswerSpec {
  if (isStringList(source)) return { typeNames: [...source], attributes: new Map(), relationTypes: [], documentLabels: [] };
  if ("typeNames" in source) return source;
  return {
    typeNames: source.entityTypes.map((type) => type.name),
    attributes: new Map(source.entityTypes.filter((type) => (type.attributes ?? []).length > 0).map((type) => [type.name, type.attributes!])),
    relationTypes: source.relationTypes ?? [],
    documentLabels: source.documentLabels ?? [],
  };
}

function isStringList(value: unknown): value is readonly string[] {
  return Array.isArray(value);
}

export function hasAttributes(spec: AnswerSpec): boolean {
  return spec.attributes.size > 0;
}

/**
 * `base`, or `_base`, `__base`… : the first not among `taken` (case-insensitively). Keys
 * the formats add next to entity type names ("relations", "labels") cannot then be read
 * as a type, whatever the schema names its types.
 */
export function reservedKey(base: string, taken: readonly string[]): string {
  const names = new Set(taken.map((name) => name.toLowerCase()));
  let key = base;
  while (names.has(key.toLowerCase())) key = `_${key}`;
  return key;
}

/**
 * The keys of the relations and labels lines ("Relations: …") of the line formats, or of
 * the relations and labels members of grouped-json ("relations"), where the other keys are
 * type names: a type named so pushes the key to "_Relations" (reservedKey).
 */
export function extraKeys(spec: AnswerSpec, json: boolean): { relations: string; labels: string } {
  const relations = json ? "relations" : "Relations";
  const labels = json ? "labels" : "Labels";
  return { relations: reservedKey(relations, spec.typeNames), labels: reservedKey(labels, spec.typeNames) };
}

/** The key for an attribute inside a JSON item object, which also holds "text" (and "type", "n"). */
export function attributeKey(name: string): string {
  return reservedKey(name, ["text", "type", "n"]);
}

const same = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

export type Resolved<T> = { ok: T } | { problem: string };

/**
 * An attribute the model wrote for an entity of `type`, as `name=value` or a bare `value`
 * (allowed when exactly one of the type's attributes has that value); names and values
 * are matched case-insensitively and returned as the schema spells them.
 */
export function resolveAttribute(spec: AnswerSpec, type: string, name: string | undefined, value: string): Resolved<{ name: string; value: string }> {
  const defs = spec.attributes.get(type) ?? [];
  if (defs.length === 0) return { problem: `${type} has no attributes, but "${name ? `${name}=` : ""}${value}" was given` };
  const candidates = name === undefined ? defs : defs.filter((def) => same(def.name, name) || same(attributeKey(def.name), name));
  if (candidates.length === 0) return { problem: `${type} has no attribute "${name}" (it has ${defs.map((def) => def.name).join(", ")})` };
  const hits = candidates.flatMap((def) => def.values.filter((known) => same(known, value)).map((known) => ({ name: def.name, value: known })));
  if (hits.length === 1) return { ok: hits[0] };
  if (hits.length > 1) return { problem: `"${value}" is a value of several attributes of ${type} (${hits.map((hit) => hit.name).join(", ")}); write name=value` };
  const where = name === undefined ? `any attribute of ${type}` : `attribute "${candidates[0].name}" of ${type}`;
  return { problem: `"${value}" is not a value of ${where}` };
}

/** Attributes with values other than their default: what an answer writes. */
export function nonDefault(spec: AnswerSpec, type: string, attributes: Readonly<Record<string, string>> | undefined): [string, string][] {
  if (!attributes) return [];
  const defs = spec.attributes.get(type) ?? [];
  return defs.flatMap((def) => {
    const value = attributes[def.name];
    return value === undefined || value === def.default ? [] : [[def.name, value] as [string, string]];
  });
}

/** Whether `value` alone names its attribute among the type's attributes (then the text formats write it bare). */
export function valueIsUnique(spec: AnswerSpec, type: string, value: string): boolean {
  return (spec.attributes.get(type) ?? []).filter((def) => def.values.some((known) => same(known, value))).length === 1;
}

/** The relation type of that name, as the schema spells it. */
export function relationType(spec: AnswerSpec, name: string): RelationType | undefined {
  return spec.relationTypes.find((type) => same(type.name, name));
}

/**
 * Why a relation of `relation` cannot go from an entity of `fromType` to one of `toType`,
 * or undefined when it can (an undirected type either way round).
 */
export function relationEndsProblem(relation: RelationType, fromType: string, toType: string): string | undefined {
  const fits = (a: string, b: string) => relation.from.includes(a) && relation.to.includes(b);
  if (fits(fromType, toType) || (!relation.directed && fits(toType, fromType))) return undefined;
  return `${relation.name} goes from ${relation.from.join("/")} to ${relation.to.join("/")}, not from ${fromType} to ${toType}`;
}

/**
 * Labels as the model wrote them -> the schema's names and values. Unknown names and
 * values are left out and reported; a single-choice label given several values keeps the
 * first. Values are matched case-insensitively.
 */
export function resolveLabels(spec: AnswerSpec, written: readonly { name: string; values: readonly string[] }[]): { labels: DocumentLabels; problems: string[] } {
  const labels: DocumentLabels = {};
  const problems: string[] = [];
  for (const { name, values } of written) {
    const def = spec.documentLabels.find((label) => same(label.name, name));
    if (!def) {
      problems.push(`"${name}" is not a document label of the schema`);
      continue;
    }
    const chosen: string[] = [];
    for (const value of values) {
      const known = def.values.find((candidate) => same(candidate, value));
      if (known === undefined) problems.push(`"${value}" is not a value of label ${def.name} (${def.values.join(", ")})`);
      else if (!chosen.includes(known)) chosen.push(known);
    }
    const all = [...(labels[def.name] ?? [])];
    for (const value of chosen) if (!all.includes(value)) all.push(value);
    if (!def.multiple && all.length > 1) {
      problems.push(`label ${def.name} takes one value, but ${all.join(", ")} were given; the first is kept`);
      all.length = 1;
    }
    if (all.length > 0 || def.multiple) labels[def.name] = all;
  }
  return { labels, problems };
}
