// Checks that a task schema can be used: by the annotators (the LLM's JSON schema is built
// from it), by the formats (brat A and R lines name attributes and relation types) and by
// the model heads (one class per attribute value, relation type, label value). Every
// problem is found, not only the first, so the schema editor can list them all at once.

import { SchemaError } from "../errors.ts";
import type { AttributeDef, EntityType, RelationType, TaskSchema } from "./types.ts";

/** Every problem of the schema, in the order the editor shows its sections; [] when usable. */
export function schemaProblems(schema: TaskSchema): SchemaError[] {
  const problems: SchemaError[] = [];
  const report = (where: string, problem: string) => problems.push(new SchemaError(where, problem));

  checkNames(schema.entityTypes, "entity type", report);
  for (const type of schema.entityTypes) checkAttributes(type, report);

  checkNames(schema.relationTypes, "relation type", report);
  const typeNames = new Set(schema.entityTypes.map((type) => type.name));
  for (const relation of schema.relationTypes) checkEndpoints(relation, typeNames, report);

  checkNames(schema.documentLabels, "document label", report);
  for (const label of schema.documentLabels) checkValues(`document label "${label.name}"`, label.values, report);
  return problems;
}

/** Throws the first problem of the schema, if any (a store call refuses an unusable schema). */
export function assertValidSchema(schema: TaskSchema): void {
  const [first] = schemaProblems(schema);
  if (first) throw first;
}

type Report = (where: string, problem: string) => void;

/**
 * Names must be non-empty, unique among their kind, and without spaces at either end: a
 * name " DISO" would look like "DISO" on screen and never match it.
 */
function checkNames(items: readonly { name: string }[], kind: string, report: Report, within = ""): void {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    const where = `${within}${kind} ${index + 1}`;
    if (item.name.trim() === "") return report(where, "has no name");
    if (item.name !== item.name.trim()) report(`${within}${kind} "${item.name}"`, "has spaces at the start or end of its name");
    if (seen.has(item.name)) report(`${within}${kind} "${item.name}"`, `is named twice; each ${kind} needs its own name`);
    seen.add(item.name);
  });
}

function checkAttributes(type: EntityType, report: Report): void {
  const attributes: readonly AttributeDef[] = type.attributes ?? [];
  const within = `entity type "${type.name}", `;
  checkNames(attributes, "attribute", report, within);
  for (const attribute of attributes) {
    const where = `${within}attribute "${attribute.name}"`;
    checkValues(where, attribute.values, report);
    // With no values at all, that is the one problem to fix.
    if (attribute.default !== undefined && attribute.values.length > 0 && !attribute.values.includes(attribute.default)) {
      report(where, `has the default "${attribute.default}", which is not one of its values (${list(attribute.values)})`);
    }
  }
}

/** A choice needs something to choose: at least one value, each named once. */
function checkValues(where: string, values: readonly string[], report: Report): void {
  if (values.length === 0) return report(where, "has no values; add at least one");
  const seen = new Set<string>();
  for (const value of values) {
    if (value.trim() === "") report(where, "has an empty value");
    else if (value !== value.trim()) report(where, `has the value "${value}" with spaces at the start or end`);
    else if (seen.has(value)) report(where, `has the value "${value}" twice`);
    seen.add(value);
  }
}

function checkEndpoints(relation: RelationType, typeNames: ReadonlySet<string>, report: Report): void {
  const where = `relation type "${relation.name}"`;
  for (const [side, names] of [["from", relation.from], ["to", relation.to]] as const) {
    if (names.length === 0) report(where, `has no entity type to go ${side}; choose at least one`);
    for (const name of names) {
      if (!typeNames.has(name)) report(where, `goes ${side} "${name}", which is not an entity type of the schema`);
    }
  }
}

const list = (values: readonly string[]) => values.map((value) => `"${value}"`).join(", ");

/** Whether a relation type is directed; a type the schema does not list counts as directed (the strict reading). */
export function isDirected(relationTypes: readonly Pick<RelationType, "name" | "directed">[], name: string): boolean {
  return relationTypes.find((type) => type.name === name)?.directed ?? true;
}
