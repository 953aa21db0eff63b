// One entry point, three backends: `annotateNote(note, context)`.
//
// llm    a ChatEngine (WebLLM, an OpenAI-compatible server, a fake): prompt -> answer(s)
//        -> parse -> align, chunk by chunk for long notes. Self-consistency: n samples at
//        temperature > 0; a span's confidence is the fraction of the samples that parsed
//        which produced exactly that span (start, end, type); spans under `threshold` are
//        dropped, overlaps are resolved by confidence, then length. Default: one greedy
//        sample (temperature 0, n = 1), every span with confidence 1. An answer that cannot
//        be read gets one repair turn (the model sees its answer and the problem) before
//        the sample counts as failed; when every sample fails, the note fails. Where the
//        schema has them, attributes, relations and document labels are read, placed
//        (relate.ts), voted and merged across chunks (consensus.ts) alongside the spans.
// terms  the user's term lists and patterns (terms.ts), with their attribute cues.
// model  the source model's predictions, from a `predict(text)` function.

import { CancelledError } from "../errors.ts";
import type { DocumentLabels, Relation, Span } from "../corpus/types.ts";
import { alignMentions, type AlignOptions } from "./align.ts";
import { answerSpec } from "./answer-spec.ts";
import { abortError, type ChatEngine, type ChatMessage, type ChatRequest, type FinishReason } from "./chat.ts";
import { splitIntoChunks, type Chunk } from "./chunk.ts";
import { mergeChunks, voteSamples, type ChunkResult, type LabelConfidence, type SampleResult } from "./consensus.ts";
import { chunkTokens, estimatePromptTokens, estimateTokens } from "./budget.ts";
import { PromptTooLongError, UnparseableOutputError } from "./errors.ts";
import { outputFormat } from "./format.ts";
import { parseOutput } from "./parse.ts";
import { buildPrompt, type BuiltPrompt, type PromptContext } from "./prompt.ts";
import { placeRelations } from "./relate.ts";
import { checkCues, termMatcher, type TermList, type TermOptions } from "./terms.ts";
import type { AnnotatedSpan, Mention, Problem, UnplacedMention, UnplacedRelation } from "./types.ts";

export interface NoteInput {
  id: string;
  text: string;
}

export interface LlmOptions {
  /** 0 (default) for one greedy answer; self-consistency needs > 0 (0.7 when samples > 1 and unset). */
  temperature?: number;
  /** Samples per chunk (self-consistency); 1 by default. */
  samples?: number;
  /** Keep spans whose confidence (fraction of samples) is at least this; 0.5 by default. */
  threshold?: number;
  seed?: number;
  /** Generation limit per answer; an answer cut there keeps its complete items. */
  maxTokens?: number;
  /** Mentions kept per answer (a looping model is cut there). */
  maxMentions?: number;
  /** Chunk budget in characters (about 3 per token for Spanish/English clinical text) where the model's context is unknown; 6,000 by default. */
  chunkChars?: number;
  /**
   * The model's context window in tokens (WebLLM's builds say it). Chunks are then sized
   * so that the prompt, the chunk and the answer fit (budget.ts), and `chunkChars` is not used.
   */
  contextTokens?: number;
  chunkOverlap?: number;
  /** Per engine call; the call fails with ChatUnavailableError after it. */
  timeoutMs?: number;
  /** Repair turns for an unreadable answer; 1 by default. */
  repairRetries?: number;
  align?: AlignOptions;
}

export type AnnotatorBackend =
  | { kind: "llm"; engine: ChatEngine; options?: LlmOptions }
  | { kind: "terms"; lists: readonly TermList[]; options?: TermOptions }
  | { kind: "model"; predict: (text: string) => readonly Span[] | Promise<readonly Span[]> };

export interface AnnotateContext extends PromptContext {
  backend: AnnotatorBackend;
  signal?: AbortSignal;
}

/** One answer of the engine, kept for audit. */
export interface RawOutput {
  chunk: number;
  sample: number;
  /** 0 for the first answer, 1.. for repair turns. */
  attempt: number;
  content: string;
  finishReason: FinishReason;
}

export interface AnnotationUsage {
  promptTokens: number;
  completionTokens: number;
  calls: number;
  milliseconds: number;
}

export interface NoteAnnotation {
  spans: AnnotatedSpan[];
  /** Between `spans` (indexes), where the schema has relation types. */
  relations: Relation[];
  /** Document labels the annotator gave ({} when the schema has none). */
  labels: DocumentLabels;
  labelConfidence: LabelConfidence;
  /** Relations the model gave that are not in `relations`, with why. */
  unplacedRelations: UnplacedRelation[];
  raw: RawOutput[];
  unplaced: UnplacedMention[];
  rejected: Mention[];
  problems: Problem[];
  usage: AnnotationUsage;
  /** Prompt hash (llm backend), for the run record. */
  promptHash?: string;
}

export async function annotateNote(note: NoteInput, context: AnnotateContext): Promise<NoteAnnotation> {
  const started = performance.now();
  const backend = context.backend;
  if (context.signal?.aborted) throw new CancelledError("annotation");
  if (backend.kind === "terms") {
    checkCues(backend.lists, context.schema);
    const spans = termMatcher(backend.lists, backend.options)(note.text).map((span) => ({ ...span, confidence: 1 }));
    return emptyResult(spans, started);
  }
  if (backend.kind === "model") {
    const predicted = await backend.predict(note.text);
    const spans = predicted.map((span) => ({ ...span, confidence: span.confidence ?? 1, match: "model" as const, score: 1 }));
    return emptyResult(spans, started);
  }
  return annotateWithLlm(note, context, backend.engine, backend.options ?? {}, started);
}

function emptyResult(spans: AnnotatedSpan[], started: number): NoteAnnotation {
  return {
    spans,
    relations: [],
    labels: {},
    labelConfidence: {},
    unplacedRelations: [],
    raw: [],
    unplaced: [],
    rejected: [],
    problems: [],
    usage: { promptTokens: 0, completionTokens: 0, calls: 0, milliseconds: performance.now() - started },
  };
}

/** How a note is cut: a budget in `measure`'s units. */
interface ChunkPlan {
  budget: number;
  measure?: (text: string) => number;
  /** What the budget is, for messages. */
  unit: "characters" | "estimated tokens";
}

/** The model's context, where known, sets the chunk size (budget.ts); else `chunkChars`. */
function chunkPlan(context: AnnotateContext, options: LlmOptions): ChunkPlan {
  if (options.contextTokens === undefined) return { budget: options.chunkChars ?? 6000, unit: "characters" };
  const template = buildPrompt("", context);
  return { budget: chunkTokens(options.contextTokens, estimatePromptTokens(template.messages)), measure: estimateTokens, unit: "estimated tokens" };
}

/** Halvings of the chunk budget tried when the engine says a prompt did not fit. */
const OVERFLOW_RETRIES = 3;

async function annotateWithLlm(note: NoteInput, context: AnnotateContext, engine: ChatEngine, options: LlmOptions, started: number): Promise<NoteAnnotation> {
  let plan = chunkPlan(context, options);
  const problems: Problem[] = [];
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await annotateChunks(note, context, engine, options, plan, started);
      result.problems.unshift(...problems);
      return result;
    } catch (error) {
      // Our estimate was low for this model's tokenizer (or its context is smaller than its record says).
      if (!(error instanceof PromptTooLongError) || attempt >= OVERFLOW_RETRIES) throw error;
      plan = { ...plan, budget: Math.floor(plan.budget / 2) };
      problems.push({ kind: "rechunked", message: `the prompt did not fit the model's context (${error.message}); the note was cut into chunks of at most ${plan.budget} ${plan.unit}` });
    }
  }
}

async function annotateChunks(note: NoteInput, context: AnnotateContext, engine: ChatEngine, options: LlmOptions, plan: ChunkPlan, started: number): Promise<NoteAnnotation> {
  const samples = Math.max(1, Math.floor(options.samples ?? 1));
  const temperature = options.temperature ?? (samples > 1 ? 0.7 : 0);
  const threshold = options.threshold ?? 0.5;
  const chunks = splitIntoChunks(note.text, { budget: plan.budget, measure: plan.measure, overlap: options.chunkOverlap ?? 400 });
  const spec = answerSpec(context.schema);
  const result: NoteAnnotation = {
    spans: [],
    relations: [],
    labels: {},
    labelConfidence: {},
    unplacedRelations: [],
    raw: [],
    unplaced: [],
    rejected: [],
    problems: [],
    usage: { promptTokens: 0, completionTokens: 0, calls: 0, milliseconds: 0 },
  };
  const perChunk: (ChunkResult & { chunk: Chunk })[] = [];
  for (const [index, chunk] of chunks.entries()) {
    const prompt = buildPrompt(chunk.text, context);
    result.promptHash = prompt.hash;
    const base: ChatRequest = {
      messages: prompt.messages,
      temperature,
      n: samples,
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.maxTokens !== undefined ? { max_tokens: options.maxTokens } : {}),
      ...(prompt.responseFormat ? { response_format: prompt.responseFormat } : {}),
    };
    const answers = await sample(engine, base, samples, options, context.signal, result);
    const readable: SampleResult[] = [];
    const sampleUnplaced: UnplacedRelation[] = [];
    let lastError: Error | undefined;
    const unplacedSeen = new Set<string>();
    for (const [sampleIndex, answer] of answers.entries()) {
      const outcome = await readAnswer(engine, base, prompt, answer, { chunk: index, sample: sampleIndex }, options, context.signal, result);
      if (outcome instanceof Error) {
        lastError = outcome;
        result.problems.push({ kind: "sample-failed", message: `chunk ${index + 1}, sample ${sampleIndex + 1}: ${outcome.message}` });
        continue;
      }
      const aligned = alignMentions(chunk.text, outcome.mentions, options.align);
      const related = placeRelations(outcome.relations, outcome.mentions, outcome.items, aligned);
      readable.push({ spans: aligned.spans, relations: related.relations, labels: outcome.labels });
      sampleUnplaced.push(...outcome.unplacedRelations, ...related.unplaced);
      for (const item of aligned.unplaced) {
        const key = `${item.mention.type}\u0000${item.mention.text}\u0000${item.mention.occurrence ?? ""}`;
        if (!unplacedSeen.has(key)) {
          unplacedSeen.add(key);
          result.unplaced.push(item);
        }
      }
      for (const mention of outcome.rejected) result.rejected.push(mention);
    }
    if (readable.length === 0) throw lastError ?? new UnparseableOutputError("no answer", "");
    const voted = voteSamples(readable, spec, threshold, chunk.text);
    perChunk.push({ chunk, ...voted, unplacedRelations: [...sampleUnplaced, ...voted.unplacedRelations] });
  }
  if (result.unplaced.length > 0) {
    result.problems.push({ kind: "unplaced", message: `${result.unplaced.length} mention(s) could not be found in the note` });
  }
  const merged = mergeChunks(perChunk, spec, note.text);
  result.spans = merged.spans;
  result.relations = merged.relations;
  result.unplacedRelations = merged.unplacedRelations;
  result.labels = merged.labels;
  result.labelConfidence = merged.labelConfidence;
  if (merged.unplacedRelations.length > 0) {
    result.problems.push({
      kind: "unplaced-relation",
      message: `${merged.unplacedRelations.length} relation(s) the model gave are not in the result (unknown type, wrong entity types, or an end not placed in the note)`,
    });
  }
  result.usage.milliseconds = performance.now() - started;
  return result;
}

interface Answer {
  content: string;
  finishReason: FinishReason;
}

/** n answers: one call with `n`, topped up by single calls if the engine returned fewer. */
async function sample(engine: ChatEngine, base: ChatRequest, samples: number, options: LlmOptions, signal: AbortSignal | undefined, result: NoteAnnotation): Promise<Answer[]> {
  const answers: Answer[] = [];
  let call = 0;
  while (answers.length < samples) {
    const want = samples - answers.length;
    const request: ChatRequest = { ...base, n: want };
    if (call > 0 && base.seed !== undefined) request.seed = base.seed + call;
    const response = await callEngine(engine, request, options, signal, result);
    for (const choice of response.choices.slice(0, want)) answers.push({ content: choice.message.content, finishReason: choice.finish_reason });
    call++;
  }
  return answers;
}

async function callEngine(engine: ChatEngine, request: ChatRequest, options: LlmOptions, signal: AbortSignal | undefined, result: NoteAnnotation) {
  const timeout = options.timeoutMs !== undefined ? AbortSignal.timeout(options.timeoutMs) : undefined;
  const combined = timeout && signal ? AbortSignal.any([signal, timeout]) : (timeout ?? signal);
  try {
    const response = await engine.complete(request, combined);
    result.usage.calls++;
    result.usage.promptTokens += response.usage.prompt_tokens;
    result.usage.completionTokens += response.usage.completion_tokens;
    return response;
  } catch (error) {
    // Engines that ignore the signal's reason: say which limit ended the call.
    if (combined?.aborted && error instanceof CancelledError && !signal?.aborted) throw abortError(combined, "engine");
    throw error;
  }
}

/** Parses an answer; an unreadable one gets repair turns. Returns the error when none helped. */
async function readAnswer(
  engine: ChatEngine,
  base: ChatRequest,
  prompt: BuiltPrompt,
  first: Answer,
  at: { chunk: number; sample: number },
  options: LlmOptions,
  signal: AbortSignal | undefined,
  result: NoteAnnotation,
): Promise<ReturnType<typeof parseOutput> | Error> {
  const retries = options.repairRetries ?? 1;
  const history: ChatMessage[] = [...base.messages];
  let answer = first;
  for (let attempt = 0; ; attempt++) {
    result.raw.push({ ...at, attempt, content: answer.content, finishReason: answer.finishReason });
    try {
      const parsed = parseOutput(answer.content, prompt.format, prompt.spec, {
        truncated: answer.finishReason === "length",
        maxMentions: options.maxMentions,
      });
      for (const problem of parsed.problems) result.problems.push({ ...problem, message: `chunk ${at.chunk + 1}, sample ${at.sample + 1}: ${problem.message}` });
      return parsed;
    } catch (error) {
      if (!(error instanceof UnparseableOutputError) || attempt >= retries) return error as Error;
      result.problems.push({ kind: "retried", message: `chunk ${at.chunk + 1}, sample ${at.sample + 1}: unreadable answer, asked again (${error.problem})` });
      history.push(
        { role: "assistant", content: answer.content },
        {
          role: "user",
          content: `Your answer could not be read: ${error.problem}. Answer again, only in the required format. ${outputFormat(prompt.format).instructions(prompt.spec)}`,
        },
      );
      const seed = base.seed !== undefined ? base.seed + 1000 + attempt : undefined;
      const response = await callEngine(engine, { ...base, messages: [...history], n: 1, ...(seed !== undefined ? { seed } : {}) }, options, signal, result);
      answer = { content: response.choices[0].message.content, finishReason: response.choices[0].finish_reason };
    }
  }
}
