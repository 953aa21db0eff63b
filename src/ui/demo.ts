// The demo project that a first start creates from files shipped in public/demo/, so a
// newcomer sees a working project with no network and nothing to upload.
import { createProject, type AppDatabase, type ProjectRow } from "../core/store/index.ts";
import { bytesSource, importFiles } from "../core/store/import-files.ts";
import type { TaskSchema } from "../core/schema/types.ts";
import { AppError } from "../core/errors.ts";
import { storeModelFiles } from "../core/model/load.ts";
import { listModels } from "../core/store/models.ts";

interface DemoManifest {
  name: string;
  language: string;
  schema: TaskSchema;
}

async function fetchDemo(path: string): Promise<Uint8Array> {
  const response = await fetch(new URL(`demo/${path}`, document.baseURI));
  if (!response.ok) throw new AppError(`The demo file demo/${path} could not be loaded (HTTP ${response.status}).`);
  return new Uint8Array(await response.arrayBuffer());
}

export async function createDemoProject(db: AppDatabase): Promise<ProjectRow> {
  const manifest = JSON.parse(new TextDecoder().decode(await fetchDemo("project.json"))) as DemoManifest;
  const project = await createProject(db, manifest);
  const pool = bytesSource("demo/notes-pool.jsonl", await fetchDemo("notes-pool.jsonl"));
  const gold = bytesSource("demo/notes-gold.jsonl", await fetchDemo("notes-gold.jsonl"));
  await importFiles(db, project.id, [pool]);
  await importFiles(db, project.id, [gold], { split: "gold" });
  await ensureDemoModel(db);
  return project;
}

export const DEMO_MODEL_NAME = "Demo source model (BC5CDR, small BERT)";

/**
 * The demo's source model (public/demo/model/) in the store, once. Only the files every
 * model folder has are fetched, so a demo shipped without onnx/model.onnx causes no 404:
 * the store builds the ONNX graph from the weights.
 */
export function ensureDemoModel(db: AppDatabase): Promise<string> {
  // One attempt at a time per page: the project's creation and the Train step may both ask.
  demoModel ??= storeDemoModel(db).finally(() => (demoModel = undefined));
  return demoModel;
}

let demoModel: Promise<string> | undefined;

async function storeDemoModel(db: AppDatabase): Promise<string> {
  const existing = (await listModels(db)).find((model) => model.kind === "demo");
  if (existing) return existing.id;
  const files = new Map<string, Uint8Array>();
  for (const name of ["config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"]) {
    files.set(name, await fetchDemo(`model/${name}`));
  }
  const { model } = await storeModelFiles(db, files, { name: DEMO_MODEL_NAME, kind: "demo" });
  return model.id;
}
