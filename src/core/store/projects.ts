// Projects: a schema, a language, and everything made for them (notes, annotations,
// imports, runs, evaluations), which go when the project goes.

import { NotFoundError } from "../errors.ts";
import { emptySchema, type TaskSchema } from "../schema/types.ts";
import { assertValidSchema } from "../schema/validate.ts";
import {
  annotationsOfProject,
  inTransaction,
  newId,
  notesOfProject,
  withStorageErrors,
  type AppDatabase,
  type ProjectRow,
} from "./db.ts";
import { deleteModelRows } from "./models.ts";

export interface NewProject {
  name: string;
  language: string;
  schema?: TaskSchema;
}

export async function createProject(db: AppDatabase, input: NewProject): Promise<ProjectRow> {
  const now = Date.now();
  const project: ProjectRow = {
    id: newId(),
    name: input.name,
    language: input.language,
    schema: input.schema ?? emptySchema(),
    createdAt: now,
    updatedAt: now,
  };
  await withStorageErrors(`project "${input.name}"`, () => db.projects.add(project));
  return project;
}

/** All projects, most recently changed first. */
export async function listProjects(db: AppDatabase): Promise<ProjectRow[]> {
  return db.projects.orderBy("updatedAt").reverse().toArray();
}

export async function getProject(db: AppDatabase, projectId: string): Promise<ProjectRow> {
  const project = await db.projects.get(projectId);
  if (!project) throw new NotFoundError(`No project with id ${projectId}: it may have been deleted.`);
  return project;
}

export async function renameProject(db: AppDatabase, projectId: string, name: string): Promise<ProjectRow> {
  return updateProject(db, projectId, { name });
}

export async function updateProject(
  db: AppDatabase,
  projectId: string,
  changes: Partial<Pick<ProjectRow, "name" | "language" | "schema">>,
): Promise<ProjectRow> {
  // An unusable schema (an attribute without values, a relation to a type that is gone)
  // would break annotation and training later, far from the edit that caused it.
  if (changes.schema) assertValidSchema(changes.schema);
  return inTransaction(db, "rw", [db.projects], `project ${projectId}`, async () => {
    const project = await getProject(db, projectId);
    const updated: ProjectRow = { ...project, ...changes, id: project.id, updatedAt: Date.now() };
    await db.projects.put(updated);
    return updated;
  });
}

export interface DeleteProjectOptions {
  /** Also delete the models that belong to the project (trained ones); kept by default. */
  withModels?: boolean;
}

/** Deletes a project and all its data in one transaction: all of it goes, or none. */
export async function deleteProject(
  db: AppDatabase,
  projectId: string,
  options: DeleteProjectOptions = {},
): Promise<void> {
  const projectTables = [db.projects, db.notes, db.annotations, db.imports, db.runs, db.evaluations];
  const tables = options.withModels ? [...projectTables, db.models, db.modelChunks] : projectTables;
  await inTransaction(db, "rw", tables, `deleting project ${projectId}`, async () => {
    await getProject(db, projectId);
    await Promise.all([
      notesOfProject(db, projectId).delete(),
      annotationsOfProject(db, projectId).delete(),
      db.imports.where("projectId").equals(projectId).delete(),
      db.runs.where("projectId").equals(projectId).delete(),
      db.evaluations.where("projectId").equals(projectId).delete(),
    ]);
    if (options.withModels) {
      const modelIds = (await db.models.where("projectId").equals(projectId).primaryKeys()) as string[];
      await deleteModelRows(db, modelIds);
    }
    await db.projects.delete(projectId);
  });
}
