// Scores a set of weights the way the app will use them: the forward-only ONNX model that
// buildInferenceModel exports, run by createPredictor (windows, first sub-token, exact
// character offsets), then strict and lenient span F1 per type from spanMetrics.

import type { EncoderConfig } from "../../src/core/model/config.ts";
import { createPredictor } from "../../src/core/model/predict.ts";
import { spanMetrics, type MatchScores } from "../../src/core/eval/span-metrics.ts";
import type { TextTokenizer } from "../../src/core/text/tokenizer.ts";
import type { CorpusNote } from "./corpus.ts";

export interface Scored {
  precision: number;
  recall: number;
  f1: number;
  tp: number;
  fp: number;
  fn: number;
}

export interface SplitScores {
  notes: number;
  strict: { micro: Scored; perType: Record<string, Scored> };
  lenient: { micro: Scored; perType: Record<string, Scored> };
  seconds: number;
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

function scored(s: Scored): Scored {
  return { precision: round(s.precision), recall: round(s.recall), f1: round(s.f1), tp: s.tp, fp: s.fp, fn: s.fn };
}

function summary(match: MatchScores, types: readonly string[]): SplitScores["strict"] {
  const zero = { precision: 0, recall: 0, f1: 0, tp: 0, fp: 0, fn: 0 };
  return {
    micro: scored(match.micro),
    perType: Object.fromEntries(types.map((type) => [type, scored(match.perType[type] ?? zero)])),
  };
}

export async function evaluateNotes(
  onnx: Uint8Array,
  config: EncoderConfig,
  tokenizer: TextTokenizer,
  notes: readonly CorpusNote[],
  types: readonly string[],
): Promise<SplitScores> {
  const t0 = performance.now();
  const predictor = await createPredictor({ onnx, config, tokenizer });
  try {
    const predictions = await predictor.predict(notes.map((note) => note.text), { batchSize: 32 });
    const metrics = spanMetrics(notes.map((note, i) => ({ gold: note.spans, pred: predictions[i] })));
    return {
      notes: notes.length,
      strict: summary(metrics.strict, types),
      lenient: summary(metrics.lenient, types),
      seconds: Math.round((performance.now() - t0) / 100) / 10,
    };
  } finally {
    await predictor.release();
  }
}
