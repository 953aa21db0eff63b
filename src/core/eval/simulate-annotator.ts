// A simulated LLM annotator: gold spans corrupted by a configurable error profile, for
// benchmarks that ask "how good must LLM labels be to help?" without an LLM.
//
// Errors, as LLM annotations of clinical notes show them:
//   miss      a gold span is left out;
//   spurious  a span on plausible text that gold leaves unmarked: capitalised or
//             medical-looking words (Greek/Latin suffixes), long content words, and
//             noun-like chunks ("dolor abdominal", "dolor de cabeza");
//   boundary  a kept span grows or shrinks by one word at one end;
//   type      a kept span gets another type (preferred confusions when given).
// `scaleProfile` multiplies every rate by one number, so a caller can search the scale
// that gives a wanted span F1 against gold (`calibrateScale`).
//
// Self-consistency. An LLM's mistakes are partly its own (it misreads the same span in
// every sample) and partly noise (temperature). So each decision draws its uniform from
// a per-note stream shared by all samples with probability `consistency`, and from the
// sample's own stream otherwise; each sample still makes every error at the profile's
// rate. With k samples a span's confidence is the fraction of samples that contain it
// (start, end and type), spans under `threshold` are dropped and overlaps are resolved by
// confidence, then length, as the real annotator does (annotate/annotator.ts).

import type { Span } from "../corpus/types.ts";
import { spanMetrics } from "./span-metrics.ts";

export interface ErrorProfile {
  /** Probability that a gold span is left out. */
  missRate: number;
  /** Expected spurious spans per gold span of the note. */
  spuriousRate: number;
  /** Probability that a kept span's boundary moves by one word. */
  boundaryRate: number;
  /** Probability that a kept span gets another type. */
  typeRate: number;
}

/** Relative weights of the errors; at scale 1 a single sample's strict F1 is about 0.4. */
export const DEFAULT_ERROR_PROFILE: ErrorProfile = { missRate: 0.3, spuriousRate: 0.35, boundaryRate: 0.25, typeRate: 0.15 };

const MAX_PROBABILITY = 0.95;

/** Every rate times `scale`; probabilities are capped at 0.95 (the spurious rate is not a probability). */
export function scaleProfile(profile: ErrorProfile, scale: number): ErrorProfile {
  if (!(scale >= 0)) throw new RangeError(`scaleProfile: the scale must be ≥ 0, got ${scale}`);
  const p = (rate: number) => Math.min(MAX_PROBABILITY, rate * scale);
  return {
    missRate: p(profile.missRate),
    spuriousRate: profile.spuriousRate * scale,
    boundaryRate: p(profile.boundaryRate),
    typeRate: p(profile.typeRate),
  };
}

export interface SimulatorOptions {
  profile: ErrorProfile;
  /** Entity types the annotator may assign. */
  types: readonly string[];
  /** Seeds the annotator: the same seed annotates the same note the same way. */
  seed: number;
  /** Self-consistency samples; 1 (default): one answer, every span confidence 1. */
  samples?: number;
  /** Share of decisions that are the annotator's persistent mistakes, 0…1 (default 0.7). */
  consistency?: number;
  /** Spans kept with at least this confidence (default 0.5, as the LLM annotator). */
  threshold?: number;
  /** Types a type error prefers, per gold type; any other type otherwise. */
  confusions?: Readonly<Record<string, readonly string[]>>;
  /** The type of a spurious span on these words; a type drawn by the note's gold mix otherwise. */
  guessType?: (words: string) => string | undefined;
}

export interface NoteToAnnotate {
  text: string;
  gold: readonly Span[];
}

// --- Randomness ------------------------------------------------------------------------

/** FNV-1a over the text: notes get their own streams whatever else is annotated. */
function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** mulberry32 */
function stream(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const mix = (a: number, b: number) => (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(b + 0x632be5ab, 0xc2b2ae35)) >>> 0;

/**
 * Uniform draws for one sample. Decision number d reads the note's persistent stream or
 * the sample's fresh stream; both streams advance on every decision, so decision d sees
 * the same persistent uniform in every sample and at every scale.
 */
function sampleDraws(noteSeed: number, sample: number, consistency: number): () => number {
  const persistent = stream(mix(noteSeed, 0));
  const fresh = stream(mix(noteSeed, sample + 1));
  return () => {
    const shared = persistent();
    const own = fresh();
    const pick = fresh();
    return pick < consistency ? shared : own;
  };
}

// --- Plausible text for spurious spans --------------------------------------------------

const WORD = /[\p{L}\p{N}][\p{L}\p{N}\p{M}'-]*/gu;

// Function words of Spanish and English: never a spurious span on their own.
const STOPWORDS = new Set(
  (
    "a al algo algunas algunos ante antes como con contra cual cuando de del desde donde durante e el ella ellas ellos en entre era " +
    "es esta este esto estos estas fue ha hace hasta hay la las le les lo los mas más me mi muy no nos o otra otras otro otros para " +
    "pero poco por porque que qué se sea según ser si sí sin sobre su sus también tras un una uno unos unas y ya " +
    "and are as at be by for from has have in is it its of on or that the this to was were which with"
  ).split(" "),
);

// Greek and Latin endings of medical words, in Spanish and English spellings.
const MEDICAL_ENDING =
  /(itis|osis|emia|emias|algia|algias|oma|omas|patía|pathy|ectomía|ectomy|tomía|tomy|scopia|scopy|grafía|graphy|plastia|plasty|penia|cemia|uria|rragia|plejia|plegia|megalia|megaly|cina|ina|ol|ato|ida|ona|asa|ase|ema|osa|ico|ica|ía)$/iu;

function isContentWord(word: string): boolean {
  return word.length >= 3 && !STOPWORDS.has(word.toLowerCase()) && !/^\d+$/.test(word);
}

function isPlausibleWord(word: string): boolean {
  if (!isContentWord(word)) return false;
  return /^\p{Lu}/u.test(word) || MEDICAL_ENDING.test(word) || word.length >= 7;
}

interface Chunk {
  start: number;
  end: number;
}

/**
 * Plausible places for a spurious span: plausible single words, two content words in a
 * row ("dolor abdominal"), and "X de Y" chunks ("dolor de cabeza"). Separators must be
 * whitespace only, so no chunk crosses punctuation or a line break.
 */
export function plausibleChunks(text: string): Chunk[] {
  const words = [...text.matchAll(WORD)].map((m) => ({ start: m.index!, end: m.index! + m[0].length, word: m[0] }));
  const chunks: Chunk[] = [];
  const joined = (a: number, b: number) => /^[ \t]+$/.test(text.slice(words[a].end, words[b].start));
  words.forEach((w, i) => {
    if (isPlausibleWord(w.word)) chunks.push({ start: w.start, end: w.end });
    if (i + 1 < words.length && joined(i, i + 1) && isContentWord(w.word) && isContentWord(words[i + 1].word)) {
      chunks.push({ start: w.start, end: words[i + 1].end });
    }
    if (
      i + 2 < words.length &&
      joined(i, i + 1) &&
      joined(i + 1, i + 2) &&
      isContentWord(w.word) &&
      /^(de|del|of)$/i.test(words[i + 1].word) &&
      isContentWord(words[i + 2].word)
    ) {
      chunks.push({ start: w.start, end: words[i + 2].end });
    }
  });
  return chunks;
}

// --- Boundary moves -----------------------------------------------------------------------

/** The span grown or shrunk by one word at one end, or undefined when that move is impossible. */
function moveBoundary(text: string, span: Span, move: number): Span | undefined {
  const inner = [...text.slice(span.start, span.end).matchAll(WORD)];
  switch (move) {
    case 0: {
      // grow right: the next word, if only spaces separate it
      const after = /^[ \t]+([\p{L}\p{N}][\p{L}\p{N}\p{M}'-]*)/u.exec(text.slice(span.end));
      return after ? { ...span, end: span.end + after[0].length } : undefined;
    }
    case 1: {
      // grow left
      const before = /([\p{L}\p{N}][\p{L}\p{N}\p{M}'-]*)[ \t]+$/u.exec(text.slice(Math.max(0, span.start - 40), span.start));
      return before ? { ...span, start: span.start - before[0].length } : undefined;
    }
    case 2: {
      // shrink right: drop the last word
      if (inner.length < 2) return undefined;
      const last = inner[inner.length - 2];
      return { ...span, end: span.start + last.index! + last[0].length };
    }
    default: {
      // shrink left: drop the first word
      if (inner.length < 2) return undefined;
      return { ...span, start: span.start + inner[1].index! };
    }
  }
}

// --- One note -----------------------------------------------------------------------------

const overlaps = (a: Chunk, b: Chunk) => a.start < b.end && b.start < a.end;

/** A non-overlapping subset: higher confidence, then longer, then earlier. */
function resolve(spans: Span[]): Span[] {
  const order = [...spans].sort(
    (a, b) => (b.confidence ?? 1) - (a.confidence ?? 1) || b.end - b.start - (a.end - a.start) || a.start - b.start,
  );
  const kept: Span[] = [];
  for (const span of order) if (!kept.some((k) => overlaps(k, span))) kept.push(span);
  return kept.sort((a, b) => a.start - b.start || a.end - b.end);
}

function otherType(gold: string, options: SimulatorOptions, u: number): string {
  const preferred = (options.confusions?.[gold] ?? []).filter((t) => t !== gold && options.types.includes(t));
  const pool = preferred.length > 0 ? preferred : options.types.filter((t) => t !== gold);
  return pool.length === 0 ? gold : pool[Math.min(pool.length - 1, Math.floor(u * pool.length))];
}

/** One sample's spans (no confidences), before overlaps are resolved. */
function oneSample(note: NoteToAnnotate, chunks: readonly Chunk[], options: SimulatorOptions, noteSeed: number, sample: number): Span[] {
  const { profile } = options;
  const draw = sampleDraws(noteSeed, sample, options.consistency ?? 0.7);
  const out: Span[] = [];
  // A fixed number of draws per gold span keeps later decisions aligned across scales and samples.
  for (const gold of note.gold) {
    const [uMiss, uBoundary, uMove, uType, uWhich] = [draw(), draw(), draw(), draw(), draw()];
    if (uMiss < profile.missRate) continue;
    let span: Span = { start: gold.start, end: gold.end, type: gold.type };
    if (uBoundary < profile.boundaryRate) {
      const first = Math.floor(uMove * 4);
      for (let k = 0; k < 4; k++) {
        const moved = moveBoundary(note.text, span, (first + k) % 4);
        if (moved) {
          span = moved;
          break;
        }
      }
    }
    if (uType < profile.typeRate) span = { ...span, type: otherType(gold.type, options, uWhich) };
    out.push(span);
  }
  // Spurious spans: each free chunk is taken with the probability that gives the expected count.
  const expected = profile.spuriousRate * Math.max(1, note.gold.length);
  const chance = chunks.length > 0 ? Math.min(1, expected / chunks.length) : 0;
  const goldTypes = note.gold.length > 0 ? note.gold.map((g) => g.type) : options.types;
  for (const chunk of chunks) {
    const [uTake, uType] = [draw(), draw()];
    if (uTake >= chance) continue;
    const words = note.text.slice(chunk.start, chunk.end);
    const guessed = options.guessType?.(words);
    const type = guessed && options.types.includes(guessed) ? guessed : goldTypes[Math.min(goldTypes.length - 1, Math.floor(uType * goldTypes.length))];
    out.push({ start: chunk.start, end: chunk.end, type });
  }
  return out;
}

/** One note's simulated annotation, with per-span confidences from the samples. */
export function simulateAnnotation(note: NoteToAnnotate, options: SimulatorOptions): Span[] {
  const samples = Math.max(1, Math.floor(options.samples ?? 1));
  const threshold = options.threshold ?? 0.5;
  const noteSeed = mix(hashText(note.text), options.seed);
  // Chunks that touch gold would be boundary errors, not spurious ones.
  const chunks = plausibleChunks(note.text).filter((c) => !note.gold.some((g) => overlaps(c, g)));
  const votes = new Map<string, { span: Span; count: number }>();
  for (let s = 0; s < samples; s++) {
    for (const span of resolve(oneSample(note, chunks, options, noteSeed, s))) {
      const key = `${span.start}:${span.end}:${span.type}`;
      const vote = votes.get(key);
      if (vote) vote.count++;
      else votes.set(key, { span, count: 1 });
    }
  }
  const voted = [...votes.values()]
    .map(({ span, count }) => ({ ...span, confidence: count / samples }))
    .filter((span) => span.confidence >= threshold);
  return resolve(voted);
}

export function simulateCorpus(notes: readonly NoteToAnnotate[], options: SimulatorOptions): Span[][] {
  return notes.map((note) => simulateAnnotation(note, options));
}

// --- Calibration ----------------------------------------------------------------------------

export interface Calibration {
  scale: number;
  profile: ErrorProfile;
  /** Strict and lenient micro F1 of the simulated annotation against gold, at `scale`. */
  strictF1: number;
  lenientF1: number;
  /** Scales tried. */
  iterations: number;
}

export interface CalibrationOptions extends Omit<SimulatorOptions, "profile"> {
  /** The profile whose scale is searched (default DEFAULT_ERROR_PROFILE). */
  base?: ErrorProfile;
  /** Largest scale tried (default 4). */
  maxScale?: number;
  /** Stop when |F1 − target| is at most this (default 0.003). */
  tolerance?: number;
  maxIterations?: number;
}

/**
 * The scale of `base` at which the simulated annotation of `notes` has strict micro F1
 * `targetF1` against their gold, by bisection: F1 falls as the scale grows (every sample
 * reuses its uniforms at every scale, so the search sees a nearly monotone curve).
 */
export function calibrateScale(notes: readonly NoteToAnnotate[], targetF1: number, options: CalibrationOptions): Calibration {
  if (!(targetF1 > 0 && targetF1 <= 1)) throw new RangeError(`calibrateScale: the target F1 must lie in (0, 1], got ${targetF1}`);
  const base = options.base ?? DEFAULT_ERROR_PROFILE;
  const tolerance = options.tolerance ?? 0.003;
  const measure = (scale: number) => {
    const profile = scaleProfile(base, scale);
    const predicted = simulateCorpus(notes, { ...options, profile });
    const metrics = spanMetrics(notes.map((note, i) => ({ gold: note.gold, pred: predicted[i] })));
    return { scale, profile, strictF1: metrics.strict.micro.f1, lenientF1: metrics.lenient.micro.f1 };
  };
  let low = 0;
  let high = options.maxScale ?? 4;
  let best = measure(high);
  let iterations = 1;
  if (best.strictF1 < targetF1) {
    for (let i = 0; i < (options.maxIterations ?? 30); i++) {
      const mid = (low + high) / 2;
      const at = measure(mid);
      iterations++;
      if (Math.abs(at.strictF1 - targetF1) < Math.abs(best.strictF1 - targetF1)) best = at;
      if (Math.abs(at.strictF1 - targetF1) <= tolerance) break;
      if (at.strictF1 > targetF1) low = mid;
      else high = mid;
    }
  }
  return { ...best, iterations };
}
