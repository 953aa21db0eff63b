import { describe, expect, it } from "vitest";
import { termMatcher } from "../../../src/core/annotate/terms.ts";

const found = (text: string, spans: { start: number; end: number; type: string }[]) => spans.map((s) => [text.slice(s.start, s.end), s.type]);

describe("termMatcher", () => {
  it("matches case-insensitively at word boundaries that JavaScript's \\b gets wrong for accents", () => {
    const text = "Dolor torácico. Lesión no dolorosa. ÚLCERA gástrica. Se descarta cáncer.";
    const match = termMatcher([{ type: "DISO", terms: ["dolor", "úlcera gástrica", "cáncer", "lesión"] }]);
    expect(found(text, match(text))).toEqual([["Dolor", "DISO"], ["Lesión", "DISO"], ["ÚLCERA gástrica", "DISO"], ["cáncer", "DISO"]]);
    // Accents count unless folded.
    expect(match("cancer de colon")).toEqual([]);
    const folded = termMatcher([{ type: "DISO", terms: ["cancer"] }], { foldAccents: true });
    expect(found("Cáncer de colon", folded("Cáncer de colon"))).toEqual([["Cáncer", "DISO"]]);
  });

  it("matches inside Japanese text (no spaces between words), longest term first, full-width too", () => {
    const text = "糖尿病性腎症と糖尿病の既往。ＣＴで異常なし。";
    const match = termMatcher([
      { type: "DISO", terms: ["糖尿病", "糖尿病性腎症"] },
      { type: "PROC", terms: ["CT"] },
    ]);
    expect(found(text, match(text))).toEqual([["糖尿病性腎症", "DISO"], ["糖尿病", "DISO"], ["ＣＴ", "PROC"]]);
  });

  it("runs patterns with boundaries, and resolves overlaps across types by length", () => {
    const text = "Tratamiento con amoxicilina 500 mg y amoxicilina-clavulánico.";
    const match = termMatcher([
      { type: "CHEM", terms: ["amoxicilina"] },
      { type: "CHEM", patterns: [/amoxicilina-\p{L}+/u] },
      { type: "DOSE", patterns: ["\\d+ ?mg", "\\d"] },
    ]);
    expect(found(text, match(text))).toEqual([["amoxicilina", "CHEM"], ["500 mg", "DOSE"], ["amoxicilina-clavulánico", "CHEM"]]);
  });

  it("matches across CRLF and repeated spaces", () => {
    const text = "insuficiencia\r\ncardiaca  congestiva";
    expect(found(text, termMatcher([{ type: "DISO", terms: ["insuficiencia cardiaca congestiva"] }])(text))).toEqual([[text, "DISO"]]);
  });
});

describe("termMatcher attribute cues", () => {
  const negation = { attribute: "certainty", value: "negated", words: ["no", "niega", "sin", "denies", "no evidence of"], until: ["pero", "but"] };

  it("sets certainty=negated on matches shortly after a cue, in the same sentence, before any `until` word", () => {
    const text = "Niega fiebre. Tos sin expectoración ni disnea. No refiere dolor torácico pero sí disnea. Fiebre alta.";
    const match = termMatcher([{ type: "DISO", terms: ["fiebre", "tos", "expectoración", "disnea", "dolor torácico"], cues: [negation] }]);
    expect(match(text).map((span) => [text.slice(span.start, span.end), span.attributes?.certainty ?? "-"])).toEqual([
      ["fiebre", "negated"],
      ["Tos", "-"],
      ["expectoración", "negated"],
      ["disnea", "negated"],
      ["dolor torácico", "negated"],
      // "pero" ends the cue's reach.
      ["disnea", "-"],
      // The period ends the first sentence's "Niega".
      ["Fiebre", "-"],
    ]);
  });

  it("counts the window in words, matches multi-word cues and leaves other lists alone", () => {
    const text = "No evidence of acute pulmonary embolism; no history of bleeding. Aspirin not given.";
    const lists = [
      { type: "DISO", terms: ["pulmonary embolism", "bleeding"], cues: [{ ...negation, window: 1 }] },
      { type: "CHEM", terms: ["aspirin"] },
    ];
    const spans = termMatcher(lists)(text);
    // "no evidence of | acute | pulmonary embolism": one word between, inside a window of 1;
    // "no | history of | bleeding": two words between, outside it (a window of 4 reaches).
    expect(spans.map((span) => [text.slice(span.start, span.end), span.attributes])).toEqual([
      ["pulmonary embolism", { certainty: "negated" }],
      ["bleeding", undefined],
      ["Aspirin", undefined],
    ]);
    expect(termMatcher([{ ...lists[0], cues: [{ ...negation, window: 4 }] }])(text)[1].attributes).toEqual({ certainty: "negated" });
  });
});
