// annotateNote with a fake engine whose answers carry attributes, relations and document
// labels: attributes land on the aligned spans; relations point at the right spans after
// alignment, voting and chunk merging, and those that cannot be placed are recorded;
// labels are checked, voted and merged across chunks.
import { describe, expect, it } from "vitest";
import { annotateNote } from "../../../src/core/annotate/annotator.ts";
import { fakeEngine, type ChatRequest } from "../../../src/core/annotate/chat.ts";
import { splitIntoChunks } from "../../../src/core/annotate/chunk.ts";
import { TermListError } from "../../../src/core/annotate/errors.ts";
import { FORMAT_NAMES, outputFormat } from "../../../src/core/annotate/format.ts";
import { answerFromAnnotation } from "../../../src/core/annotate/gold.ts";
import { buildPrompt } from "../../../src/core/annotate/prompt.ts";
import type { AnnotatedSpan } from "../../../src/core/annotate/types.ts";
import type { Relation } from "../../../src/core/corpus/types.ts";
import { IE_SCHEMA } from "./ie-schema.ts";

const schema = IE_SCHEMA;
const words = (text: string, spans: readonly AnnotatedSpan[]) => spans.map((span) => text.slice(span.start, span.end));
/** Relations as "from words -type-> to words", from note text. */
const relationText = (text: string, spans: readonly AnnotatedSpan[], relations: readonly Relation[]) =>
  relations.map((relation) => `${text.slice(spans[relation.from].start, spans[relation.from].end)} -${relation.type}-> ${text.slice(spans[relation.to].start, spans[relation.to].end)}`);
const chunkOf = (request: ChatRequest) => request.messages.at(-1)!.content.replace(/^Note:\n"""\n/, "").replace(/\n"""$/, "");

describe("annotateNote with attributes, relations and labels", () => {
  const note = { id: "n1", text: "Niega fiebre. Tos seca. Se pauta aspirina; luego aspirina 100 mg. Exfumador." };

  it("puts attributes on the spans, relations between the right spans, labels on the note", async () => {
    // Items: 1 fiebre, 2 Tos seca, 3 neumonía (not in the note), 4 aspirina, 5 100 mg.
    const answer = [
      "DISO: fiebre [negated]; Tos seca; neumonía [suspected]",
      "CHEM: aspirina",
      "DOSE: 100 mg",
      "Relations: has_dose 4>5; treats 4>3",
      "Labels: smoking=former; services=urgencias",
    ].join("\n");
    const result = await annotateNote(note, { schema, backend: { kind: "llm", engine: fakeEngine(() => answer) } });
    expect(words(note.text, result.spans)).toEqual(["fiebre", "Tos seca", "aspirina", "aspirina", "100 mg"]);
    expect(result.spans.map((span) => span.attributes)).toEqual([{ certainty: "negated" }, undefined, undefined, undefined, undefined]);
    // "aspirina" is listed once (every occurrence); its dose goes with the one next to it.
    expect(relationText(note.text, result.spans, result.relations)).toEqual(["aspirina -has_dose-> 100 mg"]);
    expect(result.relations[0]).toMatchObject({ from: 3, to: 4, confidence: 1 });
    // The relation to a mention that is not in the note is recorded, not dropped or re-pointed.
    expect(result.unplacedRelations).toEqual([
      { type: "treats", from: "aspirina (CHEM)", to: "neumonía (DISO)", reason: expect.stringMatching(/^neumonía \(DISO\) could not be placed: not in the note/) },
    ]);
    expect(result.unplaced.map((item) => item.mention)).toEqual([{ text: "neumonía", type: "DISO", attributes: { certainty: "suspected" } }]);
    expect(result.labels).toEqual({ smoking: ["former"], services: ["urgencias"] });
    expect(result.problems.map((problem) => problem.kind)).toEqual(["unplaced", "unplaced-relation"]);
  });

  it("asks WebLLM's format for labels (required), relations and attribute enums in the response schema", async () => {
    const engine = fakeEngine(() => '{"DISO":[{"text":"fiebre","certainty":"negated"}],"labels":{"smoking":"never","services":[]}}');
    const result = await annotateNote(note, { schema, format: "grouped-json", backend: { kind: "llm", engine } });
    const format = engine.requests[0].response_format!;
    expect(format.type === "json_schema" && format.json_schema.schema).toMatchObject({ required: ["labels"], properties: { relations: { type: "object" } } });
    expect(result.spans).toMatchObject([{ type: "DISO", attributes: { certainty: "negated" } }]);
    expect(result.labels).toEqual({ smoking: ["never"], services: [] });
    const system = engine.requests[0].messages[0].content;
    expect(system).toContain("Attribute certainty: affirmed (default) | negated | suspected");
    expect(system).toContain("- has_dose: CHEM -> DOSE");
    expect(system).toContain("- services (any of): urgencias | cardiología");
  });

  it("votes attributes, relations and labels over samples (hand-computed fractions)", async () => {
    const answers = [
      "DISO: fiebre [negated]\nCHEM: aspirina #2\nDOSE: 100 mg\nRelations: has_dose 2>3\nLabels: smoking=former; services=urgencias",
      "DISO: fiebre [negated]\nCHEM: aspirina #2\nDOSE: 100 mg\nRelations: has_dose 2>3\nLabels: smoking=never; services=urgencias|cardiología",
      "DISO: fiebre\nCHEM: aspirina #2\nDOSE: 100 mg\nLabels: smoking=former",
    ];
    const engine = fakeEngine((_, at) => answers[at.sample]);
    const result = await annotateNote(note, { schema, backend: { kind: "llm", engine, options: { samples: 3 } } });
    // fiebre: negated in 2 of 3 samples -> negated, 2/3.
    expect(result.spans[0]).toMatchObject({ attributes: { certainty: "negated" }, attributeConfidence: { certainty: 2 / 3 }, confidence: 1 });
    // has_dose in 2 of 3 -> kept at 2/3 (threshold 0.5).
    expect(relationText(note.text, result.spans, result.relations)).toEqual(["aspirina -has_dose-> 100 mg"]);
    expect(result.relations[0].confidence).toBeCloseTo(2 / 3);
    // smoking: former 2, never 1; services: urgencias 2 (kept), cardiología 1 (under 0.5).
    expect(result.labels).toEqual({ smoking: ["former"], services: ["urgencias"] });
    expect(result.labelConfidence).toEqual({ smoking: { former: 2 / 3 }, services: { urgencias: 2 / 3 } });

    // One sample in three says negated: the default wins, so no attribute is written.
    const once = await annotateNote(note, {
      schema,
      backend: { kind: "llm", engine: fakeEngine((_, at) => answers[at.sample === 0 ? 0 : 2]), options: { samples: 3 } },
    });
    expect(once.spans[0].attributes).toBeUndefined();
    expect(once.relations).toEqual([]);
  });

  it("keeps relations on the right note spans across chunks; a span lost at the merge leaves its relation unplaced", async () => {
    const filler = (i: number) => `Frase de relleno número ${i} sin hallazgos.`;
    const parts = [
      ...Array.from({ length: 3 }, (_, i) => filler(i)),
      "Insuficiencia cardiaca congestiva tratada con furosemida 40 mg.",
      ...Array.from({ length: 4 }, (_, i) => filler(i + 3)),
      "Después warfarina 5 mg.",
    ];
    const text = parts.join(" ");
    const options = { chunkChars: 200, chunkOverlap: 120 };
    const chunks = splitIntoChunks(text, { budget: options.chunkChars, overlap: options.chunkOverlap });
    const holding = (words: string) => chunks.filter((chunk) => chunk.text.includes(words)).length;
    // What the test is about: the sentence with furosemide lies in two chunks, warfarin only in a later one.
    expect(holding("tratada con furosemida 40 mg.")).toBe(2);
    expect(holding("warfarina 5 mg")).toBe(1);
    expect(chunks.findIndex((chunk) => chunk.text.includes("warfarina"))).toBeGreaterThan(0);

    let furosemideChunks = 0;
    const engine = fakeEngine((request) => {
      const chunk = chunkOf(request);
      const lines: string[] = [];
      if (chunk.includes("furosemida 40 mg")) {
        // The first chunk that sees it takes too short a disease; the next one the whole.
        const disease = furosemideChunks++ === 0 ? "cardiaca congestiva" : "Insuficiencia cardiaca congestiva";
        lines.push(`DISO: ${disease}`, "CHEM: furosemida", "DOSE: 40 mg", "Relations: has_dose 2>3; treats 2>1", "Labels: smoking=never; services=cardiología");
      } else if (chunk.includes("warfarina")) {
        lines.push("CHEM: warfarina", "DOSE: 5 mg", "Relations: has_dose 1>2", "Labels: smoking=former; services=urgencias");
      } else lines.push("Labels: smoking=never");
      return lines.join("\n");
    });
    const result = await annotateNote({ id: "long", text }, { schema, backend: { kind: "llm", engine, options } });
    expect(engine.requests.length).toBe(chunks.length);
    expect(words(text, result.spans)).toEqual(["Insuficiencia cardiaca congestiva", "furosemida", "40 mg", "warfarina", "5 mg"]);
    expect(relationText(text, result.spans, result.relations)).toEqual([
      "furosemida -treats-> Insuficiencia cardiaca congestiva",
      "furosemida -has_dose-> 40 mg",
      "warfarina -has_dose-> 5 mg",
    ]);
    // The relation found twice (both chunks) is there once; the first chunk's treats is not re-pointed at the longer span.
    expect(result.unplacedRelations).toEqual([
      {
        type: "treats",
        from: "furosemida (CHEM)",
        to: "cardiaca congestiva (DISO)",
        reason: "cardiaca congestiva (DISO) lost an overlap to a span found in another chunk",
      },
    ]);
    // smoking: "never" in more chunks than "former"; services: the union.
    expect(result.labels.smoking).toEqual(["never"]);
    expect(result.labels.services).toEqual(["cardiología", "urgencias"]);
  });

  it("records unknown label values and relation types as problems, like rejected types", async () => {
    const engine = fakeEngine(() => "CHEM: aspirina\nDOSE: 100 mg\nRelations: dosed_with 1>2\nLabels: smoking=heavy");
    const result = await annotateNote(note, { schema, backend: { kind: "llm", engine } });
    expect(result.relations).toEqual([]);
    expect(result.unplacedRelations).toEqual([{ type: "dosed_with", from: "aspirina (CHEM)", to: "100 mg (DOSE)", reason: '"dosed_with" is not a relation type of the schema' }]);
    expect(result.labels).toEqual({});
    expect(result.problems.map((problem) => problem.kind)).toEqual(["rejected-relation", "rejected-label", "unplaced-relation"]);
  });

  it("shows few-shot examples with their attributes, relations and labels, in the answer format", () => {
    const example = {
      id: "pool-3",
      text: "Aspirina 100 mg; no aspirina antes. Niega fiebre.",
      spans: [
        { start: 0, end: 8, type: "CHEM" },
        { start: 9, end: 15, type: "DOSE" },
        { start: 20, end: 28, type: "CHEM" },
        { start: 42, end: 48, type: "DISO", attributes: { certainty: "negated" } },
      ],
      relations: [{ type: "has_dose", from: 0, to: 1 }],
      labels: { smoking: ["never"], services: [] },
    };
    const prompt = buildPrompt("x", { schema, examples: [example], format: "type-rows" });
    // "Aspirina" is related, so it is written as its own occurrence; the other "aspirina" differs in case, so it is other words.
    expect(prompt.messages[2].content).toBe("DISO: fiebre [negated]\nCHEM: Aspirina; aspirina\nDOSE: 100 mg\nRelations: has_dose 2>4\nLabels: smoking=never; services=");
  });
});

describe("gold annotations written as answers and read back", () => {
  it("give back the same spans, attributes, relations and labels in every format, even where the nearest span is not the related one", async () => {
    // The dose belongs to the FIRST aspirina, though the second is nearer to it.
    const text = "Aspirina: aspirina. 100 mg aspirina; fiebre no, fiebre sí.";
    const gold = {
      spans: [
        { start: 10, end: 18, type: "CHEM" },
        { start: 20, end: 26, type: "DOSE" },
        { start: 27, end: 35, type: "CHEM" },
        { start: 37, end: 43, type: "DISO", attributes: { certainty: "negated" } },
        { start: 48, end: 54, type: "DISO" },
      ],
      relations: [{ type: "has_dose", from: 0, to: 1 }, { type: "treats", from: 2, to: 4 }],
      labels: { smoking: ["current"], services: ["urgencias"] },
    };
    const answer = answerFromAnnotation(text, gold.spans, gold.relations, gold.labels);
    for (const format of FORMAT_NAMES) {
      const written = outputFormat(format).serialize(answer.mentions, schema, answer);
      const result = await annotateNote({ id: "g", text }, { schema, format, backend: { kind: "llm", engine: fakeEngine(() => written) } });
      const spans = result.spans.map(({ start, end, type, attributes }) => ({ start, end, type, ...(attributes ? { attributes } : {}) }));
      expect({ format, spans, relations: result.relations.map(({ confidence: _, ...relation }) => relation), labels: result.labels }).toEqual({ format, ...gold });
      expect(result.unplacedRelations).toEqual([]);
    }
  });
});

describe("annotateNote with term lists that set attributes", () => {
  const text = "Niega fiebre. Fiebre alta desde ayer.";
  const cue = { attribute: "certainty", value: "negated", words: ["niega", "sin"] };

  it("sets the attribute from cue words, as the term list says", async () => {
    const result = await annotateNote({ id: "t", text }, { schema, backend: { kind: "terms", lists: [{ type: "DISO", terms: ["fiebre"], cues: [cue] }] } });
    expect(result.spans.map((span) => [text.slice(span.start, span.end), span.attributes])).toEqual([
      ["fiebre", { certainty: "negated" }],
      ["Fiebre", undefined],
    ]);
  });

  it("refuses a cue whose attribute or value the schema does not give the list's type", async () => {
    const run = (lists: never) => annotateNote({ id: "t", text }, { schema, backend: { kind: "terms", lists } });
    await expect(run([{ type: "CHEM", terms: ["x"], cues: [cue] }] as never)).rejects.toThrow(TermListError);
    await expect(run([{ type: "CHEM", terms: ["x"], cues: [cue] }] as never)).rejects.toThrow(/CHEM.*"certainty", which CHEM does not have/);
    await expect(run([{ type: "DISO", terms: ["x"], cues: [{ ...cue, value: "denied" }] }] as never)).rejects.toThrow(/"denied" is not a value of certainty \(affirmed, negated, suspected\)/);
  });
});
