// Attribute, relation and document-label scores on small cases computed by hand; the
// arithmetic is in the comments beside each expectation.
import { describe, expect, it } from "vitest";
import type { Span } from "../../../src/core/corpus/types.ts";
import { NO_VALUE, attributeMetrics } from "../../../src/core/eval/attribute-metrics.ts";
import { labelMetrics, type NoteLabels } from "../../../src/core/eval/label-metrics.ts";
import { relationMetrics } from "../../../src/core/eval/relation-metrics.ts";
import type { Scores } from "../../../src/core/eval/span-metrics.ts";
import type { EntityType } from "../../../src/core/schema/types.ts";

/** Scores written as [tp, fp, fn, precision, recall, f1], checked to 12 digits. */
function expectScores(actual: Scores, [tp, fp, fn, precision, recall, f1]: number[]): void {
  expect([actual.tp, actual.fp, actual.fn]).toEqual([tp, fp, fn]);
  expect(actual.precision).toBeCloseTo(precision, 12);
  expect(actual.recall).toBeCloseTo(recall, 12);
  expect(actual.f1).toBeCloseTo(f1, 12);
}

const span = (start: number, end: number, type: string, attributes?: Record<string, string>): Span =>
  attributes ? { start, end, type, attributes } : { start, end, type };

describe("attributeMetrics", () => {
  const types: EntityType[] = [
    { name: "DISO", color: "", definition: "", examples: [], attributes: [{ name: "certainty", values: ["positive", "negative", "suspected"], default: "positive" }] },
    { name: "CHEM", color: "", definition: "", examples: [] },
  ];
  const gold = [
    span(0, 5, "DISO", { certainty: "negative" }), // g1
    span(10, 15, "DISO"), // g2: the default, positive
    span(20, 25, "DISO", { certainty: "suspected" }), // g3
    span(30, 35, "DISO", { certainty: "negative" }), // g4
    span(40, 45, "CHEM"), // CHEM has no certainty: not scored
  ];
  const pred = [
    span(0, 5, "DISO", { certainty: "negative" }), // p1 = g1, value right
    span(10, 15, "DISO", { certainty: "negative" }), // p2 = g2, value wrong (gold positive)
    span(20, 24, "DISO", { certainty: "suspected" }), // p3: boundary off, no match
    span(30, 35, "DISO", { certainty: "positive" }), // p4 = g4, value wrong (gold negative)
    span(40, 45, "CHEM"),
    span(50, 55, "DISO"), // p6: spurious, positive by default
    span(0, 5, "DISO", { certainty: "positive" }), // an exact duplicate of p1's span: the first counts
  ];
  const scores = attributeMetrics([{ gold, pred }], types).certainty;

  it("scores values on the correctly found entities", () => {
    // Matched: g1, g2, g4 (3); right: g1 only -> accuracy 1/3.
    expect(scores.matched).toBe(3);
    expect(scores.accuracy).toBeCloseTo(1 / 3, 12);
    // negative: tp 1 (g1), fp 1 (p2), fn 1 (g4) -> P 1/2, R 1/2, F1 1/2.
    // positive: tp 0, fp 1 (p4), fn 1 (g2) -> 0. suspected: never in a matched pair -> absent.
    expect(Object.keys(scores.perValue)).toEqual(["negative", "positive"]);
    expectScores(scores.perValue.negative, [1, 1, 1, 0.5, 0.5, 0.5]);
    expectScores(scores.perValue.positive, [0, 1, 1, 0, 0, 0]);
    // macro-F1 = (0.5 + 0) / 2.
    expect(scores.macroF1).toBeCloseTo(0.25, 12);
  });

  it("scores entity and value together end to end", () => {
    // negative: tp g1; fp p2; fn g4 -> 1/2, 1/2, 1/2.
    // positive: fp p4, p6; fn g2 -> 0.  suspected: fp p3; fn g3 -> 0.
    expectScores(scores.endToEnd.perValue.negative, [1, 1, 1, 0.5, 0.5, 0.5]);
    expectScores(scores.endToEnd.perValue.positive, [0, 2, 1, 0, 0, 0]);
    expectScores(scores.endToEnd.perValue.suspected, [0, 1, 1, 0, 0, 0]);
    // micro: tp 1, fp 4, fn 3 -> P 1/5, R 1/4, F1 = 2 * 0.2 * 0.25 / 0.45 = 2/9.
    expectScores(scores.endToEnd.micro, [1, 4, 3, 0.2, 0.25, 2 / 9]);
  });

  it("takes a missing value without a default as its own value", () => {
    const negation: EntityType[] = [{ name: "DISO", color: "", definition: "", examples: [], attributes: [{ name: "Negation", values: ["true"] }] }];
    // Gold negated, prediction silent: matched 1, accuracy 0; "true" fn 1, "(none)" fp 1.
    const result = attributeMetrics([{ gold: [span(0, 5, "DISO", { Negation: "true" })], pred: [span(0, 5, "DISO")] }], negation).Negation;
    expect([result.matched, result.accuracy]).toEqual([1, 0]);
    expectScores(result.perValue.true, [0, 0, 1, 0, 0, 0]);
    expectScores(result.perValue[NO_VALUE], [0, 1, 0, 0, 0, 0]);
  });

  it("scores nothing and divides by nothing when no entity was found", () => {
    const result = attributeMetrics([{ gold: [span(0, 5, "DISO")], pred: [] }], types).certainty;
    expect([result.matched, result.accuracy, result.macroF1, result.perValue]).toEqual([0, 0, 0, {}]);
    expectScores(result.endToEnd.micro, [0, 0, 1, 0, 0, 0]);
  });
});

describe("relationMetrics", () => {
  const relationTypes = [
    { name: "Treats", directed: true },
    { name: "CoOccurs", directed: false },
  ];
  // Note 1: A = aspirin (CHEM), B = headache, C = fever (DISO).
  const A = span(0, 7, "CHEM");
  const B = span(12, 20, "DISO");
  const C = span(25, 30, "DISO");
  const note1 = {
    gold: {
      spans: [A, B, C],
      relations: [
        { type: "Treats", from: 0, to: 1 }, // A -> B
        { type: "Treats", from: 0, to: 2 }, // A -> C
        { type: "CoOccurs", from: 1, to: 2 }, // B - C
      ],
    },
    pred: {
      spans: [A, B, span(25, 29, "DISO")], // C predicted one character short: C'
      relations: [
        { type: "Treats", from: 0, to: 1 }, // A -> B: right
        { type: "Treats", from: 0, to: 1 }, // the same again: counts once
        { type: "Treats", from: 1, to: 0 }, // B -> A: Treats is directed, wrong
        { type: "Treats", from: 0, to: 2 }, // A -> C': a boundary off, wrong (and gold A -> C missed)
        { type: "CoOccurs", from: 2, to: 1 }, // C' - B: wrong boundary (and gold B - C missed)
      ],
    },
  };
  // Note 2: X, Y; the prediction lists the spans in the other order.
  const X = span(0, 4, "DISO");
  const Y = span(10, 14, "DISO");
  const note2 = {
    gold: { spans: [X, Y], relations: [{ type: "CoOccurs", from: 0, to: 1 }] },
    pred: {
      spans: [Y, X],
      relations: [
        { type: "CoOccurs", from: 0, to: 1 }, // Y - X: undirected, so right
        { type: "Causes", from: 1, to: 0 }, // a type gold never uses: wrong
      ],
    },
  };
  const metrics = relationMetrics([note1, note2], relationTypes);

  it("needs both entities exact and the type right; undirected types match either order", () => {
    // Treats: tp 1 (A->B); fp 2 (B->A, A->C'); fn 1 (A->C) -> P 1/3, R 1/2, F1 = (2/6)/(5/6) = 0.4.
    expectScores(metrics.perType.Treats, [1, 2, 1, 1 / 3, 0.5, 0.4]);
    // CoOccurs: note 1 fp 1, fn 1; note 2 tp 1 -> 1/2, 1/2, 1/2.
    expectScores(metrics.perType.CoOccurs, [1, 1, 1, 0.5, 0.5, 0.5]);
    // Causes: fp 1 -> 0 (recall 0 by the zero-division rule).
    expectScores(metrics.perType.Causes, [0, 1, 0, 0, 0, 0]);
    // micro: tp 2, fp 4, fn 2 -> P 1/3, R 1/2, F1 0.4.
    expectScores(metrics.micro, [2, 4, 2, 1 / 3, 0.5, 0.4]);
    // macro over Causes, CoOccurs, Treats: P (0 + 1/2 + 1/3)/3 = 5/18, R (0 + 1/2 + 1/2)/3 = 1/3, F1 (0 + 0.5 + 0.4)/3 = 0.3.
    expect(metrics.macro.precision).toBeCloseTo(5 / 18, 12);
    expect(metrics.macro.recall).toBeCloseTo(1 / 3, 12);
    expect(metrics.macro.f1).toBeCloseTo(0.3, 12);
  });

  it("counts a relation whose entity has the right boundaries but the wrong type as wrong", () => {
    const pred = { spans: [A, span(12, 20, "CHEM")], relations: [{ type: "Treats", from: 0, to: 1 }] };
    const result = relationMetrics([{ gold: { spans: [A, B], relations: [{ type: "Treats", from: 0, to: 1 }] }, pred }], relationTypes);
    expectScores(result.micro, [0, 1, 1, 0, 0, 0]);
  });
});

describe("labelMetrics", () => {
  const definitions = [
    { name: "smoking", values: ["current", "former", "never"], multiple: false },
    { name: "problems", values: ["pain", "fever", "cough"], multiple: true },
  ];
  const notes: NoteLabels[] = [
    { gold: { smoking: ["current"], problems: ["pain", "fever"] }, pred: { smoking: ["current"], problems: ["pain"] } },
    { gold: { smoking: ["never"], problems: ["cough"] }, pred: { smoking: ["current"], problems: ["cough"] } },
    { gold: { smoking: ["former"], problems: [] }, pred: { problems: ["fever"] } },
    { gold: {}, pred: { smoking: ["never"] } }, // gold gives neither label: not scored
  ];
  const metrics = labelMetrics(notes, definitions);

  it("single choice: accuracy, per-value F1 and macro-F1", () => {
    // Scored notes 3; right: note 1 -> accuracy 1/3.
    expect([metrics.smoking.notes, metrics.smoking.multiple]).toEqual([3, false]);
    expect(metrics.smoking.accuracy).toBeCloseTo(1 / 3, 12);
    // current: tp 1 (note 1), fp 1 (note 2) -> P 1/2, R 1, F1 2/3.
    // never: fn 1 (note 2); former: fn 1 (note 3, nothing predicted) -> 0 each.
    expectScores(metrics.smoking.perValue.current, [1, 1, 0, 0.5, 1, 2 / 3]);
    expectScores(metrics.smoking.perValue.never, [0, 0, 1, 0, 0, 0]);
    expectScores(metrics.smoking.perValue.former, [0, 0, 1, 0, 0, 0]);
    // macro-F1 = (2/3 + 0 + 0) / 3 = 2/9.
    expect(metrics.smoking.macroF1).toBeCloseTo(2 / 9, 12);
    // micro: tp 1, fp 1, fn 2 -> P 1/2, R 1/3, F1 = (1/3)/(5/6) = 0.4.
    expectScores(metrics.smoking.micro, [1, 1, 2, 0.5, 1 / 3, 0.4]);
  });

  it("multiple choice: per-value binary F1, macro-F1 and exact-match accuracy", () => {
    // Scored notes 3 (note 3's empty gold list is an answer: "none of them").
    // Exact match: note 2 only -> 1/3.
    expect([metrics.problems.notes, metrics.problems.multiple]).toEqual([3, true]);
    expect(metrics.problems.accuracy).toBeCloseTo(1 / 3, 12);
    // pain: tp 1. cough: tp 1. fever: fn 1 (note 1), fp 1 (note 3) -> 0.
    expectScores(metrics.problems.perValue.pain, [1, 0, 0, 1, 1, 1]);
    expectScores(metrics.problems.perValue.cough, [1, 0, 0, 1, 1, 1]);
    expectScores(metrics.problems.perValue.fever, [0, 1, 1, 0, 0, 0]);
    // macro-F1 = (1 + 1 + 0) / 3 = 2/3; micro: tp 2, fp 1, fn 1 -> 2/3 each.
    expect(metrics.problems.macroF1).toBeCloseTo(2 / 3, 12);
    expectScores(metrics.problems.micro, [2, 1, 1, 2 / 3, 2 / 3, 2 / 3]);
  });
});
