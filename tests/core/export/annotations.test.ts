// A project's annotations out: attributes, relations and labels go where the format has a
// place for them, and the export says what it left out where it has none.
import { strFromU8, unzipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { parseBrat } from "../../../src/core/corpus/brat.ts";
import { parseJsonl } from "../../../src/core/corpus/jsonl.ts";
import { exportAnnotations } from "../../../src/core/export/annotations.ts";
import { schemaWithTypes } from "../../../src/core/schema/types.ts";
import { bytesSource, importFiles } from "../../../src/core/store/import-files.ts";
import { createProject } from "../../../src/core/store/projects.ts";
import { freshDatabase } from "../store/helpers.ts";

const RECORD = {
  id: "n1",
  text: "aspirin for headache; no fever",
  entities: [
    { start: 0, end: 7, type: "Drug", text: "aspirin" },
    { start: 12, end: 20, type: "Symptom", text: "headache", attributes: { certainty: "positive" } },
    { start: 25, end: 30, type: "Symptom", text: "fever", attributes: { certainty: "negative" } },
  ],
  relations: [{ type: "Treats", from: 0, to: 1 }],
  labels: { urgency: "low", sections: ["plan"] },
};

async function projectWithImport() {
  const db = freshDatabase();
  const schema = schemaWithTypes(["Drug", "Symptom"]);
  schema.entityTypes[1].attributes = [{ name: "certainty", values: ["positive", "negative"] }];
  schema.relationTypes = [{ name: "Treats", from: ["Drug"], to: ["Symptom"], directed: true }];
  schema.documentLabels = [
    { name: "urgency", values: ["low", "high"], multiple: false },
    { name: "sections", values: ["history", "plan"], multiple: true },
  ];
  const project = await createProject(db, { name: "P", language: "en", schema });
  const jsonl = [RECORD, { id: "n2", text: "No complaints.", entities: [] }].map((r) => JSON.stringify(r)).join("\n") + "\n";
  const report = await importFiles(db, project.id, [bytesSource("in.jsonl", jsonl)]);
  expect(report.errorList).toEqual([]);
  return { db, project };
}

describe("exportAnnotations", () => {
  it("JSONL in -> import -> JSONL out keeps attributes, relations and labels (a multiple-choice label as a list)", async () => {
    const { db, project } = await projectWithImport();
    const result = await exportAnnotations(db, project.id, "P", { origin: "import", format: "jsonl" });
    const text = strFromU8(result.bytes);
    expect(result.warnings).toEqual([]);
    expect(text.split("\n")[0]).toContain('"labels": {"urgency": "low", "sections": ["plan"]}');
    const [back, plain] = parseJsonl("out.jsonl", text).notes;
    expect(back.spans?.map((span) => span.attributes)).toEqual([undefined, { certainty: "positive" }, { certainty: "negative" }]);
    expect(back.relations).toEqual(RECORD.relations);
    expect(back.labels).toEqual({ urgency: ["low"], sections: ["plan"] });
    expect([plain.relations, plain.labels]).toEqual([undefined, undefined]);
  });

  it("brat keeps attributes and relations and says the labels were left out", async () => {
    const { db, project } = await projectWithImport();
    const result = await exportAnnotations(db, project.id, "P", { origin: "import", format: "brat" });
    expect(result.warnings).toEqual(["brat has no place for document labels: those of 1 note were left out (JSONL keeps them)"]);
    const files = unzipSync(result.bytes);
    const [note] = parseBrat({ name: "n1.txt", text: strFromU8(files["P-import/n1.txt"]) }, { name: "n1.ann", text: strFromU8(files["P-import/n1.ann"]) });
    expect(note.spans?.[2].attributes).toEqual({ certainty: "negative" });
    expect(note.relations).toEqual(RECORD.relations);
  });

  it("CoNLL says which of attributes, relations and labels it left out", async () => {
    const { db, project } = await projectWithImport();
    const result = await exportAnnotations(db, project.id, "P", { origin: "import", format: "conll" });
    expect(result.warnings).toEqual([
      "CoNLL has no place for entity attributes: those of 1 note were left out (JSONL keeps them)",
      "CoNLL has no place for relations: those of 1 note were left out (JSONL keeps them)",
      "CoNLL has no place for document labels: those of 1 note were left out (JSONL keeps them)",
    ]);
  });
});
