// Training and evaluation off the main thread: a run of any task (new or resumed) with progress out and
// pause/cancel in, learning curves, source-vs-adapted comparisons on the gold notes, model
// uploads, and model downloads from a Hub (off the page's thread; this worker runs under the
// page's policy).
import "./bind-policy.ts";
import * as ort from "onnxruntime-web";
import "./ort-wasm.ts";
import { compareStoredModels } from "../src/core/eval/compare.ts";
import { compareTaskModels } from "../src/core/eval/task-compare.ts";
import { storeHubModel } from "../src/core/model/hub.ts";
import { storeModelFiles, type StoredModel } from "../src/core/model/load.ts";
import { openDatabase, type AppDatabase } from "../src/core/store/db.ts";
import { addEvaluation } from "../src/core/store/runs.ts";
import { runLearningCurve, startLearningCurve } from "../src/core/train/curve.ts";
import { continueRun, startRun } from "../src/core/train/any-run.ts";
import { requestPause } from "../src/core/train/run.ts";
import { serve } from "./protocol.ts";
import type { CompareCall, CompareTaskCall, CurveCall, DownloadModelCall, PauseCall, StoreModelCall, StoredModelReply, TrainCall } from "./train-api.ts";

/** Each call opens the database by name (the page and tests choose it) and closes it when done. */
async function withDatabase<T>(databaseName: string, action: (db: AppDatabase) => Promise<T>): Promise<T> {
  const db = openDatabase(databaseName);
  try {
    return await action(db);
  } finally {
    db.close();
  }
}

function useThreads(numThreads: number | undefined): void {
  if (numThreads !== undefined) ort.env.wasm.numThreads = numThreads;
}

serve({
  train(call: TrainCall, { progress, signal }) {
    useThreads(call.numThreads);
    return withDatabase(call.databaseName, async (db) => {
      const runId = "runId" in call ? call.runId : (await startRun(db, call.request)).id;
      return continueRun(db, runId, { backend: call.backend, signal, onProgress: progress });
    });
  },

  curve(call: CurveCall, { progress, signal }) {
    useThreads(call.numThreads);
    return withDatabase(call.databaseName, async (db) => {
      const curveRunId = "curveRunId" in call ? call.curveRunId : (await startLearningCurve(db, call.request)).id;
      return runLearningCurve(db, curveRunId, { backend: call.backend, signal, onProgress: progress });
    });
  },

  pause({ runId }: PauseCall) {
    requestPause(runId);
  },

  compare({ databaseName, projectId, sourceModelId, adaptedModelId, runId }: CompareCall, { progress, signal }) {
    return withDatabase(databaseName, async (db) => {
      const comparison = await compareStoredModels(db, projectId, sourceModelId, adaptedModelId, { signal, onProgress: progress });
      await addEvaluation(db, { projectId, runId: runId ?? "", modelId: adaptedModelId, metrics: comparison });
      return comparison;
    });
  },

  compareTask({ databaseName, projectId, sourceModelId, adaptedModelId, entityModelId, runId }: CompareTaskCall, { progress, signal }) {
    return withDatabase(databaseName, async (db) => {
      const comparison = await compareTaskModels(db, projectId, sourceModelId, adaptedModelId, { signal, onProgress: progress, ...(entityModelId ? { entityModelId } : {}) });
      await addEvaluation(db, { projectId, runId: runId ?? "", modelId: adaptedModelId, metrics: comparison });
      return comparison;
    });
  },

  storeModel({ databaseName, files, name, projectId }: StoreModelCall): Promise<StoredModelReply> {
    return withDatabase(databaseName, async (db) => {
      const zip = files.length === 1 && files[0].name.toLowerCase().endsWith(".zip") ? files[0] : undefined;
      const input = zip
        ? { zip: new Uint8Array(await zip.file.arrayBuffer()), fileName: zip.name }
        : new Map(await Promise.all(files.map(async ({ name, file }) => [name, new Uint8Array(await file.arrayBuffer())] as const)));
      return replyOf(await storeModelFiles(db, input, { name, kind: "uploaded", projectId }));
    });
  },

  downloadModel({ databaseName, reference, plan }: DownloadModelCall, { progress, signal }): Promise<StoredModelReply> {
    return withDatabase(databaseName, async (db) =>
      replyOf(await storeHubModel(db, { plan, reference, fetch: globalThis.fetch.bind(globalThis), signal, onProgress: progress })),
    );
  },
});

function replyOf(stored: StoredModel): StoredModelReply {
  return { modelId: stored.model.id, runnable: stored.runnable, reason: stored.reason };
}
