import { describe, expect, it } from "vitest";
import { alignMentions, exactOccurrences, isBounded, resolveOverlaps } from "../../../src/core/annotate/align.ts";
import { mentionsFromSpans } from "../../../src/core/annotate/gold.ts";

const at = (text: string, words: string, from = 0) => {
  const start = text.indexOf(words, from);
  if (start < 0) throw new Error(`${words} not in text`);
  return { start, end: start + words.length };
};
const simple = (spans: { start: number; end: number; type: string }[]) => spans.map(({ start, end, type }) => ({ start, end, type }));

describe("alignMentions", () => {
  it("places exact words and says how they were found", () => {
    const text = "Mujer de 41 años con fiebre y tos.";
    const { spans, unplaced } = alignMentions(text, [{ text: "fiebre", type: "DISO" }, { text: "tos", type: "DISO" }]);
    expect(simple(spans)).toEqual([
      { ...at(text, "fiebre"), type: "DISO" },
      { ...at(text, "tos"), type: "DISO" },
    ]);
    expect(spans.map((span) => span.match)).toEqual(["exact", "exact"]);
    expect(unplaced).toEqual([]);
  });

  it("tags every occurrence of words listed once (documented policy)", () => {
    const text = "Dolor torácico. Refiere fiebre. A las 48 h persiste la fiebre.";
    const { spans } = alignMentions(text, [{ text: "fiebre", type: "DISO" }]);
    expect(simple(spans)).toEqual([
      { ...at(text, "fiebre"), type: "DISO" },
      { ...at(text, "fiebre", at(text, "fiebre").end), type: "DISO" },
    ]);
  });

  it("places words listed twice on successive occurrences and reports the extra listing", () => {
    const text = "tos, tos y tos";
    const { spans, unplaced } = alignMentions(text, [
      { text: "tos", type: "DISO" },
      { text: "tos", type: "DISO" },
    ]);
    expect(simple(spans)).toEqual([
      { start: 0, end: 3, type: "DISO" },
      { start: 5, end: 8, type: "DISO" },
    ]);
    const four = alignMentions("tos y tos", Array.from({ length: 3 }, () => ({ text: "tos", type: "DISO" })));
    expect(four.spans).toHaveLength(2);
    expect(four.unplaced).toHaveLength(1);
    expect(four.unplaced[0].reason).toMatch(/listed 3 times.*2 time/);
  });

  it("places only the asked occurrence, and reports one that does not exist", () => {
    const text = "Se descarta infección. Infección urinaria: infección confirmada.";
    const { spans, unplaced } = alignMentions(text, [
      { text: "infección", type: "DISO", occurrence: 2 },
      { text: "infección", type: "DISO", occurrence: 5 },
    ]);
    const second = text.lastIndexOf("infección");
    expect(simple(spans)).toEqual([{ start: second, end: second + 9, type: "DISO" }]);
    expect(unplaced).toHaveLength(1);
    expect(unplaced[0].reason).toMatch(/occurrence 5.*2 time/);
  });

  it("does not match inside a longer word, but does when that is the only place", () => {
    const text = "Lesión no dolorosa; dolor leve.";
    const { spans } = alignMentions(text, [{ text: "dolor", type: "DISO" }]);
    const free = text.indexOf("dolor leve");
    expect(simple(spans)).toEqual([{ start: free, end: free + 5, type: "DISO" }]);
    const only = alignMentions("Antígeno Carcinoembrionario7.05", [{ text: "Antígeno Carcinoembrionario", type: "PROC" }]);
    expect(simple(only.spans)).toEqual([{ start: 0, end: 27, type: "PROC" }]);
  });

  it("matches Spanish accents written in another Unicode form and case, with original offsets", () => {
    const text = "Antecedentes: DIABETES MELLITUS. Exploración: cicatriz en regio\u0301n frontal."; // NFD é
    const { spans } = alignMentions(text, [
      { text: "diabetes mellitus", type: "DISO" },
      { text: "región frontal", type: "ANAT" }, // NFC é
    ]);
    expect(spans.map((span) => [text.slice(span.start, span.end), span.match])).toEqual([
      ["DIABETES MELLITUS", "normalized"],
      ["regio\u0301n frontal", "normalized"],
    ]);
  });

  it("matches full-width Japanese and ASCII and keeps original offsets", () => {
    const text = "患者は造影ＣＴ検査で肝腫瘍を指摘された。";
    const { spans } = alignMentions(text, [
      { text: "造影CT検査", type: "PROC" },
      { text: "肝腫瘍", type: "DISO" },
    ]);
    expect(spans.map((span) => [text.slice(span.start, span.end), span.type, span.match])).toEqual([
      ["造影ＣＴ検査", "PROC", "normalized"],
      ["肝腫瘍", "DISO", "exact"],
    ]);
    // No spaces between Japanese words: a substring is a match.
    expect(isBounded(text, text.indexOf("腫瘍"), text.indexOf("腫瘍") + 2)).toBe(true);
  });

  it("maps a mention written on one line onto a span that crosses a CRLF", () => {
    const text = "Dx: insuficiencia\r\ncardiaca congestiva.\r\nPlan: furosemida.";
    const { spans } = alignMentions(text, [
      { text: "insuficiencia cardiaca congestiva", type: "DISO" },
      { text: "furosemida", type: "CHEM" },
    ]);
    expect(spans.map((span) => text.slice(span.start, span.end))).toEqual(["insuficiencia\r\ncardiaca congestiva", "furosemida"]);
  });

  it("finds a misspelt long mention fuzzily, with its similarity, and gives up on far ones", () => {
    const text = "Se diagnostica neumonía adquirida en la comunidad y se pauta amoxicilina.";
    const { spans, unplaced } = alignMentions(text, [
      { text: "neumonia adquirida en comunidad", type: "DISO" },
      { text: "hepatitis fulminante", type: "DISO" },
      { text: "gripe", type: "DISO" },
    ]);
    expect(spans).toHaveLength(1);
    expect(text.slice(spans[0].start, spans[0].end)).toBe("neumonía adquirida en la comunidad");
    expect(spans[0].match).toBe("fuzzy");
    expect(spans[0].score).toBeGreaterThan(0.85);
    expect(spans[0].score).toBeLessThan(1);
    expect(unplaced.map((item) => item.mention.text)).toEqual(["hepatitis fulminante", "gripe"]);
    expect(unplaced.every((item) => /not in the note/.test(item.reason))).toBe(true);
  });

  it("resolves overlaps: the longer span wins; same span, two types: the first listed", () => {
    const text = "dolor abdominal intenso";
    const { spans, unplaced, dropped } = alignMentions(text, [
      { text: "dolor", type: "DISO" },
      { text: "dolor abdominal", type: "DISO" },
      { text: "abdominal", type: "ANAT" },
    ]);
    expect(simple(spans)).toEqual([{ start: 0, end: 15, type: "DISO" }]);
    expect(unplaced.map((item) => item.mention.text).sort()).toEqual(["abdominal", "dolor"]);
    expect(unplaced[0].reason).toMatch(/overlaps \[0, 15\)/);
    expect(dropped).toEqual([]);

    const twice = alignMentions("fiebre", [
      { text: "fiebre", type: "DISO" },
      { text: "fiebre", type: "PHYS" },
    ]);
    expect(simple(twice.spans)).toEqual([{ start: 0, end: 6, type: "DISO" }]);
    expect(twice.unplaced[0].reason).toMatch(/already marked DISO/);
  });

  it("keeps a mention's other occurrences when one of them loses an overlap (audit in dropped)", () => {
    const text = "dolor abdominal y dolor";
    const { spans, dropped } = alignMentions(text, [
      { text: "dolor abdominal", type: "DISO" },
      { text: "dolor", type: "DISO" },
    ]);
    expect(simple(spans)).toEqual([
      { start: 0, end: 15, type: "DISO" },
      { start: 18, end: 23, type: "DISO" },
    ]);
    expect(dropped.map((item) => [item.span.start, item.span.end])).toEqual([[0, 5]]);
  });

  it("handles 10,000 mentions absent from the note within the fuzzy budget", () => {
    const mentions = Array.from({ length: 10_000 }, (_, i) => ({ text: `entidad inexistente número ${i}`, type: "DISO" }));
    const started = performance.now();
    const { spans, unplaced } = alignMentions("Paciente sin antecedentes de interés. ".repeat(20), mentions);
    expect(spans).toEqual([]);
    expect(unplaced).toHaveLength(10_000);
    expect(unplaced.at(-1)!.reason).toMatch(/budget/);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe("resolveOverlaps", () => {
  it("prefers confidence over length", () => {
    const { kept } = resolveOverlaps([
      { start: 0, end: 15, type: "DISO", confidence: 0.4 },
      { start: 0, end: 5, type: "DISO", confidence: 0.9 },
    ]);
    expect(kept).toEqual([{ start: 0, end: 5, type: "DISO", confidence: 0.9 }]);
  });
});

describe("mentionsFromSpans (gold -> what a model should write)", () => {
  it("writes words once when all their occurrences are gold, with occurrence numbers otherwise, and round-trips", () => {
    const text = "Fiebre y tos. Sin fiebre previa. Tos seca; la tos cede.";
    const gold = [
      { ...at(text, "Fiebre"), type: "DISO" },
      { ...at(text, "tos"), type: "DISO" },
      { ...at(text, "tos", 40), type: "DISO" },
      { ...at(text, "Tos seca"), type: "DISO" },
    ];
    const mentions = mentionsFromSpans(text, gold);
    expect(mentions).toEqual([
      { text: "Fiebre", type: "DISO" },
      { text: "tos", type: "DISO" },
      { text: "Tos seca", type: "DISO" },
    ]);
    const partial = [{ ...at(text, "tos", 40), type: "DISO" }];
    expect(mentionsFromSpans(text, partial)).toEqual([{ text: "tos", type: "DISO", occurrence: 2 }]);
    expect(exactOccurrences(text, "tos")).toHaveLength(2);
    for (const spans of [gold, partial]) {
      expect(simple(alignMentions(text, mentionsFromSpans(text, spans)).spans)).toEqual(simple([...spans].sort((a, b) => a.start - b.start)));
    }
  });
});
