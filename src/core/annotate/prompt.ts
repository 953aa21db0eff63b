// Schema + guideline + few-shot examples + note -> chat messages. Examples are shown as
// a user turn (the note) and an assistant turn (the answer, in the output format), so the
// model sees the exact shape it must write. Examples must not be evaluation notes:
// `forbiddenIds` names those, and an example among them throws ExampleLeakError.

import type { DocumentLabels, Relation, Span } from "../corpus/types.ts";
import { contentHash } from "../corpus/hash.ts";
import type { EntityType, TaskSchema } from "../schema/types.ts";
import { answerSpec, type AnswerSpec } from "./answer-spec.ts";
import type { ChatMessage, ResponseFormat } from "./chat.ts";
import { ExampleLeakError } from "./errors.ts";
import { DEFAULT_FORMAT, outputFormat, type FormatName, type OutputFormat } from "./format.ts";
import { answerFromAnnotation } from "./gold.ts";

/** A note with reference spans (and their attributes, relations and labels), shown to the model as a worked example. */
export interface FewShotExample {
  id: string;
  text: string;
  spans: readonly Span[];
  relations?: readonly Relation[];
  labels?: DocumentLabels;
}

export interface PromptContext {
  schema: TaskSchema;
  /** Defaults to `schema.guideline`. */
  guideline?: string;
  examples?: readonly FewShotExample[];
  /** Ids of notes that must never be shown to the model (the gold/evaluation set). */
  forbiddenIds?: ReadonlySet<string>;
  format?: FormatName;
  /**
   * Ask the engine to hold the answer to the format's grammar (WebLLM takes one). Formats
   * with a JSON schema send it whatever this says; line formats send nothing without it.
   */
  grammar?: boolean;
}

export interface BuiltPrompt {
  messages: ChatMessage[];
  /** For engines that constrain decoding; undefined for line formats unless `grammar` was asked. */
  responseFormat?: ResponseFormat;
  typeNames: string[];
  /** What the answer may hold (attributes, relations, labels), for the parser. */
  spec: AnswerSpec;
  format: FormatName;
  /** Stable hash of everything but the note: template, schema, guideline, examples, format. */
  hash: string;
}

/** Bump when the wording below changes, so run records tell old prompts from new ones. */
export const PROMPT_VERSION = 1;

const NOTE_PLACEHOLDER = "\u0000NOTE\u0000";

export function buildPrompt(noteText: string, context: PromptContext): BuiltPrompt {
  const template = buildTemplate(context);
  const messages = template.messages.map((message) =>
    message.content.includes(NOTE_PLACEHOLDER) ? { ...message, content: message.content.replace(NOTE_PLACEHOLDER, () => noteText) } : message,
  );
  return { ...template, messages };
}

export function promptHash(context: PromptContext): string {
  return buildTemplate(context).hash;
}

function buildTemplate(context: PromptContext): BuiltPrompt {
  const formatName = context.format ?? DEFAULT_FORMAT;
  const format = outputFormat(formatName);
  const spec = answerSpec(context.schema);
  const typeNames = [...spec.typeNames];
  for (const example of context.examples ?? []) {
    if (context.forbiddenIds?.has(example.id)) throw new ExampleLeakError(example.id);
  }

  const types = context.schema.entityTypes
    .map((type) => {
      const lines = [`- ${type.name}: ${type.definition.trim() || "(no definition given)"}`];
      if (type.examples.length > 0) lines.push(`  Examples: ${type.examples.map((example) => JSON.stringify(example)).join(", ")}`);
      lines.push(...attributeLines(type));
      return lines.join("\n");
    })
    .join("\n");
  const guideline = (context.guideline ?? context.schema.guideline).trim();
  const system = [
    "You annotate clinical notes for named-entity recognition. Find every mention of the entity types below in the note the user gives, " +
      "including repeated, abbreviated and negated mentions, and write them in the answer format. Copy the words exactly from the note " +
      "(same spelling, accents and case); do not add words that are not in the note; do not explain.",
    extrasSentence(context.schema),
    `Entity types:\n${types}`,
    relationSection(context.schema),
    labelSection(context.schema),
    guideline ? `Annotation guideline:\n${guideline}` : "",
    `Answer format: ${format.instructions(spec)}`,
  ]
    .filter(Boolean)
    .join("\n\n");

  const messages: ChatMessage[] = [{ role: "system", content: system }];
  for (const example of context.examples ?? []) {
    messages.push({ role: "user", content: userTurn(example.text) });
    const answer = answerFromAnnotation(example.text, example.spans, example.relations, example.labels);
    messages.push({ role: "assistant", content: format.serialize(answer.mentions, spec, answer) });
  }
  messages.push({ role: "user", content: userTurn(NOTE_PLACEHOLDER) });

  const responseFormat = constraint(format, spec, context.grammar === true);
  const hash = contentHash(JSON.stringify({ version: PROMPT_VERSION, format: formatName, messages, responseFormat }));
  return { messages, responseFormat, typeNames, spec, format: formatName, hash };
}

function constraint(format: OutputFormat, spec: AnswerSpec, grammar: boolean): ResponseFormat | undefined {
  const schema = format.schema(spec);
  if (schema) return { type: "json_schema", json_schema: { name: "entities", schema, strict: true } };
  const ebnf = grammar ? format.grammar(spec) : undefined;
  return ebnf === undefined ? undefined : { type: "grammar", grammar: ebnf };
}

/** Said only when the schema asks for more than entity spans, so entity-only prompts stay as they were. */
function extrasSentence(schema: TaskSchema): string {
  const asked = [
    schema.entityTypes.some((type) => (type.attributes ?? []).length > 0) ? "each entity's attributes" : "",
    schema.relationTypes.length > 0 ? "the relations between the entities you list" : "",
    schema.documentLabels.length > 0 ? "the document labels of the whole note" : "",
  ].filter(Boolean);
  return asked.length > 0 ? `Also give ${asked.join(", ")}, as described below.` : "";
}

/** "  Attributes: certainty = affirmed (default) | negated | suspected" under a type that has any. */
function attributeLines(type: EntityType): string[] {
  return (type.attributes ?? []).map(
    (attribute) => `  Attribute ${attribute.name}: ${attribute.values.map((value) => (value === attribute.default ? `${value} (default)` : value)).join(" | ")}`,
  );
}

function relationSection(schema: TaskSchema): string {
  if (schema.relationTypes.length === 0) return "";
  const lines = schema.relationTypes.map((type) => `- ${type.name}: ${type.from.join("/")} ${type.directed ? "->" : "<->"} ${type.to.join("/")}`);
  return `Relation types (between entities of the answer; -> goes from the first to the second, <-> either way):\n${lines.join("\n")}`;
}

function labelSection(schema: TaskSchema): string {
  if (schema.documentLabels.length === 0) return "";
  const lines = schema.documentLabels.map((label) => `- ${label.name} (${label.multiple ? "any of" : "one of"}): ${label.values.join(" | ")}`);
  return `Document labels (about the whole note):\n${lines.join("\n")}`;
}

function userTurn(noteText: string): string {
  return `Note:\n"""\n${noteText}\n"""`;
}
