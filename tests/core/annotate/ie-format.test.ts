// Answers with attributes, relations and document labels: each format writes them and
// reads them back; the JSON schemas constrain them to the schema's names and values; what
// the schema does not know is reported, never kept; entity-only schemas are unchanged.
import { describe, expect, it } from "vitest";
import { answerSpec } from "../../../src/core/annotate/answer-spec.ts";
import { FORMAT_NAMES, outputFormat } from "../../../src/core/annotate/format.ts";
import { parseOutput } from "../../../src/core/annotate/parse.ts";
import type { Mention } from "../../../src/core/annotate/types.ts";
import { schemaWithTypes, type TaskSchema } from "../../../src/core/schema/types.ts";
import { IE_SCHEMA, LABELS, MENTIONS, RELATIONS } from "./ie-schema.ts";


describe("answers with attributes, relations and labels", () => {
  it("each format writes them and reads them back (attributes on mentions, relations by item position, labels)", () => {
    for (const name of FORMAT_NAMES) {
      const written = outputFormat(name).serialize(MENTIONS, IE_SCHEMA, { relations: RELATIONS, labels: LABELS });
      const read = parseOutput(written, name, IE_SCHEMA);
      expect({ name, problems: read.problems }).toEqual({ name, problems: [] });
      expect({ name, mentions: read.mentions }).toEqual({ name, mentions: MENTIONS });
      // Back from item positions to mention indexes: each item here stands for one mention.
      const relations = read.relations.map((relation) => ({ type: relation.type, from: read.items.indexOf(relation.from), to: read.items.indexOf(relation.to) }));
      expect({ name, relations }).toEqual({ name, relations: RELATIONS });
      expect({ name, labels: read.labels }).toEqual({ name, labels: LABELS });
    }
  });

  it("writes the cheap forms: bare values in brackets, objects only for items with attributes, positions", () => {
    expect(outputFormat("type-rows").serialize(MENTIONS, IE_SCHEMA, { relations: RELATIONS, labels: LABELS })).toBe(
      "DISO: fiebre [negated]; tos; dolor #2 [suspected, past]\nCHEM: paracetamol\nDOSE: 1 g\nRelations: has_dose 4>5; treats 4>1\nLabels: smoking=former; services=urgencias|cardiología",
    );
    expect(outputFormat("grouped-json").serialize(MENTIONS, IE_SCHEMA, { relations: RELATIONS, labels: LABELS })).toBe(
      '{"DISO":[{"text":"fiebre","certainty":"negated"},"tos",{"text":"dolor #2","certainty":"suspected","temporality":"past"}],"CHEM":["paracetamol"],"DOSE":["1 g"],' +
        '"relations":{"has_dose":[[4,5]],"treats":[[4,1]]},"labels":{"smoking":"former","services":["urgencias","cardiología"]}}',
    );
  });

  it("keeps a related mention as its own item instead of merging it into \"words #n #m\"", () => {
    const mentions: Mention[] = [
      { text: "dolor", type: "DISO", occurrence: 1 },
      { text: "dolor", type: "DISO", occurrence: 3 },
      { text: "ibuprofeno", type: "CHEM" },
    ];
    expect(outputFormat("type-rows").serialize(mentions, IE_SCHEMA)).toBe("DISO: dolor #1 #3\nCHEM: ibuprofeno");
    expect(outputFormat("type-rows").serialize(mentions, IE_SCHEMA, { relations: [{ type: "treats", from: 2, to: 1 }] })).toBe(
      "DISO: dolor #1; dolor #3\nCHEM: ibuprofeno\nRelations: treats 3>2",
    );
  });

  it("constrains the JSON answer to the schema's attribute values, relation types and labels (labels required)", () => {
    const grouped = JSON.stringify(outputFormat("grouped-json").schema(IE_SCHEMA));
    expect(grouped).toContain('"anyOf":[{"type":"string"},{"type":"object","properties":{"text":{"type":"string"},"certainty":{"type":"string","enum":["affirmed","negated","suspected"]}');
    expect(grouped).toContain('"CHEM":{"type":"array","items":{"type":"string"}}');
    expect(grouped).toContain('"relations":{"type":"object","properties":{"has_dose":{"type":"array","items":{"type":"array","items":{"type":"integer","minimum":1},"minItems":2,"maxItems":2}}');
    expect(grouped).toContain('"labels":{"type":"object","properties":{"smoking":{"type":"string","enum":["current","former","never"]},"services":{"type":"array","items":{"type":"string","enum":["urgencias","cardiología"]}}},"required":["smoking","services"]');
    expect(grouped).toMatch(/"required":\["labels"\]}$/);
    const entities = JSON.stringify(outputFormat("entities-json").schema(IE_SCHEMA));
    expect(entities).toContain('"temporality":{"type":"string","enum":["current","past"]}');
  });

  it("writes and asks for exactly what it did before when the schema has no attributes, relations or labels", () => {
    const plain = schemaWithTypes(["DISO", "CHEM", "DOSE"]);
    const mentions = MENTIONS.map(({ attributes: _, ...mention }) => mention);
    for (const name of FORMAT_NAMES) {
      const format = outputFormat(name);
      expect(format.serialize(mentions, plain)).toBe(format.serialize(mentions, ["DISO", "CHEM", "DOSE"]));
      expect(format.instructions(plain)).toBe(format.instructions(["DISO", "CHEM", "DOSE"]));
      expect(format.schema(plain)).toEqual(format.schema(["DISO", "CHEM", "DOSE"]));
      expect(format.instructions(IE_SCHEMA)).not.toBe(format.instructions(plain));
    }
  });

  it("moves the relations and labels keys aside when an entity type has their name", () => {
    const clash: TaskSchema = { ...IE_SCHEMA, entityTypes: [...IE_SCHEMA.entityTypes, { name: "Relations", color: "#000", definition: "", examples: [] }] };
    const written = outputFormat("type-rows").serialize(MENTIONS, clash, { relations: RELATIONS });
    expect(written).toContain("\n_Relations: has_dose 4>5");
    expect(parseOutput(`${written}\nRelations: frase`, "type-rows", clash).mentions.at(-1)).toEqual({ text: "frase", type: "Relations" });
    expect(parseOutput(written, "type-rows", clash).relations).toHaveLength(2);
  });
});

describe("reading what the schema does not have", () => {
  it("reports unknown attribute values and keeps the mention without them", () => {
    const read = parseOutput("DISO: fiebre [certainty=maybe]; tos [negated, chronic]; disnea [affirmed]", "type-rows", IE_SCHEMA);
    expect(read.mentions).toEqual([
      { text: "fiebre", type: "DISO" },
      { text: "tos", type: "DISO", attributes: { certainty: "negated" } },
      // The default is not written on the span: absent means the default.
      { text: "disnea", type: "DISO" },
    ]);
    expect(read.problems).toEqual([{ kind: "rejected-attribute", message: expect.stringMatching(/^2 attribute value\(s\) were left out: "fiebre": "maybe" is not a value of attribute "certainty" of DISO; "tos": "chronic"/) }]);
  });

  it("records relations of unknown types, between wrong types, to missing or rejected items as unplaced", () => {
    const answer = [
      '{"CHEM":["aspirina"],"DOSE":["100 mg"],"Drug":["warfarina"],',
      '"relations":{"has_dose":[[1,2],[1,9],[3,2]],"treats":[[2,1]],"causes":[[1,2]]},',
      '"labels":{"smoking":"sometimes","services":["urgencias","uci"]}}',
    ].join("");
    const read = parseOutput(answer, "grouped-json", IE_SCHEMA);
    expect(read.relations).toEqual([{ type: "has_dose", from: 1, to: 2 }]);
    expect(read.unplacedRelations).toEqual([
      { type: "has_dose", from: "aspirina (CHEM)", to: "item 9", reason: "the answer has no item 9 (it has 3)" },
      { type: "has_dose", from: "warfarina (Drug)", to: "100 mg (DOSE)", reason: 'item 3 was rejected (its type "Drug" is not in the schema)' },
      { type: "treats", from: "100 mg (DOSE)", to: "aspirina (CHEM)", reason: "treats goes from CHEM to DISO, not from DOSE to CHEM" },
      { type: "causes", from: "aspirina (CHEM)", to: "100 mg (DOSE)", reason: '"causes" is not a relation type of the schema' },
    ]);
    expect(read.labels).toEqual({ services: ["urgencias"] });
    expect(read.problems.map((problem) => problem.kind)).toEqual(["rejected-type", "rejected-relation", "unplaced-relation", "rejected-label"]);
    expect(read.problems.at(-1)!.message).toMatch(/"sometimes" is not a value of label smoking.*"uci" is not a value of label services/);
  });

  it("keeps the first value of a single-choice label given several, with a problem", () => {
    const read = parseOutput("CHEM: aspirina\nLabels: smoking=never|former", "type-rows", IE_SCHEMA);
    expect(read.labels).toEqual({ smoking: ["never"] });
    expect(read.problems).toEqual([{ kind: "rejected-label", message: expect.stringMatching(/smoking takes one value, but never, former were given/) }]);
  });

  it("reads a labels-only answer and relation lines with other separators", () => {
    expect(parseOutput("Labels: smoking=current", "lines", IE_SCHEMA)).toMatchObject({ mentions: [], labels: { smoking: ["current"] }, problems: [] });
    const read = parseOutput("CHEM|aspirina\nDOSE|100 mg\nRelations: has_dose 1 -> 2", "lines", IE_SCHEMA);
    expect(read.relations).toEqual([{ type: "has_dose", from: 1, to: 2 }]);
  });

  it("counts positions per item, not per occurrence: one item \"dolor #1 #2\" is one position", () => {
    const read = parseOutput("DISO: dolor #1 #2\nCHEM: aspirina\nRelations: treats 2>1", "type-rows", IE_SCHEMA);
    expect(read.items).toEqual([1, 1, 2]);
    expect(read.relations).toEqual([{ type: "treats", from: 2, to: 1 }]);
    expect(answerSpec(IE_SCHEMA).typeNames).toEqual(["DISO", "CHEM", "DOSE"]);
  });
});
