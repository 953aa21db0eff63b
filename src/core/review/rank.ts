// Which unreviewed note a reviewer should see next: the notes where a person's minute
// changes the most come first. Two signals, each in [0, 1], added:
//
//   disagreement  between the LLM's spans and the current model's spans on the note:
//                 1 − the mean of their strict and lenient span F1 (so a boundary
//                 disagreement counts half, a missed or extra mention fully). Both empty
//                 is agreement (0), not the 0/0 = 0 F1 of span metrics.
//   uncertainty   of the LLM across its self-consistency samples: the mean over its spans
//                 of 1 − |2c − 1|, where c is the fraction of samples that gave the span;
//                 1 for a 50/50 span, 0 for one every sample agreed on. A single greedy
//                 answer (no confidence) gives 0: there is nothing to measure.
//
// A note missing one side gets no disagreement (null), and the reason says so. Ties keep
// note order (import order), so the queue is stable between visits.

import type { Span } from "../corpus/types.ts";
import { spanMetrics } from "../eval/span-metrics.ts";

export interface RankInput {
  noteId: number;
  /** The LLM's latest spans on the note, if it annotated it. */
  llm?: readonly Span[];
  /** The current model's latest spans on the note, if it predicted it. */
  model?: readonly Span[];
}

export interface Disagreement {
  strictF1: number;
  lenientF1: number;
  /** 1 − (strictF1 + lenientF1) / 2. */
  value: number;
}

export interface Uncertainty {
  value: number;
  /** LLM spans whose confidence lies within 0.5 ± UNCERTAIN_BAND. */
  uncertainSpans: number;
  spans: number;
}

export interface RankedNote {
  noteId: number;
  score: number;
  disagreement: Disagreement | null;
  uncertainty: Uncertainty | null;
  /** Why the note is where it is, for the reviewer. */
  reason: string;
}

/** A span is "uncertain" when its confidence is within this distance of 0.5. */
export const UNCERTAIN_BAND = 0.2;

export function disagreementOf(llm: readonly Span[], model: readonly Span[]): Disagreement {
  if (llm.length === 0 && model.length === 0) return { strictF1: 1, lenientF1: 1, value: 0 };
  const metrics = spanMetrics([{ gold: llm, pred: model }]);
  const strictF1 = metrics.strict.micro.f1;
  const lenientF1 = metrics.lenient.micro.f1;
  return { strictF1, lenientF1, value: 1 - (strictF1 + lenientF1) / 2 };
}

export function uncertaintyOf(llm: readonly Span[]): Uncertainty {
  if (llm.length === 0) return { value: 0, uncertainSpans: 0, spans: 0 };
  let sum = 0;
  let uncertainSpans = 0;
  for (const span of llm) {
    const c = span.confidence ?? 1;
    sum += 1 - Math.abs(2 * c - 1);
    if (Math.abs(c - 0.5) <= UNCERTAIN_BAND) uncertainSpans++;
  }
  return { value: sum / llm.length, uncertainSpans, spans: llm.length };
}

export function rankNote(input: RankInput): RankedNote {
  const disagreement = input.llm && input.model ? disagreementOf(input.llm, input.model) : null;
  const uncertainty = input.llm ? uncertaintyOf(input.llm) : null;
  const score = (disagreement?.value ?? 0) + (uncertainty?.value ?? 0);
  return { noteId: input.noteId, score, disagreement, uncertainty, reason: reasonOf(input, disagreement, uncertainty) };
}

/** Highest score first; equal scores in the order given. */
export function rankNotes(inputs: readonly RankInput[]): RankedNote[] {
  return inputs
    .map((input, index) => ({ ranked: rankNote(input), index }))
    .sort((a, b) => b.ranked.score - a.ranked.score || a.index - b.index)
    .map(({ ranked }) => ranked);
}

const fixed = (value: number) => value.toFixed(2);

function reasonOf(input: RankInput, disagreement: Disagreement | null, uncertainty: Uncertainty | null): string {
  const parts: string[] = [];
  if (disagreement) {
    parts.push(
      disagreement.value === 0
        ? `LLM and model agree (${input.llm!.length} spans)`
        : `LLM and model disagree: span F1 ${fixed(disagreement.strictF1)} strict, ${fixed(disagreement.lenientF1)} lenient ` +
            `(LLM ${input.llm!.length} spans, model ${input.model!.length})`,
    );
  } else if (input.llm || input.model) {
    parts.push(`only the ${input.llm ? "LLM" : "model"} annotated it`);
  } else {
    parts.push("no machine annotations yet");
  }
  if (uncertainty && uncertainty.spans > 0) {
    parts.push(
      uncertainty.uncertainSpans > 0
        ? `${uncertainty.uncertainSpans} of ${uncertainty.spans} LLM spans uncertain across samples (confidence near 0.5)`
        : uncertainty.value > 0
          ? `LLM samples mostly agree (uncertainty ${fixed(uncertainty.value)})`
          : "LLM spans all certain",
    );
  }
  return parts.join("; ");
}
