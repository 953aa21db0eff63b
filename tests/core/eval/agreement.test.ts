import { describe, expect, it } from "vitest";
import type { Span } from "../../../src/core/corpus/types.ts";
import { cohensKappa, spanAgreement, tokenKappa, tokenTypes } from "../../../src/core/eval/agreement.ts";

const span = (start: number, end: number, type: string): Span => ({ start, end, type });
// Ten 1-character tokens 2 apart ("a b c d ..."), plus [CLS] at the front.
const tokens = [{ start: 0, end: 0 }, ...Array.from({ length: 10 }, (_, i) => ({ start: 2 * i, end: 2 * i + 1 }))];

describe("cohensKappa", () => {
  it("matches a hand-computed 2x2 table", () => {
    // a\b  Y  N      po = 0.7, pe = 0.5*0.6 + 0.5*0.4 = 0.5, kappa = 0.4
    // Y   20  5
    // N   10 15
    const pairs: [string, string][] = [
      ...Array<[string, string]>(20).fill(["Y", "Y"]),
      ...Array<[string, string]>(5).fill(["Y", "N"]),
      ...Array<[string, string]>(10).fill(["N", "Y"]),
      ...Array<[string, string]>(15).fill(["N", "N"]),
    ];
    expect(cohensKappa(pairs)).toBeCloseTo(0.4, 12);
  });

  it("is 1 for perfect agreement, even on a single label, and 0 with no pairs", () => {
    expect(cohensKappa([["O", "O"], ["O", "O"]])).toBe(1);
    expect(cohensKappa([["A", "A"], ["B", "B"]])).toBe(1);
    expect(cohensKappa([])).toBe(0);
  });
});

describe("tokenKappa", () => {
  it("labels tokens with span types and skips special tokens", () => {
    expect(tokenTypes(tokens, [span(2, 6, "X")])).toEqual([null, "O", "X", "X", "O", "O", "O", "O", "O", "O", "O"]);
  });

  it("computes kappa over all tokens and over annotated tokens", () => {
    const result = tokenKappa([
      {
        tokens,
        a: [span(0, 3, "X"), span(8, 9, "Y")], // tokens 0,1 X; 4 Y
        b: [span(0, 1, "X"), span(8, 11, "X")], // token 0 X; 4,5 X
      },
    ]);
    // pairs: (X,X) (X,O) O O (Y,X) (O,X) O O O O
    expect(result.tokens).toBe(10);
    expect(result.annotatedTokens).toBe(4);
    expect(result.observed).toBeCloseTo(0.7, 12);
    // all: a = {X:2, Y:1, O:7}, b = {X:3, O:7}: pe = (2*3 + 7*7) / 100 = 0.55
    expect(result.kappa).toBeCloseTo((0.7 - 0.55) / 0.45, 12);
    // annotated: pairs (X,X) (X,O) (Y,X) (O,X): po = 0.25, a = {X:2,Y:1,O:1}, b = {X:3,O:1}
    // pe = (2*3 + 1*1) / 16 = 7/16
    expect(result.kappaAnnotated).toBeCloseTo((0.25 - 7 / 16) / (1 - 7 / 16), 12);
  });
});

describe("spanAgreement", () => {
  it("gives strict and lenient F1 between annotators, symmetric in a and b", () => {
    const a = [span(0, 5, "X"), span(10, 15, "Y"), span(20, 25, "X")];
    const b = [span(0, 5, "X"), span(11, 15, "Y")];
    const ab = spanAgreement([{ a, b }]);
    const ba = spanAgreement([{ a: b, b: a }]);
    expect(ab.strict).toMatchObject({ tp: 1, fp: 1, fn: 2 });
    expect(ab.strict.f1).toBeCloseTo(0.4, 12);
    expect(ab.lenient.f1).toBeCloseTo(0.8, 12);
    expect(ba.strict.f1).toBeCloseTo(ab.strict.f1, 12);
    expect(ba.lenient.f1).toBeCloseTo(ab.lenient.f1, 12);
  });
});
