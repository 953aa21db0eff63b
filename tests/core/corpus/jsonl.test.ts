import { describe, expect, it } from "vitest";
import { parseJsonl } from "../../../src/core/corpus/jsonl.ts";
import { InputFileError } from "../../../src/core/errors.ts";

const line = (record: unknown) => JSON.stringify(record);

describe("parseJsonl", () => {
  it("reads ids, texts and entities, skipping blank lines", () => {
    const text = [
      line({ id: "caso_1", text: "Mujer de 36 años con dolor lumbar.", entities: [{ start: 0, end: 5, type: "LIVB", text: "Mujer" }, { start: 21, end: 33, type: "DISO" }] }),
      "",
      "   ",
      line({ id: 42, text: "Sin hallazgos." }),
      line({ text: "Sin id." }),
    ].join("\r\n");
    expect(parseJsonl("set.jsonl", text)).toEqual({
      notes: [
        {
          externalId: "caso_1",
          text: "Mujer de 36 años con dolor lumbar.",
          spans: [{ start: 0, end: 5, type: "LIVB" }, { start: 21, end: 33, type: "DISO" }],
          sourceFile: "set.jsonl",
        },
        { externalId: "42", text: "Sin hallazgos.", sourceFile: "set.jsonl" },
        { externalId: "set.jsonl#5", text: "Sin id.", sourceFile: "set.jsonl" },
      ],
      warnings: [],
    });
  });

  it("reads other field names when told", () => {
    const text = line({ doc: "d1", body: "胸痛あり。" });
    const { notes } = parseJsonl("x.ndjson", text, { textField: "body", idField: "doc" });
    expect(notes).toEqual([{ externalId: "d1", text: "胸痛あり。", sourceFile: "x.ndjson" }]);
  });

  it("skips records with empty text and says which lines", () => {
    const text = [line({ id: "a", text: "" }), line({ id: "b", text: "ok" }), line({ id: "c", text: " \n " })].join("\n");
    expect(parseJsonl("set.jsonl", text)).toEqual({
      notes: [{ externalId: "b", text: "ok", sourceFile: "set.jsonl" }],
      warnings: ['set.jsonl: skipped 2 records with an empty "text" (lines 1, 3)'],
    });
  });

  it("reads attributes, relations as {from, to} or {head, tail}, and labels as a value or a list", () => {
    const text = "aspirin for headache, no fever";
    const entities = [
      { start: 0, end: 7, type: "Drug" },
      { start: 12, end: 20, type: "Symptom", attributes: { certainty: "positive" } },
      { start: 25, end: 30, type: "Symptom", attributes: { certainty: "negative", temporal: "current" } },
    ];
    const records = [
      line({ id: "a", text, entities, relations: [{ type: "Treats", from: 0, to: 1 }], labels: { urgency: "low", sections: ["plan", "history"] } }),
      line({ id: "b", text, entities, relations: [{ type: "Treats", head: 0, tail: 2 }] }),
    ].join("\n");
    const [a, b] = parseJsonl("set.jsonl", records).notes;
    expect(a.spans?.map((span) => span.attributes)).toEqual([undefined, { certainty: "positive" }, { certainty: "negative", temporal: "current" }]);
    expect(a.relations).toEqual([{ type: "Treats", from: 0, to: 1 }]);
    expect(a.labels).toEqual({ urgency: ["low"], sections: ["plan", "history"] });
    expect(b.relations).toEqual([{ type: "Treats", from: 0, to: 2 }]);
    expect(b.labels).toBeUndefined();
  });

  const good = line({ id: "ok", text: "fine" });
  it.each([
    { name: "broken JSON", bad: '{"id": "x", "text": "unterminated', message: /^set\.jsonl, line 2: is not valid JSON \(/ },
    { name: "an array", bad: "[1, 2]", message: "set.jsonl, line 2: is not a JSON object (each line must be one {…} record)" },
    { name: "no text field", bad: line({ id: "x", body: "b" }), message: 'set.jsonl, line 2: has no string field "text" (its fields: id, body)' },
    { name: "an object id", bad: line({ id: { n: 1 }, text: "t" }), message: "set.jsonl, line 2: has an id that is neither a string nor a number" },
    { name: "entities not a list", bad: line({ text: "t", entities: {} }), message: 'set.jsonl, line 2: has "entities" that is not a list' },
    {
      name: "an offset past the end",
      bad: line({ text: "fiebre", entities: [{ start: 0, end: 6, type: "DISO" }, { start: 2, end: 7, type: "DISO" }] }),
      message: "set.jsonl, line 2: entity 2: offsets 2–7 are not inside the text (0–6, start before end)",
    },
    {
      name: "start after end",
      bad: line({ text: "fiebre", entities: [{ start: 4, end: 2, type: "DISO" }] }),
      message: "set.jsonl, line 2: entity 1: offsets 4–2 are not inside the text (0–6, start before end)",
    },
    {
      name: "fractional offsets",
      bad: line({ text: "fiebre", entities: [{ start: 0.5, end: 2, type: "DISO" }] }),
      message: "set.jsonl, line 2: entity 1: start and end must be whole numbers",
    },
    {
      name: "no type",
      bad: line({ text: "fiebre", entities: [{ start: 0, end: 2 }] }),
      message: "set.jsonl, line 2: entity 1: has no type",
    },
    {
      name: "an attribute value that is not a string",
      bad: line({ text: "fiebre", entities: [{ start: 0, end: 6, type: "DISO", attributes: { negated: true } }] }),
      message: 'set.jsonl, line 2: entity 1: attribute "negated" is a boolean; attribute values are non-empty strings',
    },
    {
      name: "attributes that are a list",
      bad: line({ text: "fiebre", entities: [{ start: 0, end: 6, type: "DISO", attributes: ["negated"] }] }),
      message: 'set.jsonl, line 2: entity 1: has "attributes" that is a list, not an object of name: value',
    },
    {
      name: "a relation to an entity that is not there",
      bad: line({ text: "fiebre", entities: [{ start: 0, end: 6, type: "DISO" }], relations: [{ type: "R", from: 0, to: 1 }] }),
      message: 'set.jsonl, line 2: relation 1: "to" is 1, but the record has 1 entity (indexes from 0)',
    },
    {
      name: "a relation by entity text instead of index",
      bad: line({ text: "fiebre", entities: [{ start: 0, end: 6, type: "DISO" }], relations: [{ type: "R", head: "fiebre", tail: 0 }] }),
      message: 'set.jsonl, line 2: relation 1: "head" must be the index of an entity (a whole number from 0)',
    },
    {
      name: "a relation without a type",
      bad: line({ text: "fiebre", entities: [{ start: 0, end: 6, type: "DISO" }], relations: [{ from: 0, to: 0 }] }),
      message: "set.jsonl, line 2: relation 1: has no type",
    },
    {
      name: "labels that are a list",
      bad: line({ text: "fiebre", labels: ["urgent"] }),
      message: 'set.jsonl, line 2: has "labels" that is a list, not an object of name: value or [values]',
    },
    {
      name: "a label value that is a number",
      bad: line({ text: "fiebre", labels: { stage: 3 } }),
      message: 'set.jsonl, line 2: label "stage" must be a non-empty string or a list of them',
    },
    {
      name: "covered text that drifted by one",
      bad: line({ text: "Dolor lumbar", entities: [{ start: 1, end: 5, type: "DISO", text: "Dolor" }] }),
      message: 'set.jsonl, line 2: entity 1: says it covers "Dolor" but 1–5 is "olor" in the text',
    },
  ])("rejects $name, naming the line", ({ bad, message }) => {
    const run = () => parseJsonl("set.jsonl", `${good}\n${bad}\n${good}`);
    expect(run).toThrow(InputFileError);
    expect(run).toThrow(message);
  });
});
