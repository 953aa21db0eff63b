import { describe, expect, it } from "vitest";
import type { Span } from "../../../src/core/corpus/types.ts";
import { spanMetrics } from "../../../src/core/eval/span-metrics.ts";
import {
  DEFAULT_ERROR_PROFILE,
  calibrateScale,
  plausibleChunks,
  scaleProfile,
  simulateAnnotation,
  simulateCorpus,
  type ErrorProfile,
} from "../../../src/core/eval/simulate-annotator.ts";

const TYPES = ["ANAT", "CHEM", "DISO", "PROC"];

/** Hand-made notes: each entity's words and type, the note's text the words joined by filler. */
function makeNote(parts: (string | [string, string])[]): { text: string; gold: Span[] } {
  let text = "";
  const gold: Span[] = [];
  for (const part of parts) {
    if (typeof part === "string") text += part;
    else {
      gold.push({ start: text.length, end: text.length + part[0].length, type: part[1] });
      text += part[0];
    }
  }
  return { text, gold };
}

const NOTES = Array.from({ length: 40 }, (_, i) =>
  makeNote([
    `Paciente ${i} con `,
    ["dolor abdominal", "DISO"],
    " intenso y ",
    ["fiebre", "DISO"],
    ". Se realiza una ",
    ["ecografía", "PROC"],
    " del ",
    ["hígado", "ANAT"],
    " y se pauta ",
    ["paracetamol", "CHEM"],
    " oral. Refiere Cansancio general desde hace semanas, sin Hepatomegalia palpable ni otros hallazgos en la exploración física.",
  ]),
);

const NONE: ErrorProfile = { missRate: 0, spuriousRate: 0, boundaryRate: 0, typeRate: 0 };
const f1 = (notes: typeof NOTES, predicted: Span[][]) => spanMetrics(notes.map((n, i) => ({ gold: n.gold, pred: predicted[i] }))).strict.micro;
const key = (s: Span) => `${s.start}:${s.end}:${s.type}`;

describe("simulateAnnotation", () => {
  it("returns gold, confidence 1, with no errors", () => {
    const spans = simulateAnnotation(NOTES[0], { profile: NONE, types: TYPES, seed: 1, samples: 3 });
    expect(spans.map(key)).toEqual(NOTES[0].gold.map(key));
    expect(spans.every((s) => s.confidence === 1)).toBe(true);
  });

  it("is deterministic per seed and note, and differs across seeds", () => {
    const profile = scaleProfile(DEFAULT_ERROR_PROFILE, 1);
    const a = simulateCorpus(NOTES, { profile, types: TYPES, seed: 3 });
    const b = simulateCorpus(NOTES, { profile, types: TYPES, seed: 3 });
    const c = simulateCorpus(NOTES, { profile, types: TYPES, seed: 4 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    // A note is annotated the same way whatever else is annotated with it.
    expect(simulateCorpus(NOTES.slice(5, 6), { profile, types: TYPES, seed: 3 })[0]).toEqual(a[5]);
  });

  it("makes each kind of error alone", () => {
    const run = (profile: Partial<ErrorProfile>) => {
      const predicted = simulateCorpus(NOTES, { profile: { ...NONE, ...profile }, types: TYPES, seed: 2 });
      return { predicted, metrics: spanMetrics(NOTES.map((n, i) => ({ gold: n.gold, pred: predicted[i] }))) };
    };
    const missed = run({ missRate: 0.5 }).metrics;
    expect(missed.strict.micro.precision).toBe(1);
    expect(missed.strict.micro.recall).toBeGreaterThan(0.35);
    expect(missed.strict.micro.recall).toBeLessThan(0.65);

    const spurious = run({ spuriousRate: 0.5 });
    expect(spurious.metrics.strict.micro.recall).toBe(1);
    expect(spurious.metrics.errors.fp.spurious).toBeGreaterThan(0);
    expect(spurious.metrics.errors.fp.spurious).toBe(spurious.metrics.strict.micro.fp);
    // Spurious spans lie on plausible text: capitalised or medical-looking words, noun-like chunks.
    const words = spurious.predicted.flatMap((spans, i) => spans.filter((s) => !NOTES[i].gold.some((g) => key(g) === key(s))).map((s) => NOTES[i].text.slice(s.start, s.end)));
    expect(words.length).toBeGreaterThan(0);
    for (const w of words) expect(w).toMatch(/^\p{L}/u);
    expect(words.some((w) => /Hepatomegalia|Cansancio|exploración/.test(w))).toBe(true);

    const shifted = run({ boundaryRate: 1 }).metrics;
    expect(shifted.strict.micro.f1).toBeLessThan(0.3);
    expect(shifted.lenient.micro.recall).toBeGreaterThan(0.9);

    const retyped = run({ typeRate: 1 }).metrics;
    expect(retyped.strict.micro.tp).toBe(0);
    expect(retyped.errors.fp.type).toBe(retyped.strict.micro.fp);
  });

  it("prefers the given confusions and types spurious spans by guessType", () => {
    const predicted = simulateCorpus(NOTES, {
      profile: { ...NONE, typeRate: 1 },
      types: TYPES,
      seed: 1,
      confusions: { DISO: ["PROC"] },
    });
    const diso = predicted.flatMap((spans, i) => spans.filter((s) => NOTES[i].gold.some((g) => g.start === s.start && g.type === "DISO")));
    expect(diso.length).toBeGreaterThan(0);
    expect(diso.every((s) => s.type === "PROC")).toBe(true);

    const guessed = simulateCorpus(NOTES, { profile: { ...NONE, spuriousRate: 1 }, types: TYPES, seed: 1, guessType: () => "CHEM" });
    const extra = guessed.flatMap((spans, i) => spans.filter((s) => !NOTES[i].gold.some((g) => key(g) === key(s))));
    expect(extra.length).toBeGreaterThan(0);
    expect(extra.every((s) => s.type === "CHEM")).toBe(true);
  });

  it("gives confidences from self-consistency samples, never overlapping spans", () => {
    const profile = scaleProfile(DEFAULT_ERROR_PROFILE, 1);
    const predicted = simulateCorpus(NOTES, { profile, types: TYPES, seed: 5, samples: 5, consistency: 0.5 });
    const confidences = new Set(predicted.flat().map((s) => s.confidence));
    for (const c of confidences) expect([0.6, 0.8, 1]).toContain(c);
    expect(confidences.size).toBeGreaterThan(1);
    for (const spans of predicted) {
      for (let i = 1; i < spans.length; i++) expect(spans[i].start).toBeGreaterThanOrEqual(spans[i - 1].end);
    }
    // Confident spans are right more often than doubtful ones.
    const precisionAt = (keep: (c: number) => boolean) => {
      let right = 0;
      let all = 0;
      predicted.forEach((spans, i) => {
        const gold = new Set(NOTES[i].gold.map(key));
        for (const s of spans.filter((x) => keep(x.confidence!))) {
          all++;
          if (gold.has(key(s))) right++;
        }
      });
      return right / all;
    };
    expect(precisionAt((c) => c === 1)).toBeGreaterThan(precisionAt((c) => c < 1));
  });
});

describe("plausibleChunks", () => {
  it("finds capitalised and medical-looking words and noun-like chunks, never across punctuation", () => {
    const text = "Mujer con cefalea y dolor de cabeza. Gastritis crónica, sin más.";
    const chunks = plausibleChunks(text).map((c) => text.slice(c.start, c.end));
    expect(chunks).toContain("Mujer");
    expect(chunks).toContain("cefalea");
    expect(chunks).toContain("dolor de cabeza");
    expect(chunks).toContain("Gastritis crónica");
    expect(chunks).not.toContain("con");
    expect(chunks.some((c) => c.includes("."))).toBe(false);
    expect(chunks.some((c) => c.includes(","))).toBe(false);
  });
});

describe("calibrateScale", () => {
  it.each([0.5, 0.65, 0.8])("finds the scale that gives strict F1 %s against gold", (target) => {
    const calibration = calibrateScale(NOTES, target, { types: TYPES, seed: 9, samples: 3 });
    expect(Math.abs(calibration.strictF1 - target)).toBeLessThan(0.03);
    expect(calibration.lenientF1).toBeGreaterThanOrEqual(calibration.strictF1);
    const again = simulateCorpus(NOTES, { types: TYPES, seed: 9, samples: 3, profile: calibration.profile });
    expect(f1(NOTES, again).f1).toBeCloseTo(calibration.strictF1, 10);
  });

  it("scales every rate, caps probabilities, and rejects bad targets", () => {
    expect(scaleProfile(DEFAULT_ERROR_PROFILE, 0)).toEqual(NONE);
    const big = scaleProfile(DEFAULT_ERROR_PROFILE, 10);
    expect(big.missRate).toBe(0.95);
    expect(big.spuriousRate).toBeCloseTo(DEFAULT_ERROR_PROFILE.spuriousRate * 10);
    expect(() => calibrateScale(NOTES, 0, { types: TYPES, seed: 1 })).toThrow(RangeError);
    expect(() => scaleProfile(DEFAULT_ERROR_PROFILE, -1)).toThrow(RangeError);
    // Gold is reachable: a target of 1 needs no errors.
    expect(calibrateScale(NOTES, 1, { types: TYPES, seed: 1 }).strictF1).toBeCloseTo(1, 2);
  });
});
