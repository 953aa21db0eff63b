// The type-rows answer as an EBNF grammar, for engines that constrain decoding with one
// (WebLLM's `response_format: {type: "grammar"}`, compiled by xgrammar). Type names,
// attribute values, relation types and document labels can then only be the schema's,
// and the labels line (when the schema has labels) gives every label, in schema order,
// as a JSON schema's `required` would. Words stay free: anything but ";" and line breaks
// (and "[" for types with attributes, where a bracket opens the attributes).
//
// Why a grammar and not a JSON schema: type-rows costs the fewest generated tokens of all
// formats (format.ts), 1.24 × the entity words against 1.31 for grouped-json, the cheapest
// JSON shape. tests/core/annotate/constrained.test.ts compiles these grammars with the
// xgrammar build WebLLM bundles and checks that every gold answer of a corpus is accepted.

import { answerSpec, extraKeys, type AnswerSpec } from "./answer-spec.ts";
import type { SpecSource } from "./format.ts";

/**
 * Text to match exactly, in xgrammar's EBNF: a string literal with quotes, backslashes and
 * control characters escaped. xgrammar 0.1.27 (WebLLM 0.2.86) matches a non-ASCII
 * character of a literal against text but not against tokens: after "cardi", the Llama-3
 * token "ología" is refused by "cardiología" yet taken by "cardiolog" [í] "a". So each
 * non-ASCII character is written as a one-character class.
 */
export function literal(text: string): string {
  const parts: string[] = [];
  let ascii = "";
  const flush = () => {
    if (ascii) parts.push(`"${ascii}"`);
    ascii = "";
  };
  for (const char of text) {
    if (char.codePointAt(0)! > 0x7f) {
      flush();
      parts.push(`[${char}]`);
    } else {
      ascii += escapeAscii(char);
    }
  }
  flush();
  return parts.length === 0 ? '""' : parts.length === 1 ? parts[0] : `(${parts.join(" ")})`;
}

function escapeAscii(char: string): string {
  if (char === "\\" || char === '"') return `\\${char}`;
  if (char === "\n") return "\\n";
  if (char === "\r") return "\\r";
  if (char === "\t") return "\\t";
  const code = char.charCodeAt(0);
  return code < 0x20 || code === 0x7f ? `\\u${code.toString(16).padStart(4, "0")}` : char;
}

const choice = (texts: readonly string[]) => `(${texts.map(literal).join(" | ")})`;

/** Numbers from 1: answer positions (the parser reads up to five digits). */
const POSITION = `[1-9] [0-9]{0,4}`;

/** A character class of these characters. */
function charClass(chars: Iterable<string>): string {
  const escaped = [...new Set(chars)].map((char) => {
    if ("\\][^-".includes(char)) return `\\${char}`;
    const code = char.codePointAt(0)!;
    return code < 0x20 || code === 0x7f ? `\\u${code.toString(16).padStart(4, "0")}` : char;
  });
  return `[${escaped.join("")}]`;
}

/**
 * The grammar of a type-rows answer for this schema; its start rule is `root`. Every line
 * ends with a line break (one token more per answer than the bare format).
 *
 * Written for xgrammar's speed: the words of an item are a right-recursive rule that ends
 * with the line break and asserts (`(= …)`) the first character of the next line, the
 * shape of xgrammar's own JSON-string rules. xgrammar then sorts almost every token of the
 * vocabulary ahead of time instead of at each step. `npm run bench -- annotate`, Llama-3's
 * vocabulary, median per generated token of mask + accept: 8 µs; the same grammar with
 * `[^;\n]*` words took 1,266 µs, grouped-json's JSON schema takes 50 µs.
 */
export function typeRowsGrammar(source: SpecSource): string {
  const spec: AnswerSpec = answerSpec(source);
  const keys = extraKeys(spec, false);
  const lines: string[] = [];
  const rules: string[] = [];
  const starts = [...spec.typeNames];
  if (spec.relationTypes.length > 0) starts.push(keys.relations);
  if (spec.documentLabels.length > 0) starts.push(keys.labels);
  const next = starts.length > 0 ? `(= ${charClass(starts.map((name) => [...name][0]))})` : "";

  let plainWords = false;
  spec.typeNames.forEach((type, index) => {
    const defs = spec.attributes.get(type) ?? [];
    lines.push(`row_${index}`);
    if (defs.length === 0) {
      plainWords = true;
      rules.push(`row_${index} ::= ${literal(`${type}: `)} [^ \\t\\r\\n;] words`);
      return;
    }
    // Words without "[", then attributes in brackets: a value alone where it belongs to one
    // attribute of the type, name=value always.
    const forms = defs.flatMap((def) =>
      def.values.flatMap((value) => (defs.filter((other) => other.values.includes(value)).length === 1 ? [value, `${def.name}=${value}`] : [`${def.name}=${value}`])),
    );
    rules.push(`row_${index} ::= ${literal(`${type}: `)} [^ \\t\\r\\n;\\[] words_${index}`);
    rules.push(`words_${index} ::= ("\\n" | "; " [^ \\t\\r\\n;\\[] words_${index} | " [" attribute_${index} (", " attribute_${index})* "]" after_${index} | [^\\r\\n;\\[] words_${index}) ${next}`);
    rules.push(`after_${index} ::= ("\\n" | "; " [^ \\t\\r\\n;\\[] words_${index}) ${next}`);
    rules.push(`attribute_${index} ::= ${choice(forms)}`);
  });
  if (plainWords) rules.push(`words ::= ("\\n" | "; " [^ \\t\\r\\n;] words | [^\\r\\n;] words) ${next}`);
  if (spec.relationTypes.length > 0) {
    lines.push("relations");
    rules.push(`relations ::= ${literal(`${keys.relations}: `)} relation ("; " relation)* "\\n"`);
    rules.push(`relation ::= ${choice(spec.relationTypes.map((type) => type.name))} " " ${POSITION} ">" ${POSITION}`);
  }
  const line = lines.length === 0 ? "" : lines.length === 1 ? `${lines[0]}*` : `(${lines.join(" | ")})*`;
  let last = "";
  if (spec.documentLabels.length > 0) {
    const labels = spec.documentLabels.map((def, index) => {
      const value = choice(def.values);
      rules.push(`label_${index} ::= ${literal(`${def.name}=`)} ${def.multiple ? `(${value} ("|" ${value})*)?` : value}`);
      return `label_${index}`;
    });
    rules.push(`labels ::= ${literal(`${keys.labels}: `)} ${labels.join(` "; " `)} "\\n"`);
    last = "labels";
  }
  rules.unshift(`root ::= ${[line, last].filter(Boolean).join(" ") || '""'}`);
  return `${rules.join("\n")}\n`;
}

/** A type-rows answer (format.ts) as the grammar has a model write it: every line ends with a line break. */
export function asGrammarAnswer(answer: string): string {
  return answer === "" ? "" : `${answer}\n`;
}
