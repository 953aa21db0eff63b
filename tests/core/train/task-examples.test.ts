// Notes with spans, relations and document labels → examples for the task models, with a
// real WordPiece tokenizer: span token positions point at the span's text in the window,
// labels follow the schema (defaults, types an attribute does not apply to, unknown values),
// candidate pairs follow the relation types' from/to and direction, the distance limit and
// the negative sampling; long notes place each span in a window that holds it.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Span } from "../../../src/core/corpus/types.ts";
import type { RelationType, TaskSchema } from "../../../src/core/schema/types.ts";
import { loadTokenizer } from "../../../src/core/text/tokenizer.ts";
import {
  type AnnotatedNote,
  attributeTargets,
  candidatePairs,
  documentExamples,
  pairExamples,
  relationLabels,
  spanExamples,
} from "../../../src/core/train/task-examples.ts";

const tokenizer = loadTokenizer(JSON.parse(readFileSync("tests/fixtures/tokenizers/wordpiece-uncased.tokenizer.json", "utf8")));

function span(text: string, phrase: string, type: string, attributes?: Record<string, string>, from = 0): Span {
  const start = text.indexOf(phrase, from);
  if (start < 0) throw new Error(`no ${phrase} in ${text}`);
  return { start, end: start + phrase.length, type, ...(attributes ? { attributes } : {}) };
}

/** The text a slot's token positions cover, as the tokenizer decodes it. */
function decoded(ids: ArrayLike<number>, positions: readonly number[]): string {
  return tokenizer.decode(positions.map((p) => ids[p]));
}

const SCHEMA: TaskSchema = {
  entityTypes: [
    { name: "Finding", color: "#000", definition: "", examples: [], attributes: [{ name: "certainty", values: ["positive", "negative", "suspected"], default: "positive" }] },
    { name: "Drug", color: "#000", definition: "", examples: [], attributes: [{ name: "status", values: ["current", "stopped"] }] },
    { name: "Dose", color: "#000", definition: "", examples: [] },
  ],
  relationTypes: [],
  documentLabels: [],
  guideline: "",
};

describe("attribute examples", () => {
  const text = "no chest pain today. left arm pain. walfarin stopped, dose two.";
  const note: AnnotatedNote = {
    text,
    spans: [
      span(text, "chest pain", "Finding", { certainty: "negative" }),
      span(text, "left arm pain", "Finding"),
      span(text, "walfarin", "Drug", { status: "paused" }),
      span(text, "two", "Dose"),
    ],
  };

  it("gives each span of a type with attributes its tokens and a value id per attribute target", () => {
    const attributes = attributeTargets(SCHEMA);
    expect(attributes.map((a) => `${a.entityType}.${a.name}`)).toEqual(["Finding.certainty", "Drug.status"]);
    const made = spanExamples([note], tokenizer, { attributes, maxLength: 64, stride: 8 });
    expect(made.examples).toHaveLength(1);
    const [example] = made.examples;
    expect(example.spans.map((s) => decoded(example.ids, s.tokens))).toEqual(["chest pain", "left arm pain", "walfarin"]);
    // Negative as annotated; positive by the schema's default; "paused" is no value of status.
    expect(example.spans.map((s) => s.labels)).toEqual([[1, -100], [0, -100], [-100, -100]]);
    expect(made.unknownValues).toBe(1);
    expect(made.places.map((p) => [p.note, p.span, p.example, p.slot])).toEqual([[0, 0, 0, 0], [0, 1, 0, 1], [0, 2, 0, 2]]);
  });

  it("places each span of a long note in a window that holds all its tokens", () => {
    const long = Array.from({ length: 6 }, (_, i) => `line ${["one", "two"][i % 2]} chest pain`).join(". ");
    const spans = [...long.matchAll(/chest pain/g)].map((m) => ({ start: m.index!, end: m.index! + 10, type: "Finding" }));
    const made = spanExamples([{ text: long, spans }], tokenizer, { attributes: attributeTargets(SCHEMA), maxLength: 24, stride: 4 });
    expect(made.examples.length).toBeGreaterThan(1);
    expect(made.places).toHaveLength(6);
    for (const place of made.places) {
      const example = made.examples[place.example];
      expect(decoded(example.ids, example.spans[place.slot].tokens)).toBe("chest pain");
      expect(example.ids.length).toBeLessThanOrEqual(24);
    }
  });
});

describe("relation examples", () => {
  const HAS_DOSE: RelationType = { name: "has_dose", from: ["Drug"], to: ["Dose"], directed: true };
  const SAME: RelationType = { name: "same_as", from: ["Finding"], to: ["Finding"], directed: false };
  const text = "walfarin two daily. chest pain, left arm pain. heparin one.";
  const spans = [
    span(text, "walfarin", "Drug"), // 0
    span(text, "two", "Dose"), // 1
    span(text, "chest pain", "Finding"), // 2
    span(text, "left arm pain", "Finding"), // 3
    span(text, "heparin", "Drug"), // 4
    span(text, "one", "Dose"), // 5
  ];
  const note: AnnotatedNote = {
    text,
    spans,
    relations: [
      { type: "has_dose", from: 0, to: 1 },
      { type: "has_dose", from: 4, to: 5 },
      { type: "same_as", from: 3, to: 2 }, // undirected, stored in reverse text order
    ],
  };

  it("pairs spans as the relation types allow: directed from → to, undirected once in text order", () => {
    expect(candidatePairs(spans, [HAS_DOSE, SAME])).toEqual([[0, 1], [0, 5], [2, 3], [4, 1], [4, 5]]);
    expect(relationLabels([HAS_DOSE, SAME])).toEqual(["none", "has_dose", "same_as"]);
    expect(() => relationLabels([{ ...SAME, name: "none" }])).toThrow(/reserved/);
  });

  it("labels gold pairs (an undirected one in either order), leaves out far pairs, and keeps every candidate without sampling", () => {
    const made = pairExamples([note], tokenizer, { relationTypes: [HAS_DOSE, SAME], maxLength: 64, stride: 8, maxDistance: 15 });
    const [example] = made.examples;
    const pairs = example.pairs.map((p) => [decoded(example.ids, p.from), decoded(example.ids, p.to), p.label]);
    expect(pairs).toEqual([
      ["walfarin", "two", 1],
      ["chest pain", "left arm pain", 2],
      ["heparin", "two", 0],
      ["heparin", "one", 1],
    ]);
    expect(made.tooFar).toBe(1); // walfarin → one: 21 tokens apart; heparin → two: 13
    expect([made.positives, made.negatives]).toEqual([3, 1]);
  });

  it("samples 'none' pairs down for training, keeping every related pair", () => {
    const many = Array.from({ length: 8 }, (_, i) => `heparin ${["one", "two"][i % 2]}`).join(". ");
    const drugs = [...many.matchAll(/heparin/g)].map((m) => ({ start: m.index!, end: m.index! + 7, type: "Drug" }));
    const doses = [...many.matchAll(/one|two/g)].map((m) => ({ start: m.index!, end: m.index! + 3, type: "Dose" }));
    const relations = drugs.map((_, i) => ({ type: "has_dose", from: i, to: drugs.length + i }));
    const dense = { text: many, spans: [...drugs, ...doses], relations };
    const options = { relationTypes: [HAS_DOSE], maxLength: 128, stride: 8, maxDistance: 200 };
    const all = pairExamples([dense], tokenizer, options);
    expect([all.positives, all.negatives]).toEqual([8, 56]);
    const sampled = pairExamples([dense], tokenizer, { ...options, negatives: { perPositive: 2, minNegatives: 2, seed: 1 } });
    expect([sampled.positives, sampled.negatives]).toEqual([8, 16]);
    const again = pairExamples([dense], tokenizer, { ...options, negatives: { perPositive: 2, minNegatives: 2, seed: 1 } });
    expect(again.places).toEqual(sampled.places);
  });
});

describe("document examples", () => {
  const smoking = { name: "smoking", values: ["never", "former", "current"], multiple: false };
  const findings = { name: "findings", values: ["pain", "fever", "cough"], multiple: true };
  const notes: AnnotatedNote[] = [
    { text: "denies tobacco.", spans: [], labels: { smoking: ["never"], findings: ["pain", "cough"] } },
    { text: "smokes daily.", spans: [], labels: { smoking: ["current", "former"] } },
    { text: "seen in clinic.", spans: [] },
    { text: "quit.", spans: [], labels: { smoking: ["sometimes"] } },
  ];

  it("takes one value id (single choice) or the ids that hold (multiple), and says why a note is left out", () => {
    const single = documentExamples(notes, tokenizer, { label: smoking, maxLength: 16 });
    expect(single.examples.map((e) => e.label)).toEqual([0]);
    expect(single.notes).toEqual([0]);
    expect(single.skipped).toEqual([
      { note: 1, reason: "smoking takes one value, got 2" },
      { note: 2, reason: "no value for smoking" },
      { note: 3, reason: 'smoking has no value "sometimes"' },
    ]);
    const multi = documentExamples(notes, tokenizer, { label: findings, maxLength: 16 });
    expect(multi.examples.map((e) => e.label)).toEqual([[0, 2]]);
    expect(tokenizer.decode(Array.from(multi.examples[0].ids), { skipSpecialTokens: true })).toBe("denies tobacco.");
  });
});
