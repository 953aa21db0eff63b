import { describe, expect, it } from "vitest";
import { annotateNote, type AnnotateContext } from "../../../src/core/annotate/annotator.ts";
import { fakeEngine } from "../../../src/core/annotate/chat.ts";
import { ChatUnavailableError, UnparseableOutputError } from "../../../src/core/annotate/errors.ts";
import { schemaWithTypes } from "../../../src/core/schema/types.ts";

const schema = schemaWithTypes(["DISO", "CHEM"]);
// JSON answers below: most tests use the constrained format.
const json = { format: "grouped-json" as const };
const note = { id: "n1", text: "Fiebre y tos seca. Se pauta paracetamol." };
const slice = (spans: { start: number; end: number; type: string }[], text = note.text) => spans.map((span) => [text.slice(span.start, span.end), span.type]);

describe("annotateNote with an LLM", () => {
  it("defaults to one greedy sample in type-rows, without a response_format", async () => {
    const engine = fakeEngine(() => "DISO: Fiebre; tos seca\nCHEM: paracetamol");
    const result = await annotateNote(note, { schema, backend: { kind: "llm", engine } });
    expect(slice(result.spans)).toEqual([["Fiebre", "DISO"], ["tos seca", "DISO"], ["paracetamol", "CHEM"]]);
    expect(engine.requests[0].temperature).toBe(0);
    expect(engine.requests[0].response_format).toBeUndefined();
  });

  it("sends the JSON format's schema, and keeps every raw answer", async () => {
    const engine = fakeEngine(() => '{"DISO":["Fiebre","tos seca"],"CHEM":["paracetamol"]}');
    const result = await annotateNote(note, { schema, format: "grouped-json", backend: { kind: "llm", engine } });
    expect(slice(result.spans)).toEqual([["Fiebre", "DISO"], ["tos seca", "DISO"], ["paracetamol", "CHEM"]]);
    expect(result.spans.every((span) => span.confidence === 1)).toBe(true);
    expect(engine.requests[0]).toMatchObject({ temperature: 0, n: 1, response_format: { type: "json_schema" } });
    expect(result.raw).toEqual([{ chunk: 0, sample: 0, attempt: 0, content: '{"DISO":["Fiebre","tos seca"],"CHEM":["paracetamol"]}', finishReason: "stop" }]);
    expect(result.usage.calls).toBe(1);
    expect(result.usage.completionTokens).toBeGreaterThan(0);
    expect(result.promptHash).toMatch(/^[0-9a-f]{16}$/);
  });

  it("computes self-consistency confidences (hand-computed) and applies the threshold", async () => {
    // Three samples: Fiebre in 3/3, tos seca in 2/3, paracetamol in 1/3, "tos" (overlaps "tos seca") in 1/3.
    const answers = [
      '{"DISO":["Fiebre","tos seca"],"CHEM":["paracetamol"]}',
      '{"DISO":["Fiebre","tos seca"]}',
      '{"DISO":["Fiebre","tos"]}',
    ];
    const engine = fakeEngine((_, at) => answers[at.sample]);
    const context: AnnotateContext = { schema, ...json, backend: { kind: "llm", engine, options: { samples: 3, threshold: 0 } } };
    const all = await annotateNote(note, context);
    expect(all.spans.map((span) => [note.text.slice(span.start, span.end), span.confidence])).toEqual([
      ["Fiebre", 1],
      ["tos seca", 2 / 3],
      ["paracetamol", 1 / 3],
    ]);
    expect(engine.requests[0]).toMatchObject({ n: 3, temperature: 0.7 });

    const kept = await annotateNote(note, { ...context, backend: { kind: "llm", engine, options: { samples: 3, threshold: 0.5 } } });
    expect(slice(kept.spans)).toEqual([["Fiebre", "DISO"], ["tos seca", "DISO"]]);
  });

  it("tops up samples when the engine returns fewer choices than n", async () => {
    const engine = {
      calls: 0,
      async complete() {
        this.calls++;
        return { choices: [{ message: { content: '{"DISO":["Fiebre"]}' }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1 } };
      },
    };
    const result = await annotateNote(note, { schema, ...json, backend: { kind: "llm", engine, options: { samples: 3 } } });
    expect(engine.calls).toBe(3);
    expect(result.spans[0].confidence).toBe(1);
  });

  it("asks again once with the problem when the answer cannot be read, then succeeds", async () => {
    const engine = fakeEngine((request) => (request.messages.length > 2 ? '{"DISO":["Fiebre"]}' : "Sure! The entities are fever and cough."));
    const result = await annotateNote(note, { schema, ...json, backend: { kind: "llm", engine } });
    expect(slice(result.spans)).toEqual([["Fiebre", "DISO"]]);
    expect(engine.requests).toHaveLength(2);
    const retry = engine.requests[1].messages;
    expect(retry.at(-2)).toEqual({ role: "assistant", content: "Sure! The entities are fever and cough." });
    expect(retry.at(-1)!.content).toMatch(/could not be read: no JSON object/);
    expect(result.raw.map((raw) => raw.attempt)).toEqual([0, 1]);
    expect(result.problems.map((p) => p.kind)).toContain("retried");
  });

  it("fails the note with a typed error when the repair turn is unreadable too", async () => {
    const engine = fakeEngine(() => "no");
    await expect(annotateNote(note, { schema, ...json, backend: { kind: "llm", engine } })).rejects.toThrow(UnparseableOutputError);
    expect(engine.requests).toHaveLength(2);
  });

  it("reports mentions absent from the note and rejected types instead of dropping them", async () => {
    const engine = fakeEngine(() => '{"DISO":["Fiebre","neumonía bilateral grave"],"Dose":["1 g"]}');
    const result = await annotateNote(note, { schema, ...json, backend: { kind: "llm", engine } });
    expect(slice(result.spans)).toEqual([["Fiebre", "DISO"]]);
    expect(result.unplaced.map((item) => item.mention.text)).toEqual(["neumonía bilateral grave"]);
    expect(result.rejected).toEqual([{ text: "1 g", type: "Dose" }]);
    expect(result.problems.map((p) => p.kind).sort()).toEqual(["rejected-type", "unplaced"]);
  });

  it("fails with ChatUnavailableError when the engine never answers within the time-out", async () => {
    const engine = fakeEngine(() => new Promise<string>(() => {}));
    const started = performance.now();
    await expect(annotateNote(note, { schema, backend: { kind: "llm", engine, options: { timeoutMs: 100 } } })).rejects.toThrow(ChatUnavailableError);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it("annotates a long note chunk by chunk; a mention across a chunk boundary appears once, whole", async () => {
    const filler = (i: number) => `Frase de relleno número ${i} sin hallazgos.`;
    const parts = [...Array.from({ length: 6 }, (_, i) => filler(i)), "Presenta insuficiencia cardiaca congestiva descompensada.", ...Array.from({ length: 6 }, (_, i) => filler(i + 6))];
    const text = parts.join(" ");
    // The fake model sees each chunk: it lists the entity if whole, or the part of it that the chunk holds.
    const engine = fakeEngine((request) => {
      const chunk = request.messages.at(-1)!.content;
      const found: string[] = [];
      if (chunk.includes("insuficiencia cardiaca congestiva")) found.push("insuficiencia cardiaca congestiva");
      else if (chunk.includes("insuficiencia")) found.push("insuficiencia");
      if (chunk.includes("relleno número 3")) found.push("relleno número 3");
      return JSON.stringify({ DISO: found });
    });
    const result = await annotateNote({ id: "long", text }, { schema, ...json, backend: { kind: "llm", engine, options: { chunkChars: 200, chunkOverlap: 80 } } });
    expect(engine.requests.length).toBeGreaterThan(2);
    expect(slice(result.spans, text)).toEqual([
      ["relleno número 3", "DISO"],
      ["insuficiencia cardiaca congestiva", "DISO"],
    ]);
  });
});

describe("annotateNote with term lists and a model", () => {
  it("matches terms and patterns, longest first", async () => {
    const result = await annotateNote(note, {
      schema,
      backend: { kind: "terms", lists: [{ type: "DISO", terms: ["tos", "TOS SECA", "fiebre"] }, { type: "CHEM", patterns: ["parac\\w+"] }] },
    });
    expect(slice(result.spans)).toEqual([["Fiebre", "DISO"], ["tos seca", "DISO"], ["paracetamol", "CHEM"]]);
    expect(result.spans.every((span) => span.match === "term" && span.confidence === 1)).toBe(true);
  });

  it("adapts a model's predict function", async () => {
    const result = await annotateNote(note, { schema, backend: { kind: "model", predict: async () => [{ start: 0, end: 6, type: "DISO", confidence: 0.8 }] } });
    expect(result.spans).toEqual([{ start: 0, end: 6, type: "DISO", confidence: 0.8, match: "model", score: 1 }]);
  });
});
