// trainTaskModel and predictTask end to end: notes with spans, relations and document
// labels, a real WordPiece tokenizer, a small random-weight "NER base model" (whose token
// head is ignored), training in memory, and predictions mapped back onto held-out notes.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Relation, Span } from "../../../src/core/corpus/types.ts";
import { createConfig } from "../../../src/core/model/config.ts";
import { randomEncoderWeights } from "../../../src/core/model/random-init.ts";
import { seededRandom } from "../../../src/core/model/random.ts";
import { loadTokenizer } from "../../../src/core/text/tokenizer.ts";
import type { AnnotatedNote } from "../../../src/core/train/task-examples.ts";
import type { TaskBatch } from "../../../src/core/train/task-batches.ts";
import { PAIR_FROM } from "../../../src/core/train/task-models.ts";
import { type TaskChoice, type TaskTrainingOptions, predictTask, predictTaskWith, taskModel, trainTaskModel } from "../../../src/core/train/task-train.ts";

const tokenizer = loadTokenizer(JSON.parse(readFileSync("tests/fixtures/tokenizers/wordpiece-uncased.tokenizer.json", "utf8")));
const config = createConfig("bert", { vocabSize: 197, hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 64, maxPositions: 128, labels: ["O", "B-Finding", "I-Finding"] });
const baseWeights = randomEncoderWeights(config, 9);

const SETTINGS: Omit<TaskTrainingOptions, "notes" | "task"> = {
  config,
  weights: baseWeights,
  tokenizer,
  mode: { kind: "full" },
  epochs: 12,
  batchSize: 16,
  lr: 3e-3,
  warmupRatio: 0.05,
  seed: 3,
  maxLength: 64,
  stride: 8,
  buckets: [32, 64],
  dropout: { hiddenProb: 0, attentionProb: 0, classifierProb: 0 },
};

type Random = ReturnType<typeof seededRandom>;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random.uniform() * items.length)];

/** Writes phrases one after another, recording the spans of the marked ones. */
class NoteWriter {
  text = "";
  spans: Span[] = [];
  add(phrase: string, type?: string, attributes?: Record<string, string>): number {
    if (this.text) this.text += " ";
    const start = this.text.length;
    this.text += phrase;
    if (type) this.spans.push({ start, end: start + phrase.length, type, ...(attributes ? { attributes } : {}) });
    return this.spans.length - 1;
  }
}

const FINDINGS = ["chest pain", "left arm pain", "pain", "dolor"];
const FILLER = ["seen in clinic.", "walk improving.", "the patient is stable.", "today."];

/** Findings negated by a preceding "no" (the rule to learn); some notes leave the value to the schema's default. */
function attributeNotes(count: number, seed: number): AnnotatedNote[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const w = new NoteWriter();
    for (let i = 0; i < 3; i++) {
      const negated = random.uniform() < 0.5;
      if (negated) w.add("no");
      const explicit = negated || random.uniform() < 0.5;
      w.add(pick(random, FINDINGS), "Finding", explicit ? { certainty: negated ? "negative" : "positive" } : undefined);
      w.add(pick(random, FILLER));
    }
    return { text: w.text, spans: w.spans };
  });
}

const DRUGS = ["walfarin", "heparin", "aspirin"];
const DOSES = ["one", "two"];

/** A drug and a dose in one sentence are related; across sentences they are not. */
function relationNotes(count: number, seed: number): AnnotatedNote[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const w = new NoteWriter();
    const relations: Relation[] = [];
    for (let i = 0; i < 3; i++) {
      const drug = w.add(pick(random, DRUGS), "Drug");
      if (random.uniform() < 0.7) {
        const dose = w.add(pick(random, DOSES), "Dose");
        relations.push({ type: "has_dose", from: drug, to: dose });
      }
      w.add(pick(random, ["daily.", "at night.", "stopped."]));
    }
    return { text: w.text, spans: w.spans, relations };
  });
}

/** Smoking status from the phrase the note holds, among filler. */
function documentNotes(count: number, seed: number): AnnotatedNote[] {
  const random = seededRandom(seed);
  const cues = { never: "denies tobacco.", former: "quit smoking.", current: "smokes daily." } as const;
  return Array.from({ length: count }, () => {
    const value = pick(random, ["never", "former", "current"] as const);
    const parts = [pick(random, FILLER), pick(random, FILLER)];
    parts.splice(Math.floor(random.uniform() * 3), 0, cues[value]);
    return { text: parts.join(" "), spans: [], labels: { smoking: [value] } };
  });
}

describe("trainTaskModel and predictTask", () => {
  it("attributes: learns negation from notes and predicts each held-out finding's certainty, > 95%", async () => {
    const task: TaskChoice = { kind: "attributes", attributes: [{ entityType: "Finding", name: "certainty", values: ["positive", "negative"], default: "positive" }] };
    const trained = await trainTaskModel({ ...SETTINGS, epochs: 30, notes: attributeNotes(160, 1), task });
    const test = attributeNotes(40, 2);
    const predicted = await predictTask(trained, task, test, tokenizer, SETTINGS);
    await trained.trainer.release();
    if (predicted.kind !== "attributes") throw new Error("expected attribute predictions");
    let [right, total] = [0, 0];
    test.forEach((note, n) =>
      note.spans.forEach((span, s) => {
        total++;
        right += Number(predicted.attributes[n].get(s)?.certainty === (span.attributes?.certainty ?? "positive"));
      }),
    );
    console.log(`notes → attributes: ${trained.examples} windows, ${trained.slots} spans, loss ${trained.losses[0].toFixed(3)} → ${trained.losses.at(-1)!.toFixed(3)}, held-out accuracy ${(right / total).toFixed(4)}`);
    expect(total).toBe(120);
    expect(right / total).toBeGreaterThan(0.95);
  });

  it("relations: learns which dose goes with which drug, F1 > 0.9 on held-out notes", async () => {
    const task: TaskChoice = {
      kind: "relations",
      relationTypes: [{ name: "has_dose", from: ["Drug"], to: ["Dose"], directed: true }],
      maxDistance: 40,
      negativesPerPositive: 3,
    };
    const trained = await trainTaskModel({ ...SETTINGS, notes: relationNotes(160, 3), task });
    const test = relationNotes(40, 4);
    const predicted = await predictTask(trained, task, test, tokenizer, SETTINGS);
    await trained.trainer.release();
    if (predicted.kind !== "relations") throw new Error("expected relation predictions");
    const key = (r: Relation) => `${r.type}:${r.from}->${r.to}`;
    let [truePositives, found, gold] = [0, 0, 0];
    test.forEach((note, n) => {
      const expected = new Set(note.relations!.map(key));
      gold += expected.size;
      found += predicted.relations[n].length;
      truePositives += predicted.relations[n].filter((r) => expected.has(key(r))).length;
    });
    const f1 = (2 * truePositives) / (found + gold);
    console.log(`notes → relations: ${trained.slots} training pairs, loss ${trained.losses[0].toFixed(3)} → ${trained.losses.at(-1)!.toFixed(3)}, held-out F1 ${f1.toFixed(4)} (${gold} gold, ${found} found)`);
    expect(gold).toBeGreaterThan(50);
    expect(f1).toBeGreaterThan(0.9);
  });

  it("relations: a pair's label is the best of none and the types its entity types allow (hand-set logits)", async () => {
    const task: TaskChoice = {
      kind: "relations",
      relationTypes: [
        { name: "has_dose", from: ["Drug"], to: ["Dose"], directed: true },
        { name: "treats", from: ["Drug"], to: ["Disease"], directed: true },
      ],
      maxDistance: 40,
      negativesPerPositive: 3,
    };
    const w = new NoteWriter();
    w.add("aspirin", "Drug");
    w.add("one", "Dose");
    w.add("for");
    w.add("pain", "Disease");
    // Every pair scores none 0, has_dose 1, treats 5: unconstrained, "treats" would win everywhere.
    const source = {
      model: taskModel(config, task),
      batchSize: 4,
      logits: async (batch: TaskBatch) => {
        const pairs = batch.task[PAIR_FROM].dims[1];
        return Float32Array.from({ length: batch.rows * pairs * 3 }, (_, i) => [0, 1, 5][i % 3]);
      },
    };
    const predicted = await predictTaskWith(source, task, [{ text: w.text, spans: w.spans }], tokenizer, { maxLength: 64, stride: 8, buckets: [32, 64] });
    if (predicted.kind !== "relations") throw new Error("expected relation predictions");
    expect(predicted.relations[0]).toEqual([
      { type: "has_dose", from: 0, to: 1 },
      { type: "treats", from: 0, to: 2 },
    ]);
  });

  it("document labels: learns the smoking status and labels every held-out note, > 95%", async () => {
    const task: TaskChoice = { kind: "document", label: { name: "smoking", values: ["never", "former", "current"], multiple: false } };
    const trained = await trainTaskModel({ ...SETTINGS, notes: documentNotes(160, 5), task });
    const test = documentNotes(40, 6);
    const unlabelled = test.map((note) => ({ text: note.text, spans: [] }));
    const predicted = await predictTask(trained, task, unlabelled, tokenizer, SETTINGS);
    await trained.trainer.release();
    if (predicted.kind !== "document") throw new Error("expected document predictions");
    const right = test.filter((note, n) => predicted.labels[n]?.smoking?.[0] === note.labels!.smoking[0]).length;
    console.log(`notes → document label: loss ${trained.losses[0].toFixed(3)} → ${trained.losses.at(-1)!.toFixed(3)}, held-out accuracy ${(right / test.length).toFixed(4)}`);
    expect(predicted.labels.every((l) => l?.smoking?.length === 1)).toBe(true);
    expect(right / test.length).toBeGreaterThan(0.95);
  });
});
