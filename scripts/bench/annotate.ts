// Annotation output formats: how many tokens a model must generate per note, and whether
// what it generates aligns back to the right spans. The gold entities of
// es_clinicalcases100 (all splits) stand in for a perfect model: for each format they are
// serialized exactly as a model would write them (gold.ts + format.ts), the tokens are
// counted with the Llama-3 tokenizer, and the text is parsed and aligned back.
// Prints one line per format:
//   {"bench":"annotate","format","gen_tokens_per_note","entity_tokens_per_note","overhead",
//    "aligned_fraction","align_notes_per_s", "indexed_fraction", "spurious_per_note"}
// entity_tokens = tokens of the words of each distinct (type, words) pair of the note, each
// alone (the irreducible content: the same for every format);
// overhead = gen / entity; aligned_fraction = gold spans found exactly (start, end, type);
// indexed_fraction = written mentions that needed an occurrence number; spurious = spans
// aligned that are not gold; constraint = what WebLLM is sent to hold the answer to (a
// grammar for type-rows, a JSON schema for the JSON formats; none for the others) and
// constraint_accepted = the fraction of the notes' gold answers that constraint accepts,
// compiled by xgrammar as WebLLM compiles it (so a model held to it can still write them);
// constraint_gen_tokens_per_note = tokens of the answers as the constraint has them written
// (the grammar ends every line with a line break, one token more per answer);
// constraint_compile_ms and constraint_mask_us_per_token = what the constraint costs with
// Llama-3's vocabulary: compiling it once per run, and per generated token the next-token
// mask plus accepting the token (median over the answers of 20 notes; on WebLLM this runs
// on the CPU between GPU decoding steps). `--no-index` also measures each format without occurrence
// numbers (every listed mention tags every occurrence).
// `--attributes` measures what attributes cost: the corpus has none, so DISO spans get
// certainty=negated where a Spanish negation cue comes shortly before them (terms.ts
// applyCues; a stand-in for real labels, realistic in how many and where), and each
// format writes them. Per format:
//   {"bench":"annotate-attributes","format","negated_per_note","gen_tokens_per_note",
//    "extra_tokens_per_negated" (over the same answer without attributes),
//    "alternative","alternative_extra_tokens_per_negated","attributes_recovered",
//    "constraint_accepted"}
// alternative = the other form one could write ("[certainty=negated]" in line formats, a
// "words [negated]" string in grouped-json); attributes_recovered = gold spans aligned back
// with exactly their attributes.
import { readFileSync } from "node:fs";
import llama3Tokenizer from "llama3-tokenizer-js";
import type { Span } from "../../src/core/corpus/types.ts";
import { alignMentions } from "../../src/core/annotate/align.ts";
import { FORMAT_NAMES, outputFormat, type FormatName } from "../../src/core/annotate/format.ts";
import { mentionsFromSpans } from "../../src/core/annotate/gold.ts";
import { asGrammarAnswer } from "../../src/core/annotate/grammar.ts";
import { parseOutput } from "../../src/core/annotate/parse.ts";
import { buildPrompt } from "../../src/core/annotate/prompt.ts";
import { applyCues } from "../../src/core/annotate/terms.ts";
import type { Mention } from "../../src/core/annotate/types.ts";
import { schemaWithTypes, type TaskSchema } from "../../src/core/schema/types.ts";
import { loadXgrammar } from "../xgrammar.ts";

interface Note {
  id: string;
  text: string;
  entities: Span[];
}

const CORPUS = "../shared/data/es_clinicalcases100";
const TYPES = ["ANAT", "CHEM", "DEVI", "DISO", "LIVB", "PHYS", "PROC"];

const tokens = (text: string) => (text ? llama3Tokenizer.encode(text, { bos: false, eos: false }).length : 0);

function load(): Note[] {
  return ["train", "dev", "test"].flatMap((split) =>
    readFileSync(`${CORPUS}/${split}.jsonl`, "utf8")
      .split("\n")
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as Note),
  );
}

let llama3Info: Promise<import("@mlc-ai/web-xgrammar").TokenizerInfo> | undefined;

/** Llama-3's vocabulary as WebLLM hands it to xgrammar for its Llama-3 builds (byte-level tokens, <|eot_id|> stops). */
function llama3TokenizerInfo() {
  const vocab = llama3Tokenizer.vocabById;
  llama3Info ??= loadXgrammar().TokenizerInfo.createTokenizerInfo(vocab, "byte_level", false, vocab.length, [llama3Tokenizer.getSpecialTokenId("<|eot_id|>")]);
  return llama3Info;
}

/**
 * The constraint WebLLM gets for this format and schema: the fraction of `outputs` it
 * accepts, and, with `speed`, what it costs as WebLLM uses it with a Llama-3 model: the
 * compile time and the time per generated token for the next-token mask plus accepting
 * the token (medians, over the answers of the first 20 notes). Undefined without one.
 */
interface ConstraintCheck {
  constraint: "grammar" | "json-schema";
  accepted: number;
  genTokens: number;
  compileMs?: number;
  maskUsPerToken?: number;
}

async function checkConstraint(format: FormatName, schema: TaskSchema, outputs: readonly string[], speed: boolean): Promise<ConstraintCheck | undefined> {
  const { responseFormat } = buildPrompt("", { schema, format, grammar: true });
  if (!responseFormat || (responseFormat.type !== "grammar" && responseFormat.type !== "json_schema")) return undefined;
  const xg = loadXgrammar();
  const source = responseFormat.type === "grammar" ? responseFormat.grammar : JSON.stringify(responseFormat.json_schema.schema);
  const answers = responseFormat.type === "grammar" ? outputs.map(asGrammarAnswer) : outputs;
  const grammar = responseFormat.type === "grammar" ? await xg.Grammar.fromEBNF(source) : await xg.Grammar.fromJSONSchema(source);
  let accepted = 0;
  for (const answer of answers) if (await xg.Testings.isGrammarAcceptString(grammar, answer)) accepted++;
  grammar.dispose();
  const result: ConstraintCheck = {
    constraint: responseFormat.type === "grammar" ? "grammar" : "json-schema",
    accepted: accepted / answers.length,
    genTokens: answers.reduce((sum, answer) => sum + tokens(answer), 0) / answers.length,
  };
  if (!speed) return result;

  // A fresh compiler each time, so no format profits from another's cache.
  const compiler = await xg.GrammarCompiler.createGrammarCompiler(await llama3TokenizerInfo(), false);
  const compileStarted = performance.now();
  const compiled = responseFormat.type === "grammar" ? await compiler.compileGrammar(source) : await compiler.compileJSONSchema(source);
  const compileMs = performance.now() - compileStarted;
  const perToken: number[] = [];
  for (const answer of answers.slice(0, 20)) {
    const matcher = await xg.GrammarMatcher.createGrammarMatcher(compiled);
    for (const token of llama3Tokenizer.encode(answer, { bos: false, eos: false })) {
      const started = performance.now();
      await matcher.getNextTokenBitmask();
      if (!matcher.acceptToken(token)) throw new Error(`${format}: the constraint refused a token of its own answer`);
      perToken.push(performance.now() - started);
    }
    matcher.dispose();
  }
  compiled.dispose();
  compiler.dispose();
  return { ...result, compileMs, maskUsPerToken: median(perToken) * 1000 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function measure(notes: Note[], format: FormatName, index: boolean) {
  const writer = outputFormat(format);
  let gen = 0;
  let entity = 0;
  let written = 0;
  let indexed = 0;
  const outputs: string[] = [];
  for (const note of notes) {
    let mentions: Mention[] = mentionsFromSpans(note.text, note.entities);
    if (!index) {
      const seen = new Set<string>();
      mentions = mentions
        .map(({ text, type }) => ({ text, type }))
        .filter((mention) => {
          const key = `${mention.type}\u0000${mention.text}`;
          return !seen.has(key) && !!seen.add(key);
        });
    }
    written += mentions.length;
    indexed += mentions.filter((mention) => mention.occurrence !== undefined).length;
    for (const words of new Set(mentions.map((mention) => `${mention.type}\u0000${mention.text}`))) entity += tokens(words.split("\u0000")[1]);
    const output = writer.serialize(mentions, TYPES);
    gen += tokens(output);
    outputs.push(output);
  }

  let aligned = 0;
  let spurious = 0;
  let goldCount = 0;
  notes.forEach((note, n) => {
    const { mentions } = parseOutput(outputs[n], format, TYPES);
    const { spans } = alignMentions(note.text, mentions);
    const gold = new Set(note.entities.map((span) => `${span.start}:${span.end}:${span.type}`));
    goldCount += gold.size;
    for (const span of spans) {
      if (gold.has(`${span.start}:${span.end}:${span.type}`)) aligned++;
      else spurious++;
    }
  });
  // Speed: parse + align of every note, best of five passes (the first pays for JIT and GC of the tokenizer).
  let seconds = Infinity;
  for (let pass = 0; pass < 5; pass++) {
    const started = performance.now();
    notes.forEach((note, n) => alignMentions(note.text, parseOutput(outputs[n], format, TYPES).mentions));
    seconds = Math.min(seconds, (performance.now() - started) / 1000);
  }
  const checked = index ? await checkConstraint(format, schemaWithTypes(TYPES), outputs, true) : undefined;
  const round = (value: number, digits = 3) => Number(value.toFixed(digits));
  return {
    bench: "annotate",
    format: index ? format : `${format} (no index)`,
    gen_tokens_per_note: round(gen / notes.length, 1),
    entity_tokens_per_note: round(entity / notes.length, 1),
    overhead: round(gen / entity),
    aligned_fraction: round(aligned / goldCount, 4),
    align_notes_per_s: round(notes.length / seconds, 0),
    indexed_fraction: round(indexed / written, 4),
    spurious_per_note: round(spurious / notes.length, 2),
    constraint: checked?.constraint ?? null,
    constraint_accepted: checked ? round(checked.accepted, 4) : null,
    constraint_gen_tokens_per_note: checked ? round(checked.genTokens, 1) : null,
    constraint_compile_ms: checked?.compileMs === undefined ? null : round(checked.compileMs, 0),
    constraint_mask_us_per_token: checked?.maskUsPerToken === undefined ? null : round(checked.maskUsPerToken, 0),
  };
}

const NEGATION = { attribute: "certainty", value: "negated", words: ["no", "sin", "niega", "negativo", "negativa", "descarta", "ausencia de"], until: ["pero", "aunque"] };

function attributeSchema(): TaskSchema {
  const entityTypes = TYPES.map((name) => ({
    name,
    color: "#000",
    definition: "",
    examples: [],
    ...(name === "DISO" ? { attributes: [{ name: "certainty", values: ["affirmed", "negated"], default: "affirmed" }] } : {}),
  }));
  return { entityTypes, relationTypes: [], documentLabels: [], guideline: "" };
}

/** The other way to write the same attributes: long names in line formats, strings with brackets in grouped-json. */
function alternative(format: FormatName, output: string): { name: string; output: string } | undefined {
  if (format === "grouped-json") {
    const object = JSON.parse(output) as Record<string, (string | { text: string; certainty: string })[]>;
    const flat = Object.fromEntries(Object.entries(object).map(([type, items]) => [type, items.map((item) => (typeof item === "string" ? item : `${item.text} [${item.certainty}]`))]));
    return { name: "string items \"words [negated]\"", output: JSON.stringify(flat) };
  }
  if (format === "entities-json") return undefined;
  return { name: "[certainty=negated]", output: output.replaceAll("[negated]", "[certainty=negated]") };
}

async function measureAttributes(notes: Note[], format: FormatName) {
  const schema = attributeSchema();
  const writer = outputFormat(format);
  let withTokens = 0;
  let withoutTokens = 0;
  let alternativeTokens = 0;
  let negated = 0;
  let recovered = 0;
  let spans = 0;
  let alternativeName = "";
  const outputs: string[] = [];
  for (const note of notes) {
    const gold = applyCues(note.text, note.entities.filter((span) => span.type === "DISO"), [NEGATION]);
    const all = [...note.entities.filter((span) => span.type !== "DISO"), ...gold];
    negated += gold.filter((span) => span.attributes?.certainty === "negated").length;
    const mentions = mentionsFromSpans(note.text, all);
    const output = writer.serialize(mentions, schema);
    outputs.push(output);
    withTokens += tokens(output);
    withoutTokens += tokens(writer.serialize(mentionsFromSpans(note.text, note.entities), TYPES));
    const other = alternative(format, output);
    if (other) {
      alternativeTokens += tokens(other.output);
      alternativeName = other.name;
    }
    const read = parseOutput(output, format, schema);
    const aligned = alignMentions(note.text, read.mentions).spans;
    const key = (span: Span) => `${span.start}:${span.end}:${span.type}:${span.attributes?.certainty ?? ""}`;
    const found = new Set(aligned.map(key));
    spans += all.length;
    recovered += all.filter((span) => found.has(key(span))).length;
  }
  const round = (value: number, digits = 3) => Number(value.toFixed(digits));
  return {
    bench: "annotate-attributes",
    format,
    negated_per_note: round(negated / notes.length, 2),
    gen_tokens_per_note: round(withTokens / notes.length, 1),
    extra_tokens_per_negated: round((withTokens - withoutTokens) / negated, 2),
    ...(alternativeName ? { alternative: alternativeName, alternative_extra_tokens_per_negated: round((alternativeTokens - withoutTokens) / negated, 2) } : {}),
    attributes_recovered: round(recovered / spans, 4),
    constraint_accepted: (await checkConstraint(format, schema, outputs, false))?.accepted ?? null,
  };
}

export async function run(args: string[]): Promise<void> {
  const notes = load();
  console.error(`annotate: ${notes.length} notes, ${notes.reduce((sum, note) => sum + note.entities.length, 0)} gold spans`);
  const formats = (args.filter((arg) => !arg.startsWith("--")) as FormatName[]).filter((name) => FORMAT_NAMES.includes(name));
  for (const format of formats.length > 0 ? formats : FORMAT_NAMES) {
    if (args.includes("--attributes")) {
      console.log(JSON.stringify(await measureAttributes(notes, format)));
      continue;
    }
    console.log(JSON.stringify(await measure(notes, format, true)));
    if (args.includes("--no-index")) console.log(JSON.stringify(await measure(notes, format, false)));
  }
}
