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
