// Who labels the target training notes. An annotator name is a base and optional methods
// for noisy labels, joined by "+": `llm-sim-0.65+weighted`, `self-training+filtered`.
//
// Bases:
//   gold           the corpus's manual annotation;
//   llm-sim-<F1>   a simulated LLM (src/core/eval/simulate-annotator.ts) whose error scale
//                  is calibrated so its labels' strict F1 against gold is <F1>;
//   self-training  the source model's own predictions (confidence: mean label probability);
//   term-list      terms of the source training data (annotate/terms.ts, via annotateNote);
//   llm-endpoint   a real LLM behind an OpenAI-compatible server (--endpoint, --model).
// Methods:
//   weighted   confidence-weighted loss (trainingExamples weightByConfidence);
//   filtered   spans under --min-confidence dropped (trainingExamples minConfidence);
//   gold-mix   --gold-mix of the N notes labelled gold instead (at most half of N).

import type { Span } from "../../../src/core/corpus/types.ts";
import { annotateNote, type AnnotateContext } from "../../../src/core/annotate/annotator.ts";
import { openAiEndpoint } from "../../../src/core/annotate/chat.ts";
import type { TermList } from "../../../src/core/annotate/terms.ts";
import { DEFAULT_ERROR_PROFILE, type ErrorProfile, calibrateScale, simulateCorpus } from "../../../src/core/eval/simulate-annotator.ts";
import { schemaWithTypes, type TaskSchema } from "../../../src/core/schema/types.ts";
import type { Note } from "./corpus.ts";

export interface AnnotatorSpec {
  name: string;
  base: string;
  weighted: boolean;
  filtered: boolean;
  goldMix: boolean;
}

const METHODS = new Set(["weighted", "filtered", "gold-mix"]);
const SIM = /^llm-sim-(0?\.\d+|1(?:\.0+)?)$/;

export function parseAnnotator(name: string): AnnotatorSpec {
  const [base, ...methods] = name.split("+");
  if (!["gold", "self-training", "term-list", "llm-endpoint"].includes(base) && !SIM.test(base)) {
    throw new Error(`adapt: unknown annotator ${JSON.stringify(base)}; known: gold, llm-sim-<F1> (e.g. llm-sim-0.65), self-training, term-list, llm-endpoint`);
  }
  for (const method of methods) {
    if (!METHODS.has(method)) throw new Error(`adapt: unknown method "+${method}" in ${name}; known: +weighted, +filtered, +gold-mix`);
  }
  return { name, base, weighted: methods.includes("weighted"), filtered: methods.includes("filtered"), goldMix: methods.includes("gold-mix") };
}

/** Labels for target training notes, by index; computed once per note. */
export interface LabelSource {
  labels(indices: readonly number[]): Promise<Span[][]>;
  /** What to report about the annotator (calibration, term counts, failures). */
  info: Record<string, unknown>;
}

function eager(all: Span[][], info: Record<string, unknown>): LabelSource {
  return { labels: async (indices) => indices.map((i) => all[i]), info };
}

// --- CT-EBM-SP's seven UMLS semantic groups: what a simulated LLM confuses and guesses ---

const CONFUSIONS: Record<string, string[]> = {
  DISO: ["PHYS", "PROC", "ANAT"],
  PHYS: ["DISO", "PROC"],
  PROC: ["DISO", "CHEM", "DEVI"],
  CHEM: ["PROC", "LIVB"],
  ANAT: ["DISO", "LIVB"],
  LIVB: ["ANAT", "CHEM"],
  DEVI: ["PROC", "CHEM"],
};

function guessClinicalType(words: string): string | undefined {
  const last = words.toLowerCase().split(/\s+/).pop() ?? "";
  if (/(itis|osis|emia|algia|oma|patía|penia|uria|rragia|plejia|megalia|ismo|ción)$/.test(last)) return "DISO";
  if (/(ectomía|tomía|scopia|grafía|plastia|terapia|metría)$/.test(last)) return "PROC";
  if (/(ina|ol|ato|ida|ona|pam|lam|mab|cilina|micina)$/.test(last)) return "CHEM";
  return undefined;
}

const DEFINITIONS: Record<string, string> = {
  ANAT: "anatomical structures and body parts",
  CHEM: "chemicals, drugs and substances",
  DEVI: "medical devices",
  DISO: "diseases, disorders, signs and symptoms",
  LIVB: "living beings: people, organisms, bacteria, viruses",
  PHYS: "physiological functions and processes",
  PROC: "diagnostic and therapeutic procedures, tests",
};

export function clinicalSchema(types: readonly string[]): TaskSchema {
  const schema = schemaWithTypes([...types]);
  for (const type of schema.entityTypes) type.definition = DEFINITIONS[type.name] ?? "";
  return schema;
}

// --- Simulated LLM -------------------------------------------------------------------------

export interface SimulatorSettings {
  samples: number;
  consistency: number;
  profile?: Record<string, number>;
  seed: number;
}

function profileOf(raw: Record<string, number> | undefined): ErrorProfile {
  if (!raw) return DEFAULT_ERROR_PROFILE;
  const known = { miss: "missRate", spurious: "spuriousRate", boundary: "boundaryRate", type: "typeRate" } as const;
  const profile = { ...DEFAULT_ERROR_PROFILE };
  for (const [key, value] of Object.entries(raw)) {
    const field = known[key as keyof typeof known];
    if (!field || !(value >= 0)) throw new Error(`adapt: --profile takes miss, spurious, boundary, type ≥ 0; got ${key}=${value}`);
    profile[field] = value;
  }
  return profile;
}

export function simulatedLlm(train: readonly Note[], types: readonly string[], targetF1: number, settings: SimulatorSettings): LabelSource {
  const notes = train.map((note) => ({ text: note.text, gold: note.spans }));
  const options = {
    types,
    seed: settings.seed,
    samples: settings.samples,
    consistency: settings.consistency,
    confusions: CONFUSIONS,
    guessType: guessClinicalType,
  };
  const calibration = calibrateScale(notes, targetF1, { ...options, base: profileOf(settings.profile) });
  const labels = simulateCorpus(notes, { ...options, profile: calibration.profile });
  return eager(labels, {
    target_f1: targetF1,
    achieved_strict_f1: round(calibration.strictF1),
    achieved_lenient_f1: round(calibration.lenientF1),
    scale: round(calibration.scale),
    profile: Object.fromEntries(Object.entries(calibration.profile).map(([k, v]) => [k, round(v)])),
    samples: settings.samples,
    consistency: settings.consistency,
  });
}

// --- Term lists from the source training data --------------------------------------------

const normalizeTerm = (text: string) => text.trim().replace(/\s+/g, " ").toLowerCase();

/**
 * Per type, the source entities' words seen at least twice whose type is the same at least
 * 70% of the time (so "dolor" is kept only if it is mostly one type), three characters or more.
 */
export function sourceTermLists(source: readonly Note[], types: readonly string[]): TermList[] {
  const counts = new Map<string, Map<string, number>>();
  for (const note of source) {
    for (const span of note.spans) {
      const term = normalizeTerm(note.text.slice(span.start, span.end));
      if (term.length < 3 || !/\p{L}/u.test(term)) continue;
      const byType = counts.get(term) ?? new Map<string, number>();
      byType.set(span.type, (byType.get(span.type) ?? 0) + 1);
      counts.set(term, byType);
    }
  }
  const lists = new Map<string, string[]>(types.map((t) => [t, []]));
  for (const [term, byType] of counts) {
    const total = [...byType.values()].reduce((a, b) => a + b, 0);
    const [type, top] = [...byType].sort((a, b) => b[1] - a[1])[0];
    if (total >= 2 && top / total >= 0.7) lists.get(type)?.push(term);
  }
  return [...lists].map(([type, terms]) => ({ type, terms }));
}

export async function termListAnnotator(train: readonly Note[], source: readonly Note[], types: readonly string[]): Promise<LabelSource> {
  const lists = sourceTermLists(source, types);
  const context: AnnotateContext = { schema: clinicalSchema(types), backend: { kind: "terms", lists } };
  const labels: Span[][] = [];
  for (const note of train) labels.push((await annotateNote({ id: note.id, text: note.text }, context)).spans.map(plainSpan));
  return eager(labels, { terms: Object.fromEntries(lists.map((l) => [l.type, l.terms?.length ?? 0])) });
}

// --- A real LLM through an OpenAI-compatible endpoint ------------------------------------

export interface EndpointSettings {
  url: string;
  model: string;
  apiKey?: string;
  samples: number;
  log: (message: string) => void;
}

/** Annotates each note the first time a run needs it; a note that fails gets no spans (counted). */
export function endpointAnnotator(train: readonly Note[], types: readonly string[], settings: EndpointSettings): LabelSource {
  const engine = openAiEndpoint(settings.url, { model: settings.model, ...(settings.apiKey ? { apiKey: settings.apiKey } : {}) });
  const context: AnnotateContext = {
    schema: clinicalSchema(types),
    backend: { kind: "llm", engine, options: { samples: settings.samples, seed: 1 } },
  };
  const cache = new Map<number, Span[]>();
  const info = { url: settings.url, model: settings.model, samples: settings.samples, annotated: 0, failed: 0, completion_tokens: 0 };
  return {
    info,
    async labels(indices) {
      for (const i of indices) {
        if (cache.has(i)) continue;
        try {
          const result = await annotateNote({ id: train[i].id, text: train[i].text }, context);
          cache.set(i, result.spans.map(plainSpan));
          info.completion_tokens += result.usage.completionTokens;
        } catch (error) {
          info.failed++;
          settings.log(`llm-endpoint: note ${train[i].id} failed (${(error as Error).message}); it gets no spans`);
          cache.set(i, []);
        }
        info.annotated++;
      }
      return indices.map((i) => cache.get(i)!);
    },
  };
}

/** Self-training labels: the source model's predictions, confidences kept. */
export function predictionAnnotator(predictions: Span[][]): LabelSource {
  return eager(predictions.map((spans) => spans.map(plainSpan)), {});
}

function plainSpan(span: Span): Span {
  return { start: span.start, end: span.end, type: span.type, ...(span.confidence !== undefined ? { confidence: span.confidence } : {}) };
}

export function round(value: number, digits = 4): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}
