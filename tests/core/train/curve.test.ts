// The learning curve against the store: nested subsets of the training notes, one training
// run per point (gold never trained on), each point's model scored then deleted, and a curve
// cut off by a cancel that resumes without redoing what it had.

import { describe, expect, it } from "vitest";
import { SettingError } from "../../../src/core/errors.ts";
import { listModels } from "../../../src/core/store/models.ts";
import { getRun, listRuns } from "../../../src/core/store/runs.ts";
import { curveSizes, normalizeSizes, runLearningCurve, startLearningCurve, type CurveProgress, type CurveRequest } from "../../../src/core/train/curve.ts";
import { planTraining, subsetOfPlan } from "../../../src/core/train/run-data.ts";
import { defaultHyperparameters, type TrainRunConfig } from "../../../src/core/train/run.ts";
import { thrownBy } from "../../helpers.ts";
import { setupProject } from "./run-fixtures.ts";
import { setupTaskProject } from "./task-run-fixtures.ts";

function curveRequest(fixture: { projectId: string; baseModelId: string }, sizes: number[]): CurveRequest {
  return {
    projectId: fixture.projectId,
    baseModelId: fixture.baseModelId,
    source: "llm",
    minConfidence: 0,
    weightByConfidence: false,
    hyper: { ...defaultHyperparameters(1000, 64), epochs: 1, batchSize: 4, lr: 3e-3, maxLength: 32 },
    sizes,
    seed: 7,
  };
}

describe("learning-curve sizes", () => {
  it("offers the ladder below the training notes, then all of them", () => {
    expect(curveSizes(60)).toEqual([5, 10, 25, 50, 60]);
    expect(curveSizes(10)).toEqual([5, 10]);
    expect(curveSizes(3)).toEqual([3]);
    expect(curveSizes(0)).toEqual([]);
  });

  it("sorts, de-duplicates and caps sizes at the notes there are, and names a bad one", () => {
    expect(normalizeSizes([50, 10, 10, 400], 120)).toEqual([10, 50, 120]);
    const error = thrownBy(SettingError, () => normalizeSizes([10, 0, 2.5], 120));
    expect(error.message).toBe("Learning-curve sizes: each size must be a whole number of notes above 0 (not 0, 2.5).");
  });
});

describe("training subsets", () => {
  it("draws nested subsets of the training notes, the same for the same seed, dev unchanged", async () => {
    const f = await setupProject({ pool: 24, gold: 6 });
    const plan = await planTraining(f.db, f.projectId, "llm");
    const small = subsetOfPlan(plan, { limit: 5, seed: 3 });
    const large = subsetOfPlan(plan, { limit: 12, seed: 3 });
    expect(small.trainNoteIds).toHaveLength(5);
    expect(large.trainNoteIds).toHaveLength(12);
    expect(small.trainNoteIds.every((id) => large.trainNoteIds.includes(id))).toBe(true);
    expect(large.trainNoteIds.every((id) => plan.trainNoteIds.includes(id))).toBe(true);
    expect(subsetOfPlan(plan, { limit: 5, seed: 3 }).trainNoteIds).toEqual(small.trainNoteIds);
    expect(subsetOfPlan(plan, { limit: 5, seed: 4 }).trainNoteIds).not.toEqual(small.trainNoteIds);
    expect(small.devNoteIds).toEqual(plan.devNoteIds);
    expect(small.subset).toEqual({ limit: 5, seed: 3, of: plan.trainNoteIds.length });
  });
});

describe("a learning curve", () => {
  it("trains one run per size on nested pool subsets, scores each on gold next to the source, and keeps no point models", async () => {
    const f = await setupProject({ pool: 24, gold: 6 });
    const modelsBefore = (await listModels(f.db)).length;
    const curve = await startLearningCurve(f.db, curveRequest(f, [5, 40, 10]));
    const phases: CurveProgress["phase"][] = [];
    const result = await runLearningCurve(f.db, curve.id, { onProgress: (p) => phases.push(p.phase) });

    // 40 is more than the 22 training notes (24 pool, 2 held out for dev): it becomes all of them.
    expect(result.points.map((point) => point.nNotes)).toEqual([5, 10, 22]);
    expect(result.source?.modelId).toBe(f.baseModelId);
    for (const point of [result.source!, ...result.points]) {
      expect(point.metrics.strictF1).toBeGreaterThanOrEqual(0);
      expect(point.metrics.strictF1).toBeLessThanOrEqual(point.metrics.lenientF1);
    }
    expect(phases[0]).toBe("source");
    expect(phases.filter((phase) => phase === "score")).toHaveLength(3);

    const runs = (await listRuns(f.db, f.projectId, "train")).map((run) => run.config as TrainRunConfig);
    expect(runs.map((config) => config.plan.trainNoteIds.length).sort((a, b) => a - b)).toEqual([5, 10, 22]);
    for (const config of runs) {
      expect(config.curveRunId).toBe(curve.id);
      expect(config.plan.trainNoteIds.some((id) => f.goldIds.includes(id))).toBe(false);
    }
    const [five, ten] = [5, 10].map((n) => runs.find((config) => config.plan.trainNoteIds.length === n)!.plan.trainNoteIds);
    expect(five.every((id) => ten.includes(id))).toBe(true);
    // Fewer notes, fewer steps (one epoch, batch 4).
    expect(result.points.map((point) => point.steps)).toEqual([2, 3, 6]);
    expect((await listModels(f.db)).length).toBe(modelsBefore);
    expect((await getRun(f.db, curve.id)).status).toBe("done");
  });

  it("stops on cancel and resumes without redoing a scored point", async () => {
    const f = await setupProject({ pool: 24, gold: 6 });
    const curve = await startLearningCurve(f.db, curveRequest(f, [5, 10]));
    const controller = new AbortController();
    const cut = await runLearningCurve(f.db, curve.id, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === "train" && p.index === 1) controller.abort();
      },
    });
    expect(cut.points.map((point) => point.nNotes)).toEqual([5]);
    expect((await getRun(f.db, curve.id)).status).toBe("cancelled");

    const trainedBefore = (await listRuns(f.db, f.projectId, "train")).length;
    const phases: [CurveProgress["phase"], number][] = [];
    const done = await runLearningCurve(f.db, curve.id, { onProgress: (p) => phases.push([p.phase, p.nNotes]) });
    expect(done.points.map((point) => point.nNotes)).toEqual([5, 10]);
    expect(done.points[0]).toEqual(cut.points[0]);
    // The source is not scored again, and the 10-note point reuses its training run.
    expect(phases.some(([phase]) => phase === "source")).toBe(false);
    expect(phases.every(([, n]) => n === 10)).toBe(true);
    expect((await listRuns(f.db, f.projectId, "train")).length).toBe(trainedBefore);
    expect((await getRun(f.db, curve.id)).status).toBe("done");
  });

  it("trains a document-label head per point when the Train step's task is one, scored by the task's F1, with no source row", async () => {
    const f = await setupTaskProject();
    const request = { ...curveRequest(f, [4, 1000]), task: { kind: "document", label: "status" } as const };
    request.hyper = { ...request.hyper, epochs: 16, lr: 1e-2, patience: 0 };
    const curve = await startLearningCurve(f.db, request);
    const phases: CurveProgress["phase"][] = [];
    const result = await runLearningCurve(f.db, curve.id, { onProgress: (p) => phases.push(p.phase) });

    expect(result.source).toBeNull();
    expect(phases).not.toContain("source");
    const runs = (await listRuns(f.db, f.projectId, "train")).map((run) => run.config as TrainRunConfig);
    expect(runs.map((config) => [config.task, config.plan.trainNoteIds.length]).sort((a, b) => (a[1] as number) - (b[1] as number))).toEqual([
      [{ kind: "document", label: "status" }, 4],
      [{ kind: "document", label: "status" }, result.points[1].nNotes],
    ]);
    for (const point of result.points) expect(Object.keys(point.metrics).sort()).toEqual(["f1", "precision", "recall"]);
    // All the training notes: the same run as task-run.test.ts's, which labels every gold note right.
    expect(result.points[1].metrics.f1).toBe(1);
    expect(result.points[0].metrics.f1).toBeLessThanOrEqual(1);
    expect((await listModels(f.db)).filter((model) => model.kind === "trained")).toEqual([]);
  });

  it("refuses a curve for a task the schema does not have before training anything", async () => {
    const f = await setupTaskProject();
    const request = { ...curveRequest(f, [4]), task: { kind: "document", label: "stage" } as const };
    await expect(startLearningCurve(f.db, request)).rejects.toThrow('document label "stage"');
    expect(await listRuns(f.db, f.projectId, "curve")).toEqual([]);
  });
});
