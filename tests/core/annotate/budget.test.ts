// The context budget: the token estimate stays above real tokenizers' counts on the
// corpora, the chunk size leaves room for the prompt and the answer, and a note annotated
// for a 4,096-token model never overflows a WebLLM-like engine that counts real tokens.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { Tokenizer } from "@huggingface/tokenizers";
import llama3Tokenizer from "llama3-tokenizer-js";
import { describe, expect, it } from "vitest";
import { annotateNote } from "../../../src/core/annotate/annotator.ts";
import { ANSWER_SHARE, chunkTokens, estimateTokens } from "../../../src/core/annotate/budget.ts";
import { fakeEngine, type ChatRequest } from "../../../src/core/annotate/chat.ts";
import { PromptTooLongError } from "../../../src/core/annotate/errors.ts";
import { outputFormat } from "../../../src/core/annotate/format.ts";
import { mentionsFromSpans } from "../../../src/core/annotate/gold.ts";
import type { Span } from "../../../src/core/corpus/types.ts";
import { schemaWithTypes } from "../../../src/core/schema/types.ts";

const gpt2 = new Tokenizer(JSON.parse(gunzipSync(readFileSync(new URL("../../fixtures/tokenizers/gpt2/tokenizer.json.gz", import.meta.url))).toString("utf8")), {});
const llama3 = (text: string) => llama3Tokenizer.encode(text, { bos: false, eos: false }).length;

interface Note {
  text: string;
  entities: Span[];
}

function corpus(name: string, split: string): Note[] {
  return readFileSync(new URL(`../../../../shared/data/${name}/${split}.jsonl`, import.meta.url), "utf8")
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Note);
}

/** Sentences joined into pieces of about 2,000 characters, as chunks hold them. */
function pieces(texts: readonly string[]): string[] {
  const out: string[] = [];
  let piece = "";
  for (const text of texts) {
    piece = piece ? `${piece}\n${text}` : text;
    if (piece.length >= 2000) {
      out.push(piece);
      piece = "";
    }
  }
  return out;
}

describe("context budget", () => {
  it("estimates tokens by hand-computed rules", () => {
    expect(estimateTokens("")).toBe(0);
    // "fiebre" 6 lower-case → 3; "alta" 4 → 2; the line break 1.
    expect(estimateTokens("fiebre alta\n")).toBe(6);
    // 6 capitals → 4; "Á" → 2.
    expect(estimateTokens("CESÁREA")).toBe(6);
    // digits one each, "." and "%" one each.
    expect(estimateTokens("12.5%")).toBe(5);
    // CJK letters two each; "、" one.
    expect(estimateTokens("発熱、咳")).toBe(7);
  });

  it("never estimates fewer tokens than GPT-2's or Llama-3's tokenizer on the corpora's notes and 2,000-character pieces", () => {
    const texts = [
      ...corpus("es_clinicalcases100", "test").map((note) => note.text),
      ...pieces(corpus("ctebmsp", "test").map((note) => note.text)),
      ...pieces(corpus("bc5cdr", "test").map((note) => note.text)),
      "患者は65歳男性。3日前から発熱と咳嗽があり、胸部X線で右下肺野に浸潤影を認めた。アモキシシリンを投与した。",
    ];
    expect(texts.length).toBeGreaterThan(100);
    const ratios = texts.map((text) => estimateTokens(text) / Math.max(gpt2.encode(text).ids.length, llama3(text)));
    expect(Math.min(...ratios)).toBeGreaterThanOrEqual(1);
    // High, not absurd: a chunk is not cut far smaller than it needs to be.
    const sorted = [...ratios].sort((a, b) => a - b);
    expect(sorted[sorted.length >> 1]).toBeLessThan(2);
  });

  it("leaves the answer its share: (context − prompt − 64) / (1 + share), and refuses a prompt that leaves no room", () => {
    expect(ANSWER_SHARE).toBe(0.6);
    expect(chunkTokens(4096, 1000)).toBe(Math.floor((4096 - 1000 - 64) / 1.6));
    expect(() => chunkTokens(4096, 3900)).toThrow(PromptTooLongError);
    expect(() => chunkTokens(4096, 3900)).toThrow(/3900 of the model's 4096 tokens/);
  });

  it("annotates long notes for a 4,096-token model without one prompt and answer overflowing, counted in Llama-3 tokens", async () => {
    const context = 4096;
    const notes = corpus("es_clinicalcases100", "train")
      .sort((a, b) => b.text.length - a.text.length)
      .slice(0, 3);
    const types = ["ANAT", "CHEM", "DEVI", "DISO", "LIVB", "PHYS", "PROC"];
    const schema = { ...schemaWithTypes(types), guideline: "Anote todas las menciones. ".repeat(40) };
    const example = corpus("es_clinicalcases100", "dev")[0];
    const longest: number[] = [];
    for (const note of notes) {
      // A near-perfect model: the gold words and types found in the chunk it is shown.
      const gold = mentionsFromSpans(note.text, note.entities).map(({ text, type }) => ({ text, type }));
      const engine = fakeEngine((request: ChatRequest) => {
        const chunk = request.messages.at(-1)!.content;
        const seen = new Set<string>();
        const found = gold.filter((mention) => chunk.includes(mention.text) && !seen.has(`${mention.type}:${mention.text}`) && !!seen.add(`${mention.type}:${mention.text}`));
        const answer = outputFormat("type-rows").serialize(found, types);
        const used = llama3(request.messages.map((message) => message.content).join("\n")) + 8 * request.messages.length + llama3(answer);
        longest.push(used);
        if (used > context) throw new PromptTooLongError(`Prompt tokens exceed context window size: ${used} > ${context}`);
        return answer;
      });
      const result = await annotateNote(
        { id: "n", text: note.text },
        { schema, backend: { kind: "llm", engine, options: { contextTokens: context } }, examples: [{ id: "e", text: example.text, spans: example.entities }] },
      );
      expect(result.problems.filter((problem) => problem.kind === "rechunked")).toEqual([]);
      expect(engine.requests.length).toBeGreaterThan(1);
    }
    expect(Math.max(...longest)).toBeLessThanOrEqual(context);
  });

  it("cuts the note smaller when the engine still says the prompt did not fit, and fails the note after three halvings", async () => {
    const text = Array.from({ length: 40 }, (_, index) => `Paciente ${index} con fiebre.`).join("\n");
    const fits = (request: ChatRequest) => request.messages.at(-1)!.content.length < 500;
    const engine = fakeEngine((request) => {
      if (!fits(request)) throw new PromptTooLongError("Prompt tokens exceed context window size");
      return "DISO: fiebre";
    });
    const schema = schemaWithTypes(["DISO"]);
    const result = await annotateNote({ id: "n", text }, { schema, backend: { kind: "llm", engine, options: { chunkChars: 2000 } } });
    expect(result.problems.filter((problem) => problem.kind === "rechunked").map((problem) => problem.message)).toEqual([
      expect.stringContaining("chunks of at most 1000 characters"),
      expect.stringContaining("chunks of at most 500 characters"),
      expect.stringContaining("chunks of at most 250 characters"),
    ]);
    expect(result.spans).toHaveLength(40);

    const never = fakeEngine(() => {
      throw new PromptTooLongError("Prompt tokens exceed context window size");
    });
    await expect(annotateNote({ id: "n", text }, { schema, backend: { kind: "llm", engine: never } })).rejects.toThrow(PromptTooLongError);
    expect(never.requests).toHaveLength(4);
  });
});
