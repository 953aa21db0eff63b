// Which projects exist, which one is open, and what the browser lets us store.
import {
  createProject,
  deleteProject,
  exportProjectFile,
  importProjectFile,
  listProjects,
  openDatabase,
  projectFileName,
  renameProject,
  requestPersistence,
  storageEstimate,
  updateProject,
  type AppDatabase,
  type ProjectRow,
  type StorageEstimate,
} from "../../core/store/index.ts";
import type { TaskSchema } from "../../core/schema/types.ts";
import { createDemoProject } from "../demo.ts";
import { downloadBytes } from "../download.ts";
import { attempt } from "./attempt.ts";

export class AppState {
  readonly db: AppDatabase = openDatabase();
  projects = $state.raw<ProjectRow[]>([]);
  currentId = $state<string | null>(null);
  storage = $state.raw<StorageEstimate | "unsupported" | null>(null);
  persisted = $state<boolean | "unsupported" | null>(null);
  /** The last error a user action met, shown in a banner until dismissed. */
  error = $state<string | null>(null);
  ready = $state(false);

  current = $derived(this.projects.find((project) => project.id === this.currentId) ?? null);

  async init(): Promise<void> {
    await this.refresh();
    if (this.projects.length === 0) {
      const demo = await createDemoProject(this.db);
      await this.refresh();
      this.currentId ??= demo.id;
    } else {
      this.currentId ??= this.projects[0].id;
    }
    this.persisted = await requestPersistence();
    await this.refreshStorage();
    this.ready = true;
  }

  async refresh(): Promise<void> {
    this.projects = await listProjects(this.db);
  }

  async refreshStorage(): Promise<void> {
    this.storage = await storageEstimate();
  }

  open(projectId: string): void {
    this.currentId = projectId;
  }

  /** Runs a user action; a failure becomes the banner message instead of a lost promise. */
  attempt<T>(action: () => Promise<T>): Promise<T | undefined> {
    return attempt(this, action);
  }

  async create(name: string, language: string): Promise<void> {
    await this.attempt(async () => {
      const project = await createProject(this.db, { name, language });
      await this.refresh();
      this.currentId = project.id;
    });
  }

  async rename(projectId: string, name: string): Promise<void> {
    await this.attempt(async () => {
      await renameProject(this.db, projectId, name);
      await this.refresh();
    });
  }

  async saveSchema(projectId: string, schema: TaskSchema, language?: string): Promise<void> {
    await this.attempt(async () => {
      await updateProject(this.db, projectId, language === undefined ? { schema } : { schema, language });
      await this.refresh();
    });
  }

  async remove(projectId: string): Promise<void> {
    await this.attempt(async () => {
      await deleteProject(this.db, projectId);
      await this.refresh();
      if (this.currentId === projectId) this.currentId = this.projects[0]?.id ?? null;
      await this.refreshStorage();
    });
  }

  async exportProject(project: ProjectRow): Promise<void> {
    await this.attempt(async () => {
      downloadBytes(projectFileName(project), await exportProjectFile(this.db, project.id), "application/gzip");
    });
  }

  async importProject(file: File): Promise<void> {
    await this.attempt(async () => {
      const project = await importProjectFile(this.db, new Uint8Array(await file.arrayBuffer()), file.name);
      await this.refresh();
      this.currentId = project.id;
      await this.refreshStorage();
    });
  }
}
