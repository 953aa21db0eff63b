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
// aligned that are not gold. `--no-index` also measures each format without occurrence
// numbers (every listed mention tags every occurrence).
// `--attributes` measures what attributes cost: the corpus has none, so DISO spans get
// certainty=negated where a Spanish negation cue comes shortly before them (terms.ts
// applyCues; a stand-in for real labels, realistic in how many and where), and each
// format writes them. Per format:
//   {"bench":"annotate-attributes","format","negated_per_note","gen_tokens_per_note",
//    "extra_tokens_per_negated" (over the same answer without attributes),
//    "alternative","alternative_extra_tokens_per_negated","attributes_recovered"}
// alternative = the other form one could write ("[certainty=negated]" in line formats, a
// "words [negated]" string in grouped-json); attributes_recovered = gold spans aligned back
// with exactly their attributes.
import { readFileSync } from "node:fs";
import llama3Tokenizer from "llama3-tokenizer-js";
import type { Span } from "../../src/core/corpus/types.ts";
import { alignMentions } from "../../src/core/annotate/align.ts";
import { FORMAT_NAMES, outputFormat, type FormatName } from "../../src/core/annotate/format.ts";
import { mentionsFromSpans } from "../../src/core/annotate/gold.ts";
import { parseOutput } from "../../src/core/annotate/parse.ts";
import { applyCues } from "../../src/core/annotate/terms.ts";
import type { Mention } from "../../src/core/annotate/types.ts";
import type { TaskSchema } from "../../src/core/schema/types.ts";

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

function measure(notes: Note[], format: FormatName, index: boolean) {
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

function measureAttributes(notes: Note[], format: FormatName) {
  const schema = attributeSchema();
  const writer = outputFormat(format);
  let withTokens = 0;
  let withoutTokens = 0;
  let alternativeTokens = 0;
  let negated = 0;
  let recovered = 0;
  let spans = 0;
  let alternativeName = "";
  for (const note of notes) {
    const gold = applyCues(note.text, note.entities.filter((span) => span.type === "DISO"), [NEGATION]);
    const all = [...note.entities.filter((span) => span.type !== "DISO"), ...gold];
    negated += gold.filter((span) => span.attributes?.certainty === "negated").length;
    const mentions = mentionsFromSpans(note.text, all);
    const output = writer.serialize(mentions, schema);
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
  };
}

export async function run(args: string[]): Promise<void> {
  const notes = load();
  console.error(`annotate: ${notes.length} notes, ${notes.reduce((sum, note) => sum + note.entities.length, 0)} gold spans`);
  const formats = (args.filter((arg) => !arg.startsWith("--")) as FormatName[]).filter((name) => FORMAT_NAMES.includes(name));
  for (const format of formats.length > 0 ? formats : FORMAT_NAMES) {
    if (args.includes("--attributes")) {
      console.log(JSON.stringify(measureAttributes(notes, format)));
      continue;
    }
    console.log(JSON.stringify(measure(notes, format, true)));
    if (args.includes("--no-index")) console.log(JSON.stringify(measure(notes, format, false)));
  }
}
