// Schema + guideline + few-shot examples + note -> chat messages. Examples are shown as
// a user turn (the note) and an assistant turn (the answer, in the output format), so the
// model sees the exact shape it must write. Examples must not be evaluation notes:
// `forbiddenIds` names those, and an example among them throws ExampleLeakError.

import type { Span } from "../corpus/types.ts";
import { contentHash } from "../corpus/hash.ts";
import type { TaskSchema } from "../schema/types.ts";
import type { ChatMessage, ResponseFormat } from "./chat.ts";
import { ExampleLeakError } from "./errors.ts";
import { DEFAULT_FORMAT, outputFormat, type FormatName } from "./format.ts";
import { mentionsFromSpans } from "./gold.ts";

/** A note with reference spans, shown to the model as a worked example. */
export interface FewShotExample {
  id: string;
  text: string;
  spans: readonly Span[];
}

export interface PromptContext {
  schema: TaskSchema;
  /** Defaults to `schema.guideline`. */
  guideline?: string;
  examples?: readonly FewShotExample[];
  /** Ids of notes that must never be shown to the model (the gold/evaluation set). */
  forbiddenIds?: ReadonlySet<string>;
  format?: FormatName;
}

export interface BuiltPrompt {
  messages: ChatMessage[];
  /** For engines that constrain decoding; undefined for line formats. */
  responseFormat?: ResponseFormat;
  typeNames: string[];
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
  const typeNames = context.schema.entityTypes.map((type) => type.name);
  for (const example of context.examples ?? []) {
    if (context.forbiddenIds?.has(example.id)) throw new ExampleLeakError(example.id);
  }

  const types = context.schema.entityTypes
    .map((type) => {
      const lines = [`- ${type.name}: ${type.definition.trim() || "(no definition given)"}`];
      if (type.examples.length > 0) lines.push(`  Examples: ${type.examples.map((example) => JSON.stringify(example)).join(", ")}`);
      return lines.join("\n");
    })
    .join("\n");
  const guideline = (context.guideline ?? context.schema.guideline).trim();
  const system = [
    "You annotate clinical notes for named-entity recognition. Find every mention of the entity types below in the note the user gives, " +
      "including repeated, abbreviated and negated mentions, and write them in the answer format. Copy the words exactly from the note " +
      "(same spelling, accents and case); do not add words that are not in the note; do not explain.",
    `Entity types:\n${types}`,
    guideline ? `Annotation guideline:\n${guideline}` : "",
    `Answer format: ${format.instructions(typeNames)}`,
  ]
    .filter(Boolean)
    .join("\n\n");

  const messages: ChatMessage[] = [{ role: "system", content: system }];
  for (const example of context.examples ?? []) {
    messages.push({ role: "user", content: userTurn(example.text) });
    messages.push({ role: "assistant", content: format.serialize(mentionsFromSpans(example.text, example.spans), typeNames) });
  }
  messages.push({ role: "user", content: userTurn(NOTE_PLACEHOLDER) });

  const schema = format.schema(typeNames);
  const responseFormat: ResponseFormat | undefined = schema
    ? { type: "json_schema", json_schema: { name: "entities", schema, strict: true } }
    : undefined;
  const hash = contentHash(JSON.stringify({ version: PROMPT_VERSION, format: formatName, messages, responseFormat }));
  return { messages, responseFormat, typeNames, format: formatName, hash };
}

function userTurn(noteText: string): string {
  return `Note:\n"""\n${noteText}\n"""`;
}
