// Constrained decoding as WebLLM does it: the grammars and JSON schemas the prompts send
// are compiled by xgrammar, the very WebAssembly WebLLM 0.2.86 bundles, and must accept
// every answer the formats write (so a model held to them can still write every gold
// answer) while refusing names and values the schema does not have. Token by token with
// Llama-3's vocabulary, the way WebLLM's GrammarMatcher runs during generation.
import { readFileSync } from "node:fs";
import llama3Tokenizer from "llama3-tokenizer-js";
import { beforeAll, describe, expect, it } from "vitest";
import { FORMAT_NAMES, outputFormat, type FormatName } from "../../../src/core/annotate/format.ts";
import { mentionsFromSpans } from "../../../src/core/annotate/gold.ts";
import { asGrammarAnswer, literal, typeRowsGrammar } from "../../../src/core/annotate/grammar.ts";
import { parseOutput } from "../../../src/core/annotate/parse.ts";
import { buildPrompt } from "../../../src/core/annotate/prompt.ts";
import type { Span } from "../../../src/core/corpus/types.ts";
import { schemaWithTypes, type TaskSchema } from "../../../src/core/schema/types.ts";
import { loadXgrammar, sameXgrammarAsWebLlm, type Xgrammar } from "../../../scripts/xgrammar.ts";
import { IE_SCHEMA, LABELS, MENTIONS, RELATIONS } from "./ie-schema.ts";

const TYPES = ["ANAT", "CHEM", "DEVI", "DISO", "LIVB", "PHYS", "PROC"];

interface Note {
  text: string;
  entities: Span[];
}

function corpus(): Note[] {
  return ["train", "dev", "test"].flatMap((split) =>
    readFileSync(new URL(`../../../../shared/data/es_clinicalcases100/${split}.jsonl`, import.meta.url), "utf8")
      .split("\n")
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as Note),
  );
}

let xg: Xgrammar;
beforeAll(() => {
  xg = loadXgrammar();
});

/** What a prompt asks the engine to hold the answer to, as xgrammar's Grammar (WebLLM's compile arguments). */
async function constraintOf(schema: TaskSchema, format: FormatName, grammar: boolean) {
  const { responseFormat } = buildPrompt("nota", { schema, format, grammar });
  if (responseFormat?.type === "grammar") return xg.Grammar.fromEBNF(responseFormat.grammar);
  if (responseFormat?.type === "json_schema") return xg.Grammar.fromJSONSchema(JSON.stringify(responseFormat.json_schema.schema));
  throw new Error(`${format} sends no constraint`);
}

const accepts = (grammar: Awaited<ReturnType<typeof constraintOf>>, text: string) => xg.Testings.isGrammarAcceptString(grammar, text);

/** An answer as a model held to the format's constraint writes it. */
const constrained = (format: FormatName, answer: string) => (format === "type-rows" ? asGrammarAnswer(answer) : answer);

const EXTRAS = { relations: RELATIONS, labels: LABELS };

describe("constrained decoding with WebLLM's xgrammar", () => {
  it("uses the xgrammar WebAssembly WebLLM bundles", () => {
    expect(sameXgrammarAsWebLlm()).toBe(true);
  });

  it("accepts every gold answer of es_clinicalcases100 in each constrained format", async () => {
    const notes = corpus();
    const schema = schemaWithTypes(TYPES);
    for (const format of ["type-rows", "grouped-json", "entities-json"] as const) {
      const grammar = await constraintOf(schema, format, true);
      let accepted = 0;
      for (const note of notes) {
        const mentions = mentionsFromSpans(note.text, note.entities);
        const answer = constrained(format, outputFormat(format).serialize(mentions, TYPES));
        if (await accepts(grammar, answer)) accepted++;
        else expect.soft(answer, `${format} refuses a gold answer`).toBe("accepted");
      }
      expect({ format, accepted }).toEqual({ format, accepted: notes.length });
    }
  });

  it("accepts answers with attributes, relations and labels, which read back whole", async () => {
    for (const format of ["type-rows", "grouped-json", "entities-json"] as const) {
      const answer = constrained(format, outputFormat(format).serialize(MENTIONS, IE_SCHEMA, EXTRAS));
      expect({ format, accepted: await accepts(await constraintOf(IE_SCHEMA, format, true), answer) }).toEqual({ format, accepted: true });
      const read = parseOutput(answer, format, IE_SCHEMA);
      expect(read.problems).toEqual([]);
      expect(read.mentions).toEqual(MENTIONS);
      expect(read.labels).toEqual(EXTRAS.labels);
    }
  });

  it("refuses in type-rows what the schema does not have, and requires every label", async () => {
    const grammar = await constraintOf(IE_SCHEMA, "type-rows", true);
    const labels = "Labels: smoking=former; services=urgencias\n";
    expect(await accepts(grammar, `DISO: fiebre [negated]\nCHEM: paracetamol\nRelations: treats 2>1\n${labels}`)).toBe(true);
    expect(await accepts(grammar, `DISO: dolor #2 #10; tos [certainty=suspected, past]; fiebre\nDISO: x #3\n${labels}`)).toBe(true);
    expect(await accepts(grammar, "Labels: smoking=never; services=\n")).toBe(true);
    const refused = {
      "an unknown type": `SYMPTOM: fiebre\n${labels}`,
      "an unknown attribute value": `DISO: fiebre [maybe]\n${labels}`,
      "a value under the wrong attribute": `DISO: fiebre [temporality=negated]\n${labels}`,
      "a bracket left open": `DISO: fiebre [negated\n${labels}`,
      "an unknown relation type": `CHEM: a\nDOSE: b\nRelations: causes 1>2\n${labels}`,
      "position 0": `CHEM: a\nDOSE: b\nRelations: has_dose 0>2\n${labels}`,
      "a missing label": "DISO: fiebre\nLabels: smoking=former\n",
      "an unknown label value": "Labels: smoking=sometimes; services=urgencias\n",
      "no labels line": "DISO: fiebre\n",
      "a line without its line break": `${labels}`.trimEnd(),
      "text after the labels line": `${labels}DISO: fiebre\n`,
      "an empty item": `DISO: fiebre; \n${labels}`,
    };
    for (const [what, answer] of Object.entries(refused)) expect({ what, accepted: await accepts(grammar, answer) }).toEqual({ what, accepted: false });
  });

  it("refuses in the JSON schemas what the schema does not have", async () => {
    const grouped = await constraintOf(IE_SCHEMA, "grouped-json", false);
    const labels = '"labels":{"smoking":"never","services":[]}';
    expect(await accepts(grouped, `{"DISO":[{"text":"fiebre","certainty":"negated"}],"relations":{"treats":[[1,1]]},${labels}}`)).toBe(true);
    expect(await accepts(grouped, `{"SYMPTOM":["fiebre"],${labels}}`)).toBe(false);
    expect(await accepts(grouped, `{"DISO":[{"text":"fiebre","certainty":"maybe"}],${labels}}`)).toBe(false);
    expect(await accepts(grouped, `{"DISO":["fiebre"],"relations":{"treats":[[1,1,1]]},${labels}}`)).toBe(false);
    expect(await accepts(grouped, `{"DISO":["fiebre"],"relations":{"treats":[[0,1]]},${labels}}`)).toBe(false);
    expect(await accepts(grouped, '{"DISO":["fiebre"]}')).toBe(false);
  });

  it("sends an entity-only type-rows answer without a grammar unless asked, and leaves the JSON formats' schema as it was", () => {
    const schema = schemaWithTypes(TYPES);
    expect(buildPrompt("nota", { schema, format: "type-rows" }).responseFormat).toBeUndefined();
    for (const format of FORMAT_NAMES) {
      const plain = buildPrompt("nota", { schema, format });
      const asked = buildPrompt("nota", { schema, format, grammar: true });
      if (plain.responseFormat) expect(asked.responseFormat).toEqual(plain.responseFormat);
      expect(asked.hash === plain.hash).toBe(asked.responseFormat?.type !== "grammar");
    }
  });

  it("compiles names that need escaping, and a type named like the relations line", async () => {
    const schema: TaskSchema = {
      ...schemaWithTypes(['Diag "x"', "Back\\slash", "Relations", "Diagnóstico"]),
      relationTypes: [{ name: "rel", from: ["Relations"], to: ["Diagnóstico"], directed: true }],
    };
    expect(literal('a"b\\c\nd\u0001')).toBe('"a\\"b\\\\c\\nd\\u0001"');
    expect(literal("Diagnóstico")).toBe('("Diagn" [ó] "stico")');
    const grammar = await xg.Grammar.fromEBNF(typeRowsGrammar(schema));
    const answer = outputFormat("type-rows").serialize(
      [
        { text: "x", type: 'Diag "x"' },
        { text: "y", type: "Back\\slash" },
        { text: "z", type: "Relations" },
        { text: "fiebre", type: "Diagnóstico" },
      ],
      schema,
      { relations: [{ type: "rel", from: 2, to: 3 }] },
    );
    expect(answer).toContain("_Relations: rel 3>4");
    expect(await accepts(grammar, asGrammarAnswer(answer))).toBe(true);
    const read = parseOutput(asGrammarAnswer(answer), "type-rows", schema);
    expect(read.problems).toEqual([]);
    expect(read.mentions.map((mention) => mention.type)).toEqual(['Diag "x"', "Back\\slash", "Relations", "Diagnóstico"]);
    expect(read.relations).toHaveLength(1);
  });

  it("guides Llama-3 token by token: every token of an answer allowed (\"ología\" of a label value too), an unknown type masked, the end allowed", async () => {
    const vocab = llama3Tokenizer.vocabById;
    const endOfTurn = llama3Tokenizer.getSpecialTokenId("<|eot_id|>");
    // As WebLLM builds it for Llama-3 builds: the raw token table, byte-level post-processing.
    const info = await xg.TokenizerInfo.createTokenizerInfo(vocab, "byte_level", false, vocab.length, [endOfTurn]);
    const compiler = await xg.GrammarCompiler.createGrammarCompiler(info);
    const compiled = await compiler.compileGrammar(typeRowsGrammar(IE_SCHEMA));
    const answer = asGrammarAnswer(outputFormat("type-rows").serialize(MENTIONS, IE_SCHEMA, EXTRAS));
    const matcher = await xg.GrammarMatcher.createGrammarMatcher(compiled);
    const allowed = (mask: Int32Array, id: number) => ((mask[id >> 5] >>> (id & 31)) & 1) === 1;

    const first = await matcher.getNextTokenBitmask();
    const [dis] = llama3Tokenizer.encode("DISO", { bos: false, eos: false });
    const [sym] = llama3Tokenizer.encode("SYMPTOM", { bos: false, eos: false });
    expect(allowed(first, dis)).toBe(true);
    expect(allowed(first, sym)).toBe(false);
    expect(allowed(first, endOfTurn)).toBe(false); // the labels line is required

    const tokens = llama3Tokenizer.encode(answer, { bos: false, eos: false });
    expect(llama3Tokenizer.decode(tokens)).toBe(answer);
    const refusedAt = tokens.findIndex((token) => !matcher.acceptToken(token));
    expect(refusedAt).toBe(-1);
    expect(matcher.acceptToken(endOfTurn)).toBe(true);
    expect(matcher.isTerminated()).toBe(true);
    matcher.dispose();
    compiled.dispose();
    compiler.dispose();
    info.dispose();
  });
});
