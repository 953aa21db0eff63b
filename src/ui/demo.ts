// The demo project that a first start creates from files shipped in public/demo/, so a
// newcomer sees a working project with no network and nothing to upload.
import { createProject, type AppDatabase, type ProjectRow } from "../core/store/index.ts";
import { bytesSource, importFiles } from "../core/store/import-files.ts";
import type { TaskSchema } from "../core/schema/types.ts";
import { AppError } from "../core/errors.ts";

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
  return project;
}
