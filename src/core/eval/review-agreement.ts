// Agreement on reviewed notes: how far the LLM is from the people who reviewed its work,
// and how far those people are from each other. Built on span-metrics.ts and agreement.ts.
//
// Choices:
// - LLM vs human: each reviewed note once, its LATEST review (the note's reference, as
//   training and the gold check take it) as gold and the LLM's latest spans as prediction;
//   strict and lenient F1 per type and micro over all types.
// - Human vs human: every pair of reviewers who both reviewed a note, reviewers in name
//   order (span F1 is symmetric; kappa too). Token kappa over words, and over single
//   characters in scripts written without spaces (Japanese, Chinese), so it means the
//   same thing in both.
// - Over time: by the calendar day (UTC, so numbers do not move with the time zone) of the
//   review, or for a pair, of the later of the two reviews; each day scores only the
//   notes reviewed that day.

import type { Span } from "../corpus/types.ts";
import { tokenKappa, type KappaResult } from "./agreement.ts";
import { spanMetrics, type MatchScores, type Scores } from "./span-metrics.ts";

export interface ReviewRecord {
  noteId: number;
  text: string;
  reviewer: string;
  /** Milliseconds since the epoch. */
  reviewedAt: number;
  spans: readonly Span[];
}

export interface LlmHumanAgreement {
  notes: number;
  /** Types in the reviews ∪ the LLM's spans, sorted. */
  types: string[];
  strict: MatchScores;
  lenient: MatchScores;
}

export interface HumanPairAgreement {
  a: string;
  b: string;
  notes: number;
  strict: Scores;
  lenient: Scores;
  kappa: KappaResult;
}

export interface AgreementDay {
  /** YYYY-MM-DD (UTC). */
  day: string;
  llmNotes: number;
  llmStrictF1: number;
  llmLenientF1: number;
  humanNotes: number;
  humanStrictF1: number;
  humanKappa: number;
}

export interface AgreementReport {
  llm: LlmHumanAgreement;
  humans: HumanPairAgreement[];
  overTime: AgreementDay[];
}

const WORD_OR_SYMBOL = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}]|(?:(?![\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}])[\p{L}\p{M}\p{N}])+|[^\s\p{L}\p{M}\p{N}]/gu;

/** Tokens for kappa: runs of letters and digits, one token per Han or kana character, each other visible character alone. */
export function agreementTokens(text: string): { start: number; end: number }[] {
  return Array.from(text.matchAll(WORD_OR_SYMBOL), (match) => ({ start: match.index, end: match.index + match[0].length }));
}

/** The LLM's spans scored against the reviews, with the reviews as gold. */
export function llmVsHuman(pairs: readonly { human: readonly Span[]; llm: readonly Span[] }[]): LlmHumanAgreement {
  const metrics = spanMetrics(pairs.map((pair) => ({ gold: pair.human, pred: pair.llm })));
  return { notes: pairs.length, types: metrics.types, strict: metrics.strict, lenient: metrics.lenient };
}

/** Two reviewers on the same notes: span F1 (a as gold) and token kappa. */
export function humanVsHuman(a: string, b: string, notes: readonly { text: string; a: readonly Span[]; b: readonly Span[] }[]): HumanPairAgreement {
  const metrics = spanMetrics(notes.map((note) => ({ gold: note.a, pred: note.b })));
  const kappa = tokenKappa(notes.map((note) => ({ tokens: agreementTokens(note.text), a: note.a, b: note.b })));
  return { a, b, notes: notes.length, strict: metrics.strict.micro, lenient: metrics.lenient.micro, kappa };
}

export function utcDay(millis: number): string {
  return new Date(millis).toISOString().slice(0, 10);
}

interface PairNote {
  text: string;
  a: readonly Span[];
  b: readonly Span[];
  at: number;
}

/**
 * The agreement report of a project's reviews. `llmSpans` gives the LLM's latest spans of
 * a note (undefined when the LLM did not annotate it: the note is left out of LLM scores).
 */
export function agreementReport(reviews: readonly ReviewRecord[], llmSpans: (noteId: number) => readonly Span[] | undefined): AgreementReport {
  const byNote = new Map<number, ReviewRecord[]>();
  for (const review of reviews) byNote.set(review.noteId, [...(byNote.get(review.noteId) ?? []), review]);

  const llmPairs: { human: readonly Span[]; llm: readonly Span[]; at: number }[] = [];
  const pairNotes = new Map<string, PairNote[]>();
  for (const [noteId, noteReviews] of byNote) {
    // Equal times (one millisecond): the later record, as rows come in the order they were written.
    const latest = noteReviews.reduce((best, review) => (review.reviewedAt >= best.reviewedAt ? review : best));
    const llm = llmSpans(noteId);
    if (llm) llmPairs.push({ human: latest.spans, llm, at: latest.reviewedAt });
    const sorted = [...noteReviews].sort((x, y) => (x.reviewer < y.reviewer ? -1 : x.reviewer > y.reviewer ? 1 : 0));
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length; j++) {
        if (sorted[i].reviewer === sorted[j].reviewer) continue;
        const key = `${sorted[i].reviewer}\u0000${sorted[j].reviewer}`;
        const note: PairNote = { text: sorted[i].text, a: sorted[i].spans, b: sorted[j].spans, at: Math.max(sorted[i].reviewedAt, sorted[j].reviewedAt) };
        pairNotes.set(key, [...(pairNotes.get(key) ?? []), note]);
      }
    }
  }

  const humans = [...pairNotes].map(([key, notes]) => {
    const [a, b] = key.split("\u0000");
    return humanVsHuman(a, b, notes);
  });
  return { llm: llmVsHuman(llmPairs), humans, overTime: overTime(llmPairs, [...pairNotes.values()].flat()) };
}

function overTime(llmPairs: readonly { human: readonly Span[]; llm: readonly Span[]; at: number }[], pairNotes: readonly PairNote[]): AgreementDay[] {
  const days = [...new Set([...llmPairs.map((pair) => utcDay(pair.at)), ...pairNotes.map((note) => utcDay(note.at))])].sort();
  return days.map((day) => {
    const llm = llmVsHuman(llmPairs.filter((pair) => utcDay(pair.at) === day));
    const humanNotes = pairNotes.filter((note) => utcDay(note.at) === day);
    const human = humanVsHuman("", "", humanNotes);
    return {
      day,
      llmNotes: llm.notes,
      llmStrictF1: llm.strict.micro.f1,
      llmLenientF1: llm.lenient.micro.f1,
      humanNotes: humanNotes.length,
      humanStrictF1: human.strict.f1,
      humanKappa: human.kappa.kappa,
    };
  });
}
