// The page's handles on its workers, created on first use.
import { WorkerClient } from "../../workers/protocol.ts";

let importClient: WorkerClient | undefined;

export function importWorker(): WorkerClient {
  importClient ??= new WorkerClient(
    new Worker(new URL("../../workers/import.worker.ts", import.meta.url), { type: "module", name: "import" }),
  );
  return importClient;
}

/**
 * A fresh Worker for the local LLM (workers/llm.worker.ts). WebLLM speaks its own protocol
 * to it (`CreateWebWorkerMLCEngine`), so this hands out the Worker, not a WorkerClient;
 * one model per worker, and unloading terminates it to free the GPU memory.
 */
export function llmWorker(): Worker {
  return new Worker(new URL("../../workers/llm.worker.ts", import.meta.url), { type: "module", name: "llm" });
}

let trainClient: WorkerClient | undefined;
let trainNative: Worker | undefined;

/** Training, the source-vs-adapted comparison, and model uploads (workers/train.worker.ts). */
export function trainWorker(): WorkerClient {
  if (!trainClient) {
    trainNative = new Worker(new URL("../../workers/train.worker.ts", import.meta.url), { type: "module", name: "train" });
    trainClient = new WorkerClient(trainNative);
  }
  return trainClient;
}

/**
 * Ends the training worker and the onnxruntime-web in it; the next trainWorker() starts a
 * fresh one. For a worker whose onnxruntime is stuck on a lost GPU device. Calls still
 * waiting there are rejected with `reason`.
 */
export function replaceTrainWorker(reason: Error): void {
  trainNative?.terminate();
  trainClient?.failPending(reason);
  trainNative = undefined;
  trainClient = undefined;
}

let inferClient: WorkerClient | undefined;

/** A stored model over a project's notes, predictions saved as it goes (workers/infer.worker.ts). */
export function inferWorker(): WorkerClient {
  inferClient ??= new WorkerClient(
    new Worker(new URL("../../workers/infer.worker.ts", import.meta.url), { type: "module", name: "infer" }),
  );
  return inferClient;
}
