import { describe, expect, it } from "vitest";
import { SchemaError } from "../../../src/core/errors.ts";
import { schemaWithTypes, type TaskSchema } from "../../../src/core/schema/types.ts";
import { assertValidSchema, isDirected, schemaProblems } from "../../../src/core/schema/validate.ts";
import { createProject, getProject, updateProject } from "../../../src/core/store/projects.ts";
import { freshDatabase } from "../store/helpers.ts";

/** Disorders with a certainty, drugs, a Treats relation and a smoking-status label: all usable. */
function goodSchema(): TaskSchema {
  const schema = schemaWithTypes(["DISO", "CHEM"]);
  schema.entityTypes[0].attributes = [{ name: "certainty", values: ["positive", "negative", "suspected"], default: "positive" }];
  schema.relationTypes = [{ name: "Treats", from: ["CHEM"], to: ["DISO"], directed: true }];
  schema.documentLabels = [
    { name: "smoking", values: ["current", "former", "never"], multiple: false },
    { name: "sections", values: ["history", "plan"], multiple: true },
  ];
  return schema;
}

const messages = (schema: TaskSchema) => schemaProblems(schema).map((error) => error.message);

describe("schemaProblems", () => {
  it("finds nothing wrong with a schema of attributes, relations and labels", () => {
    expect(schemaProblems(goodSchema())).toEqual([]);
    expect(() => assertValidSchema(goodSchema())).not.toThrow();
  });

  it.each<[string, (schema: TaskSchema) => void, string]>([
    ["an entity type without a name", (s) => (s.entityTypes[1].name = " "), "entity type 2: has no name"],
    ["two entity types of one name", (s) => (s.entityTypes[1].name = "DISO"), 'entity type "DISO": is named twice; each entity type needs its own name'],
    ["a name with a trailing space", (s) => (s.entityTypes[1].name = "CHEM "), 'entity type "CHEM ": has spaces at the start or end of its name'],
    [
      "an attribute without values",
      (s) => (s.entityTypes[0].attributes![0] = { name: "certainty", values: [] }),
      'entity type "DISO", attribute "certainty": has no values; add at least one',
    ],
    [
      "two attributes of one name on a type",
      (s) => s.entityTypes[0].attributes!.push({ name: "certainty", values: ["yes"] }),
      'entity type "DISO", attribute "certainty": is named twice; each attribute needs its own name',
    ],
    [
      "an attribute value given twice",
      (s) => s.entityTypes[0].attributes![0].values.push("negative"),
      'entity type "DISO", attribute "certainty": has the value "negative" twice',
    ],
    [
      "an empty attribute value",
      (s) => s.entityTypes[0].attributes![0].values.push(""),
      'entity type "DISO", attribute "certainty": has an empty value',
    ],
    [
      "a default that is not a value",
      (s) => (s.entityTypes[0].attributes![0].default = "negated"),
      'entity type "DISO", attribute "certainty": has the default "negated", which is not one of its values ("positive", "negative", "suspected")',
    ],
    [
      "a relation from a type the schema lacks",
      (s) => (s.relationTypes[0].from = ["DRUG"]),
      'relation type "Treats": goes from "DRUG", which is not an entity type of the schema',
    ],
    ["a relation with no target type", (s) => (s.relationTypes[0].to = []), 'relation type "Treats": has no entity type to go to; choose at least one'],
    [
      "two relation types of one name",
      (s) => s.relationTypes.push({ name: "Treats", from: ["CHEM"], to: ["CHEM"], directed: false }),
      'relation type "Treats": is named twice',
    ],
    ["a document label without values", (s) => (s.documentLabels[0].values = []), 'document label "smoking": has no values; add at least one'],
    [
      "two document labels of one name",
      (s) => (s.documentLabels[1].name = "smoking"),
      'document label "smoking": is named twice; each document label needs its own name',
    ],
  ])("names %s", (_, breakIt, expected) => {
    const schema = goodSchema();
    breakIt(schema);
    const problems = schemaProblems(schema);
    // Renaming CHEM away also leaves Treats without its type: a second, later problem.
    expect(problems.length).toBe(schema.entityTypes[1].name === "CHEM" ? 1 : 2);
    expect(problems[0]).toBeInstanceOf(SchemaError);
    expect(problems[0].message).toContain(expected);
  });

  it("lists every problem, not only the first", () => {
    const schema = goodSchema();
    schema.entityTypes[0].attributes![0].values = [];
    schema.relationTypes[0].to = ["ANAT"];
    schema.documentLabels[0].values = [];
    expect(messages(schema)).toEqual([
      'entity type "DISO", attribute "certainty": has no values; add at least one',
      'relation type "Treats": goes to "ANAT", which is not an entity type of the schema',
      'document label "smoking": has no values; add at least one',
    ]);
  });

  it("a removed entity type leaves the relations that used it invalid", () => {
    const schema = goodSchema();
    schema.entityTypes.splice(1, 1); // CHEM
    expect(messages(schema)).toEqual(['relation type "Treats": goes from "CHEM", which is not an entity type of the schema']);
  });
});

describe("isDirected", () => {
  it("reads the schema, and takes an unknown type as directed", () => {
    const types = [
      { name: "Treats", directed: true },
      { name: "SameAs", directed: false },
    ];
    expect([isDirected(types, "Treats"), isDirected(types, "SameAs"), isDirected(types, "Other")]).toEqual([true, false, true]);
  });
});

describe("updateProject", () => {
  it("stores a valid schema with its attributes, relations and labels, and refuses an invalid one", async () => {
    const db = freshDatabase();
    const project = await createProject(db, { name: "Radiology", language: "en" });
    await updateProject(db, project.id, { schema: goodSchema() });
    expect((await getProject(db, project.id)).schema).toEqual(goodSchema());

    const broken = goodSchema();
    broken.relationTypes[0].from = ["DRUG"];
    await expect(updateProject(db, project.id, { schema: broken })).rejects.toThrow(SchemaError);
    expect((await getProject(db, project.id)).schema).toEqual(goodSchema());
  });
});
