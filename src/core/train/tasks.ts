// The tasks a training run learns, in words and from a schema: light enough for the page
// (the runs themselves are in run.ts and task-run.ts).
import type { TaskSchema } from "../schema/types.ts";
import type { TrainRunConfig, TrainRunRequest } from "./run.ts";
import type { TaskRunConfig } from "./task-run.ts";

/** What a training run learns; "entities" is run.ts's NER run. */
export type TrainTask = { kind: "entities" } | { kind: "attributes" } | { kind: "relations" } | { kind: "document"; label: string };

export type HeadTask = Exclude<TrainTask, { kind: "entities" }>;

export function isTaskRequest(request: TrainRunRequest): request is TrainRunRequest & { task: HeadTask } {
  return request.task !== undefined && request.task.kind !== "entities";
}

export function isTaskRun(config: TrainRunConfig): config is TaskRunConfig {
  return config.task !== undefined && config.task.kind !== "entities";
}

/** The task in words, for the screen and the model card. */
export function taskName(task: TrainTask): string {
  switch (task.kind) {
    case "entities":
      return "Entities";
    case "attributes":
      return "Entity attributes";
    case "relations":
      return "Relations";
    case "document":
      return `Document label "${task.label}"`;
  }
}

/** The tasks a project's schema allows: entities always, the others where the schema defines them. */
export function tasksOf(schema: TaskSchema): TrainTask[] {
  const tasks: TrainTask[] = [{ kind: "entities" }];
  if (schema.entityTypes.some((type) => (type.attributes ?? []).length > 0)) tasks.push({ kind: "attributes" });
  if (schema.relationTypes.length > 0) tasks.push({ kind: "relations" });
  for (const label of schema.documentLabels) tasks.push({ kind: "document", label: label.name });
  return tasks;
}

export function sameTask(a: TrainTask, b: TrainTask): boolean {
  return a.kind === b.kind && (a.kind !== "document" || a.label === (b as typeof a).label);
}
