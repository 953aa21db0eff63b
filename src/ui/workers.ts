// The page's handles on its workers, created on first use.
import { WorkerClient } from "../../workers/protocol.ts";

let importClient: WorkerClient | undefined;

export function importWorker(): WorkerClient {
  importClient ??= new WorkerClient(
    new Worker(new URL("../../workers/import.worker.ts", import.meta.url), { type: "module", name: "import" }),
  );
  return importClient;
}
