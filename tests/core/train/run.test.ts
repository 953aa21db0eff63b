// The training run against the store: it trains on the pool notes' LLM annotations only
// (gold excluded), keeps checkpoints in the adapted model's row, resumes from the last one
// with the step counter going on, and leaves a complete model that the app's predictor runs.
// A GPU lost mid-run leaves the run resumable at its last checkpoint, on WebAssembly.

import { describe, expect, it } from "vitest";
import { DeviceLostError } from "../../../src/core/errors.ts";
import { readModelFolder } from "../../../src/core/model/folder.ts";
import { loadStoredPredictor } from "../../../src/core/model/predict-run.ts";
import { getModel, getModelFile } from "../../../src/core/store/models.ts";
import { getRun, listRuns } from "../../../src/core/store/runs.ts";
import { planTraining } from "../../../src/core/train/run-data.ts";
import {
  defaultHyperparameters,
  requestPause,
  runTraining,
  startTrainingRun,
  type Adaptation,
  type TrainProgress,
  type TrainProgressEvent,
  type TrainRunRequest,
} from "../../../src/core/train/run.ts";
import type { SessionFactory } from "../../../src/core/train/ort-session.ts";
import { gpuLostAt } from "./gpu-lost.ts";
import { setupProject } from "./run-fixtures.ts";

function request(fixture: { projectId: string; baseModelId: string }, hyper: Partial<TrainRunRequest["hyper"]> = {}): TrainRunRequest {
  return {
    projectId: fixture.projectId,
    baseModelId: fixture.baseModelId,
    source: "llm",
    minConfidence: 0.5,
    weightByConfidence: true,
    hyper: { ...defaultHyperparameters(1000, 64), epochs: 2, batchSize: 4, lr: 3e-3, maxLength: 32, ...hyper },
  };
}

describe("training plan", () => {
  it("takes pool notes with LLM spans, excludes gold notes, and holds out dev notes when there are none", async () => {
    const f = await setupProject({ pool: 24, gold: 6 });
    const plan = await planTraining(f.db, f.projectId, "llm");
    expect(plan.counts).toMatchObject({ poolNotes: 24, llmNotes: 24, humanNotes: 0, goldNotesExcluded: 6, devNotesExcluded: 0 });
    expect(plan.devKind).toBe("held-out");
    expect(plan.devNoteIds.length).toBe(2);
    expect(plan.trainNoteIds.length).toBe(22);
    expect(plan.trainNoteIds.some((id) => f.goldIds.includes(id))).toBe(false);
    expect(plan.annotators).toEqual([{ runId: f.llmRunId, backend: "endpoint", model: "lexicon-7b", promptHash: "abc123", notes: 24 }]);
    expect((await planTraining(f.db, f.projectId, "human")).trainNoteIds).toEqual([]);
  });
});

describe("a training run", () => {
  it("trains, scores dev per epoch, and stores a complete adapted model", async () => {
    const f = await setupProject();
    const run = await startTrainingRun(f.db, request(f));
    const events: TrainProgressEvent[] = [];
    const summary = await runTraining(f.db, run.id, { onProgress: (e) => events.push(e) });
    expect(summary.status).toBe("done");
    const stored = await getRun(f.db, run.id);
    expect(stored.status).toBe("done");
    const progress = stored.progress as TrainProgress;
    expect(progress.step).toBe(progress.totalSteps);
    expect(progress.losses.length).toBe(progress.totalSteps);
    expect(progress.dev.map((d) => d.epoch)).toEqual([1, 2]);
    expect(events.filter((e) => e.point).map((e) => e.point!.step)).toEqual(Array.from({ length: progress.totalSteps }, (_, i) => i + 1));
    expect(events.at(-1)!.tokensPerSecond).toBeGreaterThan(0);

    const model = await getModel(f.db, summary.modelId);
    expect(model.kind).toBe("trained");
    expect(Object.keys(model.files).sort()).toEqual(
      ["adaptation.json", "config.json", "model.safetensors", "onnx/model.onnx", "tokenizer.json", "tokenizer_config.json"].sort(),
    );
    const adaptation = JSON.parse(new TextDecoder().decode(await getModelFile(f.db, model.id, "adaptation.json"))) as Adaptation;
    expect(adaptation.counts.goldNotesExcluded).toBe(6);
    expect(adaptation.annotators[0].promptHash).toBe("abc123");
    expect(adaptation.baseModel.name).toBe("tiny source");
    const files = new Map<string, Uint8Array>();
    for (const name of Object.keys(model.files)) files.set(name, await getModelFile(f.db, model.id, name));
    expect(readModelFolder(files).config.labels).toEqual(["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"]);
    const predictor = await loadStoredPredictor(f.db, model.id);
    expect((await predictor.predict(["Patient with sepsis started on heparin today."])).length).toBe(1);
    await predictor.release();
    expect((await listRuns(f.db, f.projectId, "train")).length).toBe(1);
  });

  it("learns: the loss falls over a longer run", async () => {
    const f = await setupProject();
    const run = await startTrainingRun(f.db, request(f, { epochs: 6, patience: 0 }));
    await runTraining(f.db, run.id);
    const { losses } = (await getRun(f.db, run.id)).progress as TrainProgress;
    const mean = (xs: { loss: number }[]) => xs.reduce((s, x) => s + x.loss, 0) / xs.length;
    expect(mean(losses.slice(-5))).toBeLessThan(0.7 * mean(losses.slice(0, 5)));
  });

  it("pauses at a checkpoint and resumes from it: the step counter goes on", async () => {
    const f = await setupProject();
    const run = await startTrainingRun(f.db, request(f, { epochs: 2, checkpointEvery: 2 }));
    const first = await runTraining(f.db, run.id, {
      onProgress: (e) => {
        if (e.point?.step === 3) requestPause(run.id);
      },
    });
    expect(first.status).toBe("paused");
    expect(first.steps).toBe(3);
    const paused = await getRun(f.db, run.id);
    expect(paused.status).toBe("paused");
    expect((paused.progress as TrainProgress).checkpointStep).toBe(3);
    expect("checkpoint.safetensors" in (await getModel(f.db, first.modelId)).files).toBe(true);

    const steps: number[] = [];
    const second = await runTraining(f.db, run.id, { onProgress: (e) => e.point && steps.push(e.point.step) });
    expect(second.status).toBe("done");
    expect(steps[0]).toBe(4);
    const done = (await getRun(f.db, run.id)).progress as TrainProgress;
    expect(done.resumedFrom).toBe(3);
    expect(done.losses.map((p) => p.step)).toEqual(Array.from({ length: done.totalSteps }, (_, i) => i + 1));
    expect("checkpoint.safetensors" in (await getModel(f.db, first.modelId)).files).toBe(false);
  });

  it("resumes from the last checkpoint after an interruption, dropping the steps after it", async () => {
    const f = await setupProject();
    const run = await startTrainingRun(f.db, request(f, { epochs: 2, checkpointEvery: 2 }));
    const controller = new AbortController();
    const first = await runTraining(f.db, run.id, {
      signal: controller.signal,
      onProgress: (e) => {
        if (e.point?.step === 5) controller.abort();
      },
    });
    expect(first.status).toBe("cancelled");
    const cut = (await getRun(f.db, run.id)).progress as TrainProgress;
    expect(cut.checkpointStep).toBe(4);
    const steps: number[] = [];
    await runTraining(f.db, run.id, { onProgress: (e) => e.point && steps.push(e.point.step) });
    expect(steps[0]).toBe(5);
    const done = (await getRun(f.db, run.id)).progress as TrainProgress;
    expect(done.losses.map((p) => p.step)).toEqual(Array.from({ length: done.totalSteps }, (_, i) => i + 1));
  });

  it("trains LoRA factors and ships merged weights", async () => {
    const f = await setupProject();
    const run = await startTrainingRun(f.db, request(f, { epochs: 1, mode: "lora", loraRank: 2 }));
    const summary = await runTraining(f.db, run.id);
    const model = await getModel(f.db, summary.modelId);
    const files = new Map<string, Uint8Array>();
    for (const name of Object.keys(model.files)) files.set(name, await getModelFile(f.db, model.id, name));
    const folder = readModelFolder(files);
    expect([...folder.weights!.keys()].some((name) => name.includes("lora"))).toBe(false);
  });

  it("refuses a run with no annotated pool notes", async () => {
    const f = await setupProject();
    await expect(startTrainingRun(f.db, { ...request(f), source: "human" })).rejects.toThrow(/human annotation/);
  });
});

describe("a GPU lost during training", () => {
  const hyper = { epochs: 2, checkpointEvery: 2 };

  /** The losses of the same run on WebAssembly throughout. */
  async function wasmOnlyLosses(f: Awaited<ReturnType<typeof setupProject>>): Promise<number[]> {
    const run = await startTrainingRun(f.db, request(f, hyper));
    await runTraining(f.db, run.id, { backend: "wasm" });
    return ((await getRun(f.db, run.id)).progress as TrainProgress).losses.map((p) => p.loss);
  }

  it("leaves the run resumable at its last checkpoint; resumed on WebAssembly it finishes with the losses of a run that never left it", async () => {
    const f = await setupProject();
    const expected = await wasmOnlyLosses(f);
    const run = await startTrainingRun(f.db, request(f, hyper));
    // Steps 1-4 on the "GPU" (checkpoints at 2 and 4), lost during step 5.
    const gpu = gpuLostAt(5);
    const events: TrainProgressEvent[] = [];
    const onProgress = (e: TrainProgressEvent) => events.push(e);
    await expect(runTraining(f.db, run.id, { backend: "webgpu", createSession: gpu.createSession, onProgress })).rejects.toBeInstanceOf(DeviceLostError);

    const lost = await getRun(f.db, run.id);
    expect(lost.status, "not failed: resumable").toBe("running");
    const fallback = { from: "webgpu", to: "wasm", lostAfterStep: 4, resumedFrom: 4, message: 'The GPU stopped (device lost, reason "unknown"): GPU process exited.' };
    expect((lost.progress as TrainProgress).fallbacks).toEqual([fallback]);
    expect((lost.progress as TrainProgress).checkpointStep).toBe(4);
    expect(gpu.backends.every((backend) => backend === "webgpu")).toBe(true);

    // What the app does next (in a fresh worker): the same run on WebAssembly.
    const summary = await runTraining(f.db, run.id, { backend: "wasm", createSession: gpu.createSession, onProgress });
    expect(summary.status).toBe("done");
    const done = await getRun(f.db, run.id);
    expect(done.status).toBe("done");
    const progress = done.progress as TrainProgress;
    expect(progress.fallbacks).toEqual([fallback]);
    expect(progress.backend).toBe("wasm");
    expect(progress.resumedFrom).toBe(4);
    expect(gpu.backends.filter((backend) => backend === "wasm").length).toBeGreaterThan(0);
    // Steps 1-4 on the "GPU", then 5 onwards once on wasm: none repeated, none skipped.
    const steps = events.filter((e) => e.point).map((e) => e.point!.step);
    expect(steps).toEqual(Array.from({ length: progress.totalSteps }, (_, i) => i + 1));
    expect(events.filter((e) => e.point && e.point.step > 4).every((e) => e.backend === "wasm" && e.fallbacks?.length === 1)).toBe(true);
    // From the checkpoint on, the same losses as on wasm throughout: the state went on from step 4.
    expect(progress.losses.map((p) => p.loss)).toEqual(expected);

    const model = await getModel(f.db, summary.modelId);
    expect(Object.keys(model.files)).toEqual(expect.arrayContaining(["model.safetensors", "onnx/model.onnx", "adaptation.json"]));
    expect("checkpoint.safetensors" in model.files).toBe(false);
    const adaptation = JSON.parse(new TextDecoder().decode(await getModelFile(f.db, model.id, "adaptation.json"))) as Adaptation;
    expect(adaptation.backend).toBe("wasm");
    expect(adaptation.steps).toBe(progress.totalSteps);
  });

  it("goes on from step 0 when no checkpoint was written yet", async () => {
    const f = await setupProject();
    const expected = await wasmOnlyLosses(f);
    const run = await startTrainingRun(f.db, request(f, hyper));
    await expect(runTraining(f.db, run.id, { backend: "webgpu", createSession: gpuLostAt(2).createSession })).rejects.toBeInstanceOf(DeviceLostError);
    expect(((await getRun(f.db, run.id)).progress as TrainProgress).fallbacks).toMatchObject([{ from: "webgpu", to: "wasm", lostAfterStep: 1, resumedFrom: 0 }]);
    await runTraining(f.db, run.id, { backend: "wasm" });
    const progress = (await getRun(f.db, run.id)).progress as TrainProgress;
    expect(progress.resumedFrom).toBeNull();
    expect(progress.fallbacks).toHaveLength(1);
    expect(progress.losses.map((p) => p.loss)).toEqual(expected);
  });

  it("fails the run on any other error, with the error stored", async () => {
    const f = await setupProject();
    const run = await startTrainingRun(f.db, request(f, hyper));
    const broken: SessionFactory = async () => {
      throw new Error("out of memory");
    };
    await expect(runTraining(f.db, run.id, { backend: "webgpu", createSession: broken })).rejects.toThrow("out of memory");
    const failed = await getRun(f.db, run.id);
    expect(failed.status).toBe("failed");
    expect((failed.progress as TrainProgress).error).toEqual({ name: "Error", message: "out of memory" });
    expect((failed.progress as TrainProgress).fallbacks).toEqual([]);
  });
});
