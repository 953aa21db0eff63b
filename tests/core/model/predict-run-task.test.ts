// The Extract step with a second, task model: an attribute or relation model labels the
// spans the entity model found, a document-label model labels each note (alone). Each note's
// row (origin "model", the run's id) carries what the stored task model predicts on those
// spans, and a resumed run skips the notes it saved.

import { describe, expect, it } from "vitest";
import type { Span } from "../../../src/core/corpus/types.ts";
import { SettingError } from "../../../src/core/errors.ts";
import type { Predictor } from "../../../src/core/model/predict.ts";
import { runInference } from "../../../src/core/model/predict-run.ts";
import { listAnnotations } from "../../../src/core/store/annotations.ts";
import { getRun } from "../../../src/core/store/runs.ts";
import { predictStoredTaskModel, storedTaskOf } from "../../../src/core/train/task-predict.ts";
import type { HeadTask } from "../../../src/core/train/tasks.ts";
import { setupTaskProject, trainTaskBriefly } from "../train/task-run-fixtures.ts";

type Fixture = Awaited<ReturnType<typeof setupTaskProject>>;

/** A task model trained briefly on the pool notes' LLM annotations. */
const trainTask = async (f: Fixture, task: HeadTask) => (await trainTaskBriefly(f, task)).modelId;

/** An entity model that finds each gold note's entities (no attributes), and records the texts it is given. */
function goldEntityPredictor(f: Fixture): Predictor & { seen: string[] } {
  const spansOf = new Map(f.gold.map((note) => [note.text, note.spans.map(({ attributes: _, ...span }): Span => span)]));
  const seen: string[] = [];
  return {
    seen,
    labels: [],
    maxLength: 32,
    async predict(texts) {
      seen.push(...texts);
      return texts.map((text) => spansOf.get(text) ?? []);
    },
    predictTokens: () => Promise.reject(new Error("not used")),
    release: async () => {},
  };
}

/** The run's rows in gold-note order, and what the stored task model predicts on the same spans. */
async function rowsAndDirect(f: Fixture, runId: string, taskModelId: string, spans: (note: number) => Span[]) {
  const rows = await listAnnotations(f.db, f.projectId, "model", runId);
  const byNote = new Map(rows.map((row) => [row.noteId, row]));
  const ordered = f.goldIds.map((id) => byNote.get(id)!);
  const adaptation = (await storedTaskOf(f.db, taskModelId))!;
  const direct = await predictStoredTaskModel(f.db, taskModelId, adaptation, f.gold.map((note, i) => ({ text: note.text, spans: spans(i) })));
  return { rows, ordered, direct };
}

describe("runInference with a task model", () => {
  it("stores each span's predicted attributes, and a resumed run skips the notes it saved", async () => {
    const f = await setupTaskProject({ pool: 8, gold: 6 });
    const taskModelId = await trainTask(f, { kind: "attributes" });
    const entities = goldEntityPredictor(f);
    const request = { projectId: f.projectId, modelId: f.baseModelId, taskModelId, split: "gold" as const, notesPerChunk: 2 };

    const first = await runInference(f.db, { ...request, noteIds: f.goldIds.slice(0, 4) }, { predictor: entities });
    expect(first).toMatchObject({ done: 4, skipped: 0, cancelled: false });
    const second = await runInference(f.db, { ...request, runId: first.runId }, { predictor: entities });
    expect(second).toMatchObject({ runId: first.runId, done: 6, total: 6, skipped: 4, cancelled: false });
    // The notes saved by the first attempt were not given to the entity model again.
    expect(entities.seen).toEqual(f.gold.map((note) => note.text));
    expect((await getRun(f.db, first.runId)).config).toMatchObject({ modelId: f.baseModelId, taskModelId });

    const plain = (i: number) => f.gold[i].spans.map(({ attributes: _, ...span }) => span);
    const { rows, ordered, direct } = await rowsAndDirect(f, first.runId, taskModelId, plain);
    expect(rows).toHaveLength(6);
    if (direct.kind !== "attributes") throw new Error(`expected attributes, got ${direct.kind}`);
    ordered.forEach((row, i) => {
      expect(row.spans.map(({ start, end, type }) => ({ start, end, type }))).toEqual(plain(i).map(({ start, end, type }) => ({ start, end, type })));
      // Every Disease span gets a certainty; Chemical spans have no attribute.
      row.spans.forEach((span, j) => {
        expect(span.attributes).toEqual(direct.attributes[i].get(j));
        if (span.type === "Disease") expect(["positive", "negative"]).toContain(span.attributes?.certainty);
      });
    });
    expect(second.attributes + first.attributes).toBe(f.gold.flatMap((note) => note.spans).filter((s) => s.type === "Disease").length);
  });

  it("stores the relations a relation model finds between the entity model's spans", async () => {
    const f = await setupTaskProject({ pool: 8, gold: 4 });
    const taskModelId = await trainTask(f, { kind: "relations" });
    const summary = await runInference(f.db, { projectId: f.projectId, modelId: f.baseModelId, taskModelId, split: "gold" }, { predictor: goldEntityPredictor(f) });
    const plain = (i: number) => f.gold[i].spans.map(({ attributes: _, ...span }) => span);
    const { ordered, direct } = await rowsAndDirect(f, summary.runId, taskModelId, plain);
    if (direct.kind !== "relations") throw new Error(`expected relations, got ${direct.kind}`);
    ordered.forEach((row, i) => expect(row.relations).toEqual(direct.relations[i]));
    expect(summary.relations).toBe(direct.relations.flat().length);
  });

  it("labels each note with a document-label model alone, without an entity model", async () => {
    const f = await setupTaskProject({ pool: 8, gold: 4 });
    const taskModelId = await trainTask(f, { kind: "document", label: "status" });
    const summary = await runInference(f.db, { projectId: f.projectId, taskModelId, split: "gold" });
    expect(summary).toMatchObject({ done: 4, spans: 0, labels: 4 });
    const { ordered, direct } = await rowsAndDirect(f, summary.runId, taskModelId, () => []);
    if (direct.kind !== "document") throw new Error(`expected labels, got ${direct.kind}`);
    ordered.forEach((row, i) => {
      expect(row.spans).toEqual([]);
      expect(row.labels).toEqual(direct.labels[i]);
      expect(["active", "resolved"]).toContain(row.labels?.status[0]);
    });
  });

  it("refuses an attribute model without an entity model to find the spans", async () => {
    const f = await setupTaskProject({ pool: 8, gold: 2 });
    const taskModelId = await trainTask(f, { kind: "attributes" });
    const run = runInference(f.db, { projectId: f.projectId, taskModelId, split: "gold" });
    await expect(run).rejects.toThrow(SettingError);
    await expect(run).rejects.toThrow(/choose an entity model/);
  });
});
