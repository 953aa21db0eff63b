// A project in a fresh database with the demo's shape (Chemical, Disease; pool notes with
// LLM annotations, gold notes with reference spans) and a tiny random source model stored
// as the demo model would be: shared by the training-run, comparison and bundle tests.

import type { Span } from "../../../src/core/corpus/types.ts";
import { createConfig } from "../../../src/core/model/config.ts";
import { writeModelFolder } from "../../../src/core/model/folder.ts";
import { storeModelFiles } from "../../../src/core/model/load.ts";
import { randomEncoderWeights } from "../../../src/core/model/random-init.ts";
import { createProject } from "../../../src/core/store/projects.ts";
import { importNotes } from "../../../src/core/store/notes.ts";
import { putAnnotations } from "../../../src/core/store/annotations.ts";
import { createRun } from "../../../src/core/store/runs.ts";
import type { AppDatabase } from "../../../src/core/store/db.ts";
import { bioLabels } from "../../../src/core/text/bio.ts";
import { buildWordPieceTokenizer } from "../../../src/core/text/wordpiece-vocab.ts";
import { freshDatabase, hashed } from "../store/helpers.ts";

export const TYPES = ["Chemical", "Disease"];

const CHEMICALS = ["aspirin", "warfarin", "metformin", "heparin", "insulin", "morphine", "lorazepam", "sertraline"];
const DISEASES = ["hypertension", "sepsis", "asthma", "delirium", "insomnia", "pneumonia", "anemia", "migraine"];
const TEMPLATES = [
  "Patient with {d} started on {c} today.",
  "Hx of {d}; continue {c} and monitor.",
  "Given {c} for {d} in the ED, improving.",
  "No {d}. Stop {c} due to side effects.",
];

/** A note with its spans, built from a template. */
export function makeNote(i: number): { text: string; spans: Span[] } {
  // 256 distinct notes: chemical, disease and template vary at different rates.
  const template = TEMPLATES[(i + Math.floor(i / 64)) % TEMPLATES.length];
  const c = CHEMICALS[i % CHEMICALS.length];
  const d = DISEASES[Math.floor(i / 8) % DISEASES.length];
  let text = "";
  const spans: Span[] = [];
  for (const part of template.split(/(\{c\}|\{d\})/)) {
    if (part === "{c}" || part === "{d}") {
      const word = part === "{c}" ? c : d;
      spans.push({ start: text.length, end: text.length + word.length, type: part === "{c}" ? "Chemical" : "Disease", confidence: 0.9 });
      text += word;
    } else text += part;
  }
  return { text, spans };
}

export interface Fixture {
  db: AppDatabase;
  projectId: string;
  baseModelId: string;
  poolIds: number[];
  goldIds: number[];
  llmRunId: string;
}

export async function setupProject(options: { pool?: number; gold?: number; hidden?: number } = {}): Promise<Fixture> {
  const db = freshDatabase();
  const project = await createProject(db, {
    name: "Demo",
    language: "en",
    schema: {
      entityTypes: TYPES.map((name, i) => ({ name, color: i ? "#2a9d8f" : "#f4a261", definition: "", examples: [] })),
      relationTypes: [],
      documentLabels: [],
      guideline: "",
    },
  });
  const pool = Array.from({ length: options.pool ?? 24 }, (_, i) => makeNote(i));
  const gold = Array.from({ length: options.gold ?? 6 }, (_, i) => makeNote(100 + i));
  const { noteIds: poolIds } = await importNotes(db, project.id, "i1", pool.map((note, i) => hashed(`pool-${i}`, note.text)));
  const { noteIds: goldIds } = await importNotes(
    db,
    project.id,
    "i2",
    gold.map((note, i) => hashed(`gold-${i}`, note.text, "gold.jsonl", note.spans.map(({ confidence: _, ...span }) => span))),
    { split: "gold" },
  );
  const llmRun = await createRun(db, {
    projectId: project.id,
    kind: "annotate",
    config: { purpose: "pool", backend: { kind: "endpoint", model: "lexicon-7b", url: "http://x" }, promptHash: "abc123" },
  });
  await putAnnotations(db, poolIds.map((noteId, i) => ({ noteId, origin: "llm", runId: llmRun.id, spans: pool[i].spans })));

  const texts = [...pool, ...gold].map((note) => note.text);
  const tokenizer = buildWordPieceTokenizer(texts, { vocabSize: 300, minFrequency: 1, modelMaxLength: 64 });
  const vocabSize = Object.keys((tokenizer.tokenizerJson.model as { vocab: object }).vocab).length;
  const hidden = options.hidden ?? 16;
  const config = createConfig("bert", {
    vocabSize,
    hiddenSize: hidden,
    numLayers: 1,
    numHeads: 2,
    intermediateSize: 2 * hidden,
    maxPositions: 64,
    labels: bioLabels(TYPES).id2label,
  });
  const files = writeModelFolder(config, config.labels, randomEncoderWeights(config, 7), tokenizer);
  const { model } = await storeModelFiles(db, files, { name: "tiny source", kind: "demo" });
  return { db, projectId: project.id, baseModelId: model.id, poolIds, goldIds, llmRunId: llmRun.id };
}
