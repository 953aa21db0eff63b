// The stored training run of attribute, relation and document-label models: trained on the
// pool notes' LLM annotations (gold never), recorded (config, progress, provenance), stored
// as a complete model row, pausable and resumable at a checkpoint; its exported graph then
// scores the held-out gold notes (compareTaskModels), the base model being unable to.

import { describe, expect, it } from "vitest";
import { DeviceLostError } from "../../../src/core/errors.ts";
import { compareTaskModels, type TaskComparison } from "../../../src/core/eval/task-compare.ts";
import { readModelFolder } from "../../../src/core/model/folder.ts";
import type { Predictor } from "../../../src/core/model/predict.ts";
import { SPAN_HEAD_FIELD } from "../../../src/core/model/folder.ts";
import { getModel, getModelFile, isEntityModel, isTaskModel } from "../../../src/core/store/models.ts";
import { getRun } from "../../../src/core/store/runs.ts";
import { continueRun, startRun } from "../../../src/core/train/any-run.ts";
import { type Adaptation, type TrainProgress, type TrainProgressEvent, type TrainRunRequest, defaultHyperparameters, requestPause } from "../../../src/core/train/run.ts";
import type { TaskRunConfig } from "../../../src/core/train/task-run.ts";
import { type HeadTask, tasksOf } from "../../../src/core/train/tasks.ts";
import { gpuLostAt } from "./gpu-lost.ts";
import { TASK_SCHEMA, setupTaskProject } from "./task-run-fixtures.ts";

type TaskFixture = Awaited<ReturnType<typeof setupTaskProject>>;

function request(f: TaskFixture, task: HeadTask, hyper: Partial<TrainRunRequest["hyper"]> = {}): TrainRunRequest {
  return {
    projectId: f.projectId,
    baseModelId: f.baseModelId,
    source: "llm",
    minConfidence: 0,
    weightByConfidence: false,
    task,
    hyper: { ...defaultHyperparameters(1000, 64), epochs: 8, batchSize: 4, lr: 3e-3, maxLength: 32, patience: 0, ...hyper },
  };
}

async function storedFiles(f: TaskFixture, modelId: string): Promise<Map<string, Uint8Array>> {
  const model = await getModel(f.db, modelId);
  const files = new Map<string, Uint8Array>();
  for (const name of Object.keys(model.files)) files.set(name, await getModelFile(f.db, modelId, name));
  return files;
}

async function trainAndCompare(f: TaskFixture, task: HeadTask, hyper: Partial<TrainRunRequest["hyper"]> = {}) {
  const run = await startRun(f.db, request(f, task, hyper));
  const events: TrainProgressEvent[] = [];
  const summary = await continueRun(f.db, run.id, { onProgress: (e) => events.push(e) });
  const comparison: TaskComparison = await compareTaskModels(f.db, f.projectId, f.baseModelId, summary.modelId);
  return { run, summary, events, comparison, config: run.config as TaskRunConfig };
}

describe("the tasks a schema offers", () => {
  it("lists entities, then attributes, relations and each document label the schema has", () => {
    expect(tasksOf(TASK_SCHEMA)).toEqual([{ kind: "entities" }, { kind: "attributes" }, { kind: "relations" }, { kind: "document", label: "status" }]);
    expect(tasksOf({ ...TASK_SCHEMA, relationTypes: [], documentLabels: [], entityTypes: TASK_SCHEMA.entityTypes.map(({ attributes: _, ...t }) => t) })).toEqual([{ kind: "entities" }]);
  });
});

describe("a stored document-label run", () => {
  it("trains on pool notes only, records the run, stores a sequence classifier, and scores the gold notes", async () => {
    const f = await setupTaskProject();
    const { run, summary, events, comparison, config } = await trainAndCompare(f, { kind: "document", label: "status" }, { epochs: 16, lr: 1e-2 });
    expect(summary.status).toBe("done");
    expect(config.plan.trainNoteIds.some((id) => f.goldIds.includes(id))).toBe(false);
    expect(config.plan.devNoteIds.some((id) => f.goldIds.includes(id))).toBe(false);
    expect(config.choice).toEqual({ kind: "document", label: TASK_SCHEMA.documentLabels[0] });

    const progress = (await getRun(f.db, run.id)).progress as TrainProgress;
    expect(progress.step).toBe(progress.totalSteps);
    expect(events.filter((e) => e.point).map((e) => e.point!.step)).toEqual(Array.from({ length: progress.totalSteps }, (_, i) => i + 1));
    expect(progress.dev.map((d) => d.epoch)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));

    const model = await getModel(f.db, summary.modelId);
    expect(model.kind).toBe("trained");
    expect(model.labels).toEqual(["active", "resolved"]);
    // The NER steps (annotate, extract, the entity comparison) leave it out; the base model stays in.
    expect([isTaskModel(model), isEntityModel(model)]).toEqual([true, false]);
    expect(isTaskModel(await getModel(f.db, f.baseModelId))).toBe(false);
    const files = await storedFiles(f, summary.modelId);
    expect([...files.keys()].sort()).toEqual(["adaptation.json", "config.json", "model.safetensors", "onnx/model.onnx", "tokenizer.json", "tokenizer_config.json"]);
    const json = JSON.parse(new TextDecoder().decode(files.get("config.json")));
    expect([json.architectures, json.problem_type, json.id2label]).toEqual([["BertForSequenceClassification"], "single_label_classification", { 0: "active", 1: "resolved" }]);
    const adaptation = JSON.parse(new TextDecoder().decode(files.get("adaptation.json"))) as Adaptation;
    expect(adaptation.counts.goldNotesExcluded).toBe(12);
    expect(adaptation.task?.task).toEqual({ kind: "document", label: "status" });

    expect(comparison.goldNotes).toBe(12);
    expect(comparison.source).toBeNull();
    expect(comparison.sourceNote).toContain('"tiny source" has no head for document label "status"');
    const scores = comparison.adapted.scores;
    if (scores.kind !== "document") throw new Error("expected document scores");
    expect(scores.labels.status.notes).toBe(12);
    // A third of the gold notes are "resolved": always "active" would score 0.75 and macro-F1 0.43.
    expect([scores.labels.status.accuracy, scores.labels.status.macroF1]).toEqual([1, 1]);
  });
});

describe("stored attribute and relation runs", () => {
  it("train span heads, store them as the bare encoder plus the head, and score them on the gold entities", async () => {
    const f = await setupTaskProject();
    const attributes = await trainAndCompare(f, { kind: "attributes" });
    const files = await storedFiles(f, attributes.summary.modelId);
    const folder = readModelFolder(files);
    expect(folder.config.architectures).toEqual(["BertModel"]);
    expect(isTaskModel(await getModel(f.db, attributes.summary.modelId))).toBe(true);
    expect(folder.config.raw[SPAN_HEAD_FIELD]).toMatchObject({ kind: "attributes", attributes: [{ entity_type: "Disease", name: "certainty", values: ["positive", "negative"] }] });
    expect(folder.weights!.get("attribute_classifiers.0.weight")!.shape).toEqual([2, 16]);
    const a = attributes.comparison.adapted.scores;
    if (a.kind !== "attributes") throw new Error("expected attribute scores");
    // Every gold Disease is given (matched), and a quarter are negated: "positive" throughout would score 0.75.
    expect(a.attributes.certainty.matched).toBe(12);
    expect([a.attributes.certainty.accuracy, a.attributes.certainty.macroF1]).toEqual([1, 1]);
    expect(attributes.comparison.givenGoldEntities).toBe(true);

    const relations = await trainAndCompare(f, { kind: "relations" });
    const r = relations.comparison.adapted.scores;
    if (r.kind !== "relations") throw new Error("expected relation scores");
    // Half the candidate pairs are related: "Treats" for every pair would score P 0.5, F1 0.67.
    expect(r.relations.micro.recall).toBe(1);
    expect(r.relations.micro.precision).toBeGreaterThan(0.6);
    expect(r.relations.micro.f1).toBeGreaterThan(0.75);
    expect(readModelFolder(await storedFiles(f, relations.summary.modelId)).config.labels).toEqual(["none", "Treats"]);

    // A source of the same task (here the relation model itself) is scored too, alike.
    const again = await compareTaskModels(f.db, f.projectId, relations.summary.modelId, relations.summary.modelId);
    expect(again.sourceNote).toBeNull();
    expect(again.source!.scores).toEqual(again.adapted.scores);
  });
});

describe("end-to-end task scores", () => {
  it("score an attribute and a relation model on an entity model's spans: a missed entity costs its attribute and relation", async () => {
    const f = await setupTaskProject();
    // The "entity model": the gold spans, except the Disease of the first gold note with a relation, which it misses.
    const k = f.gold.findIndex((note) => note.relations.length > 0);
    const missed = f.gold[k].spans.findIndex((span) => span.type === "Disease");
    const found = f.gold.map((note, i) => note.spans.filter((_, s) => !(i === k && s === missed)).map(({ attributes: _, ...span }) => span));
    const entityPredictor = async (): Promise<Predictor> => ({
      labels: [],
      maxLength: 32,
      predict: async (texts) => texts.map((text) => found[f.gold.findIndex((note) => note.text === text)]),
      predictTokens: async () => [],
      release: async () => undefined,
    });
    const goldDiseases = f.gold.flatMap((note) => note.spans).filter((span) => span.type === "Disease").length;
    const goldRelations = f.gold.reduce((sum, note) => sum + note.relations.length, 0);
    const missedRelations = f.gold[k].relations.filter((relation) => relation.to === missed || relation.from === missed).length;
    expect(missedRelations).toBeGreaterThan(0);

    const attributes = await trainAndCompare(f, { kind: "attributes" });
    const a = await compareTaskModels(f.db, f.projectId, null, attributes.summary.modelId, { entityModelId: f.baseModelId, entityPredictor });
    expect(a.endToEnd?.entityModelId).toBe(f.baseModelId);
    if (a.endToEnd?.scores.kind !== "attributes" || a.adapted.scores.kind !== "attributes") throw new Error("expected attribute scores");
    // Given gold entities every value is right (see above); end to end, the missed Disease's value is a false negative.
    expect(a.adapted.scores.attributes.certainty.accuracy).toBe(1);
    const micro = a.endToEnd.scores.attributes.certainty.endToEnd.micro;
    expect([micro.tp, micro.fp, micro.fn]).toEqual([goldDiseases - 1, 0, 1]);

    const relations = await trainAndCompare(f, { kind: "relations" });
    const r = await compareTaskModels(f.db, f.projectId, null, relations.summary.modelId, { entityModelId: f.baseModelId, entityPredictor });
    if (r.endToEnd?.scores.kind !== "relations" || r.adapted.scores.kind !== "relations") throw new Error("expected relation scores");
    // The relations of the missed Disease cannot be found end to end: recall drops by exactly them.
    expect(r.adapted.scores.relations.micro.fn).toBe(0);
    expect(r.endToEnd.scores.relations.micro.fn).toBe(missedRelations);
    expect(r.endToEnd.scores.relations.micro.tp).toBe(goldRelations - missedRelations);
  });
});

describe("a task run paused and resumed", () => {
  it("checkpoints in the model row and goes on from the step after it", async () => {
    const f = await setupTaskProject({ pool: 16, gold: 4 });
    const run = await startRun(f.db, request(f, { kind: "attributes" }, { epochs: 2, checkpointEvery: 2 }));
    const first = await continueRun(f.db, run.id, { onProgress: (e) => e.point?.step === 3 && requestPause(run.id) });
    expect([first.status, first.steps]).toEqual(["paused", 3]);
    expect((await getRun(f.db, run.id)).status).toBe("paused");
    expect("checkpoint.safetensors" in (await getModel(f.db, first.modelId)).files).toBe(true);

    const steps: number[] = [];
    const second = await continueRun(f.db, run.id, { onProgress: (e) => e.point && steps.push(e.point.step) });
    expect(second.status).toBe("done");
    expect(steps[0]).toBe(4);
    const done = (await getRun(f.db, run.id)).progress as TrainProgress;
    expect(done.resumedFrom).toBe(3);
    expect(done.losses.map((p) => p.step)).toEqual(Array.from({ length: done.totalSteps }, (_, i) => i + 1));
    expect("checkpoint.safetensors" in (await getModel(f.db, first.modelId)).files).toBe(false);
  });

  it("after a lost GPU, stays resumable at its last checkpoint and finishes on WebAssembly with the steps in order", async () => {
    const f = await setupTaskProject({ pool: 16, gold: 4 });
    const run = await startRun(f.db, request(f, { kind: "relations" }, { epochs: 2, checkpointEvery: 2 }));
    const gpu = gpuLostAt(4); // steps 1-3 on the "GPU" (a checkpoint at 2), lost during step 4
    const steps: number[] = [];
    const onProgress = (e: TrainProgressEvent) => e.point && steps.push(e.point.step);
    await expect(continueRun(f.db, run.id, { backend: "webgpu", createSession: gpu.createSession, onProgress })).rejects.toBeInstanceOf(DeviceLostError);
    const lost = await getRun(f.db, run.id);
    expect(lost.status).toBe("running");
    expect((lost.progress as TrainProgress).fallbacks).toMatchObject([{ from: "webgpu", to: "wasm", lostAfterStep: 3, resumedFrom: 2 }]);

    const summary = await continueRun(f.db, run.id, { backend: "wasm", onProgress });
    expect(summary.status).toBe("done");
    const progress = (await getRun(f.db, run.id)).progress as TrainProgress;
    expect([progress.backend, progress.resumedFrom]).toEqual(["wasm", 2]);
    expect(steps).toEqual([1, 2, 3, ...Array.from({ length: progress.totalSteps - 2 }, (_, i) => i + 3)]);
    expect(progress.losses.map((p) => p.step)).toEqual(Array.from({ length: progress.totalSteps }, (_, i) => i + 1));
  });

  it("refuses a document label the schema does not have", async () => {
    const f = await setupTaskProject({ pool: 4, gold: 1 });
    await expect(startRun(f.db, request(f, { kind: "document", label: "stage" }))).rejects.toThrow('document label "stage": the schema no longer has it');
  });
});
