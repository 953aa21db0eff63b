// run-fixtures.ts's project with a schema that has an attribute (Disease certainty), a
// relation type (Chemical → Disease "Treats") and a document label ("status"), the pool
// notes' LLM annotations carrying all three, and the gold notes' reference (human)
// annotations too. Each follows from the note's template, so a model can learn it:
//
//   template                                   Treats   certainty   status
//   "Patient with {d} started on {c} today."   yes      positive    active
//   "Hx of {d}; continue {c} and monitor."     no       positive    active
//   "Given {c} for {d} in the ED, improving."  yes      positive    active
//   "No {d}. Stop {c} due to side effects."    no       negative    resolved

import type { DocumentLabels, Relation, Span } from "../../../src/core/corpus/types.ts";
import type { TaskSchema } from "../../../src/core/schema/types.ts";
import { putAnnotations } from "../../../src/core/store/annotations.ts";
import { updateProject } from "../../../src/core/store/projects.ts";
import { continueRun, startRun } from "../../../src/core/train/any-run.ts";
import { defaultHyperparameters } from "../../../src/core/train/run.ts";
import type { HeadTask } from "../../../src/core/train/tasks.ts";
import { type Fixture, makeNote, setupProject } from "./run-fixtures.ts";

export const TASK_SCHEMA: TaskSchema = {
  entityTypes: [
    { name: "Chemical", color: "#f4a261", definition: "", examples: [] },
    { name: "Disease", color: "#2a9d8f", definition: "", examples: [], attributes: [{ name: "certainty", values: ["positive", "negative"], default: "positive" }] },
  ],
  relationTypes: [{ name: "Treats", from: ["Chemical"], to: ["Disease"], directed: true }],
  documentLabels: [{ name: "status", values: ["active", "resolved"], multiple: false }],
  guideline: "",
};

export interface RichNote {
  text: string;
  spans: Span[];
  relations: Relation[];
  labels: DocumentLabels;
}

/** makeNote(i) with the attribute, relation and label its template implies. */
export function makeRichNote(i: number): RichNote {
  const { text, spans } = makeNote(i);
  const negated = text.startsWith("No ");
  const chemical = spans.findIndex((s) => s.type === "Chemical");
  const disease = spans.findIndex((s) => s.type === "Disease");
  const treats = text.startsWith("Patient with") || text.startsWith("Given");
  return {
    text,
    spans: spans.map((span) => (span.type === "Disease" ? { ...span, attributes: { certainty: negated ? "negative" : "positive" } } : span)),
    relations: treats ? [{ type: "Treats", from: chemical, to: disease }] : [],
    labels: { status: [negated ? "resolved" : "active"] },
  };
}

export async function setupTaskProject(options: { pool?: number; gold?: number } = {}): Promise<Fixture & { gold: RichNote[] }> {
  const pool = options.pool ?? 32;
  const goldCount = options.gold ?? 12;
  const f = await setupProject({ pool, gold: goldCount });
  await updateProject(f.db, f.projectId, { schema: TASK_SCHEMA });
  const rich = f.poolIds.map((_, i) => makeRichNote(i));
  await putAnnotations(
    f.db,
    f.poolIds.map((noteId, i) => ({ noteId, origin: "llm", runId: f.llmRunId, spans: rich[i].spans, relations: rich[i].relations, labels: rich[i].labels })),
  );
  const gold = f.goldIds.map((_, i) => makeRichNote(100 + i));
  await putAnnotations(
    f.db,
    f.goldIds.map((noteId, i) => ({ noteId, origin: "human", spans: gold[i].spans.map(({ confidence: _, ...s }) => s), relations: gold[i].relations, labels: gold[i].labels })),
  );
  return { ...f, gold };
}

/** A task model trained briefly (one epoch) on the pool notes' LLM annotations: its run's id and its model's. */
export async function trainTaskBriefly(f: Fixture, task: HeadTask): Promise<{ runId: string; modelId: string }> {
  const run = await startRun(f.db, {
    projectId: f.projectId,
    baseModelId: f.baseModelId,
    source: "llm",
    minConfidence: 0,
    weightByConfidence: false,
    task,
    hyper: { ...defaultHyperparameters(1000, 64), epochs: 1, batchSize: 4, maxLength: 32 },
  });
  return { runId: run.id, modelId: (await continueRun(f.db, run.id)).modelId };
}
