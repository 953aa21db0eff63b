import { gzipSync, strToU8 } from "fflate";
import { describe, expect, it } from "vitest";
import { InputFileError } from "../../../src/core/errors.ts";
import { schemaWithTypes } from "../../../src/core/schema/types.ts";
import { annotationsForNote, putAnnotation } from "../../../src/core/store/annotations.ts";
import type { AppDatabase } from "../../../src/core/store/db.ts";
import { getNotes, importNotes, listNoteIds, setSplit, type HashedNote } from "../../../src/core/store/notes.ts";
import {
  PROJECT_FILE_FORMAT,
  exportProjectFile,
  importProjectFile,
  projectFileName,
} from "../../../src/core/store/project-file.ts";
import { createProject, getProject, listProjects } from "../../../src/core/store/projects.ts";
import { freshDatabase, hashed } from "./helpers.ts";

const TEXTS = [
  "患者は発熱と咳を訴えた。アスピリン100mg投与。",
  "Patient denies chest pain. Naïve to β-blockers; façade of calm 😷.",
  "Ремиссия. Без жалоб.",
];

/** Everything an export should carry, without ids, in a comparable shape. */
async function contents(db: AppDatabase, projectId: string) {
  const project = await getProject(db, projectId);
  const notes = await getNotes(db, await listNoteIds(db, projectId));
  const perNote = await Promise.all(
    notes.map(async (note) => ({
      externalId: note.externalId,
      text: note.text,
      split: note.split,
      sourceFile: note.sourceFile,
      hash: note.hash,
      annotations: (await annotationsForNote(db, note.id))
        .map((row) => ({
          origin: row.origin,
          runId: row.runId,
          spans: row.spans,
          relations: row.relations,
          labels: row.labels,
          meta: row.meta,
          projectId: row.projectId === projectId,
        }))
        .sort((a, b) => (a.origin + a.runId).localeCompare(b.origin + b.runId)),
    })),
  );
  return { name: project.name, language: project.language, schema: project.schema, notes: perNote };
}

async function sampleProject(db: AppDatabase, extraNotes = 0) {
  const schema = schemaWithTypes(["Symptom", "Drug"]);
  schema.guideline = "Mark symptoms — not negated ones — and drugs (薬剤).";
  schema.entityTypes[1].attributes = [{ name: "certainty", values: ["affirmed", "negated"], default: "affirmed" }];
  schema.relationTypes = [{ name: "Treats", from: ["Drug"], to: ["Symptom"], directed: true }];
  schema.documentLabels = [{ name: "urgency", values: ["low", "high"], multiple: false }];
  const project = await createProject(db, { name: "Discharge 退院 summaries", language: "ja", schema });
  const batch = [
    withRelationsAndLabels(
      hashed("ja-1", TEXTS[0], "notes.jsonl", [{ start: 5, end: 7, type: "Symptom" }, { start: 13, end: 18, type: "Drug", attributes: { certainty: "affirmed" } }]),
    ),
    hashed("en-1", TEXTS[1], "notes.jsonl", []),
    hashed("ru-1", TEXTS[2], "other.txt"),
    ...Array.from({ length: extraNotes }, (_, i) => hashed(`extra-${i}`, `Extra note ${i}\twith tab and "quotes"\nand a newline.`, "extra.csv")),
  ];
  const { noteIds } = await importNotes(db, project.id, "imp", batch);
  await setSplit(db, [noteIds[0]], "gold");
  await setSplit(db, [noteIds[2]], "dev");
  await putAnnotation(db, { noteId: noteIds[0], origin: "llm", runId: "run-1", spans: [{ start: 5, end: 7, type: "Symptom", confidence: 0.9 }], meta: { raw: '{"entities":[]}', unplaced: ["咳嗽"] } });
  await putAnnotation(db, {
    noteId: noteIds[0],
    origin: "human",
    spans: [{ start: 5, end: 7, type: "Symptom" }, { start: 13, end: 18, type: "Drug", attributes: { certainty: "negated" } }],
    relations: [{ type: "Treats", from: 1, to: 0 }],
    labels: { urgency: ["high"] },
  });
  for (let i = 3; i < noteIds.length; i += 2) {
    await putAnnotation(db, { noteId: noteIds[i], origin: "model", runId: "infer", spans: [{ start: 0, end: 5, type: "Drug" }] });
  }
  return project;
}

/** The imported annotation of the first note carries a relation (Drug → Symptom) and a label. */
function withRelationsAndLabels(note: HashedNote): HashedNote {
  note.note.relations = [{ type: "Treats", from: 1, to: 0 }];
  note.note.labels = { urgency: ["low"] };
  return note;
}

describe("project file", () => {
  it("round-trips a project into a new project with the same schema, notes, splits and spans", async () => {
    const db = freshDatabase();
    const original = await sampleProject(db);
    const file = await exportProjectFile(db, original.id);
    expect([file[0], file[1]]).toEqual([0x1f, 0x8b]);

    const copy = await importProjectFile(db, file, projectFileName(original));
    expect(copy.id).not.toBe(original.id);
    const expected = await contents(db, original.id);
    const actual = await contents(db, copy.id);
    expect(actual).toEqual(expected);
    expect(actual.notes.map((note) => note.text)).toEqual(TEXTS);
    expect(actual.notes.map((note) => note.split)).toEqual(["gold", "pool", "dev"]);
    expect(actual.notes[0].annotations.map((row) => row.origin)).toEqual(["human", "import", "llm"]);
    // Relations, labels and attributes came through (the comparison above would also pass if both lacked them).
    expect(actual.notes[0].annotations.map((row) => [row.relations, row.labels, row.spans[1]?.attributes])).toEqual([
      [[{ type: "Treats", from: 1, to: 0 }], { urgency: ["high"] }, { certainty: "negated" }],
      [[{ type: "Treats", from: 1, to: 0 }], { urgency: ["low"] }, { certainty: "affirmed" }],
      [undefined, undefined, undefined],
    ]);
    expect(actual.schema.relationTypes).toEqual([{ name: "Treats", from: ["Drug"], to: ["Symptom"], directed: true }]);

    // New note ids, and the originals are untouched.
    const originalIds = await listNoteIds(db, original.id);
    const copyIds = await listNoteIds(db, copy.id);
    expect(copyIds.some((id) => originalIds.includes(id))).toBe(false);
    expect(await listProjects(db)).toHaveLength(2);
  });

  it("round-trips across databases, through batches, with a new name when asked", async () => {
    const source = freshDatabase();
    const target = freshDatabase();
    const original = await sampleProject(source, 2500);
    const file = await exportProjectFile(source, original.id);
    const copy = await importProjectFile(target, file, "backup.project.jsonl.gz", { name: "Restored" });
    expect(copy.name).toBe("Restored");
    const { name: _a, ...expected } = await contents(source, original.id);
    const { name: _b, ...actual } = await contents(target, copy.id);
    expect(actual.notes).toHaveLength(2503);
    expect(actual).toEqual(expected);
    const imports = await target.imports.where("projectId").equals(copy.id).toArray();
    expect(imports).toMatchObject([{ files: ["backup.project.jsonl.gz"], notesAdded: 2503 }]);
  });

  function gz(lines: unknown[]): Uint8Array {
    return gzipSync(strToU8(lines.map((line) => (typeof line === "string" ? line : JSON.stringify(line))).join("\n")));
  }
  const header = { format: PROJECT_FILE_FORMAT, version: 1, exportedAt: "", notes: 1, annotations: 1 };
  const projectLine = { kind: "project", name: "P", language: "en", schema: schemaWithTypes(["X"]), createdAt: 0 };
  const noteLine = { kind: "note", id: 7, externalId: "n", text: "text", hash: "h", split: "pool", sourceFile: "f" };

  const bad: [string, Uint8Array, RegExp][] = [
    ["plain text", strToU8("id,text\n1,hello\n"), /not a project file/],
    ["gzip of other JSON lines", gz([{ id: 1, text: "a note" }]), /not a project file/],
    ["gzip of non-JSON", gz(["hello"]), /not a project file/],
    ["a newer format version", gz([{ ...header, version: 99 }, projectLine]), /newer version/],
    ["a truncated file", gzipSync(strToU8("x".repeat(10))).subarray(0, 12), /damaged|not a project file/],
    ["an empty archive", gz([]), /empty|no project/],
    ["a header only", gz([header]), /no project/],
    ["an annotation of a missing note", gz([header, projectLine, noteLine, { kind: "annotation", noteId: 8, origin: "llm", runId: "", spans: [] }]), /note 8/],
    ["a note with a bad split", gz([header, projectLine, { ...noteLine, split: "train" }]), /split/],
    [
      "a schema whose relation names a missing type",
      gz([header, { ...projectLine, schema: { ...projectLine.schema, relationTypes: [{ name: "R", from: ["X"], to: ["Y"], directed: true }] } }]),
      /line 2: the project's schema is not usable: relation type "R": goes to "Y", which is not an entity type of the schema/,
    ],
    [
      "a relation pointing past the annotation's spans",
      gz([header, projectLine, noteLine, { kind: "annotation", noteId: 7, origin: "llm", runId: "", spans: [{ start: 0, end: 4, type: "X" }], relations: [{ type: "R", from: 0, to: 1 }] }]),
      /line 4: an annotation of note 7: relation 1 needs a type and from\/to indexes into its 1 spans/,
    ],
    [
      "labels that are not lists",
      gz([header, projectLine, noteLine, { kind: "annotation", noteId: 7, origin: "llm", runId: "", spans: [], labels: { urgency: "high" } }]),
      /label "urgency" is not a list of values/,
    ],
  ];
  for (const [what, bytes, message] of bad) {
    it(`rejects ${what} with an error naming the file, and stores nothing`, async () => {
      const db = freshDatabase();
      const attempt = importProjectFile(db, bytes, "upload.bin");
      await expect(attempt).rejects.toBeInstanceOf(InputFileError);
      await expect(attempt).rejects.toThrow(/^upload\.bin/);
      await expect(attempt).rejects.toThrow(message);
      expect(await db.projects.count()).toBe(0);
      expect(await db.notes.count()).toBe(0);
      expect(await db.annotations.count()).toBe(0);
    });
  }

  it("names a safe file for a project", () => {
    expect(projectFileName({ name: 'a/b: "c"' })).toBe("a_b_ _c_.project.jsonl.gz");
    expect(projectFileName({ name: "  " })).toBe("project.project.jsonl.gz");
  });
});
