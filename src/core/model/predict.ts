// From notes to spans: a token-classification model run over texts of any length. Each
// note is tokenized with character offsets, cut into windows of the model's length that
// overlap by `stride` tokens, and the windows of all notes are sorted by length and run in
// batches padded only to the longest window of the batch (rounded up to `bucket`), so short
// notes do not pay for long ones. Each token takes its label distribution from the window
// where it sits most centrally; spans come from the BIO labels of the first sub-token of
// each word, as training labels them, with their exact character range and a confidence
// (the mean probability of the labels that made the span).

import type { Span } from "../corpus/types.ts";
import { AppError, CancelledError, ModelFormatError, ShapeError } from "../errors.ts";
import { type HostTensor, type Session, type SessionOptions, createSession } from "../onnx/run.ts";
import { OUTSIDE, bioToSpans } from "../text/bio.ts";
import type { EncodedText, TextTokenizer } from "../text/tokenizer.ts";
import { type TokenWindow, makeWindows, mergeWindowPredictions } from "../text/windows.ts";
import type { EncoderConfig } from "./config.ts";

export interface PredictorInit {
  /** Forward-only ONNX bytes: inputs input_ids, attention_mask (token_type_ids), output logits (B, T, L). */
  onnx: Uint8Array;
  config: EncoderConfig;
  /** Load it with `verify: false` for speed: the ids check re-runs the tokenizer library on every note. */
  tokenizer: TextTokenizer;
  /** Label of each logit column; default config.labels (id2label). Labels without B-/I- read as I-<label>. */
  labels?: readonly string[];
  session?: SessionOptions;
  /** A ready session over `onnx` (tests, or a caller that manages sessions itself). */
  createSession?: (onnx: Uint8Array, options?: SessionOptions) => Promise<Session>;
}

export interface PredictProgress {
  /** Texts whose spans are ready. */
  textsDone: number;
  texts: number;
  windowsDone: number;
  windows: number;
  /** Tokens run through the model, padding included, and without padding. */
  paddedTokens: number;
  realTokens: number;
}

export interface PredictOptions {
  /** Windows per model run (default 16). */
  batchSize?: number;
  /** Tokens per window, special tokens included (default: the model's and tokenizer's limit). */
  maxLength?: number;
  /** Tokens shared by consecutive windows of a long text (default a quarter of a window's text). */
  stride?: number;
  /** A batch is padded to a multiple of this many tokens (default 8; fewer distinct shapes). */
  bucket?: number;
  /** "first" (default): only the first sub-token of a word is read, as training labels it. */
  subword?: "first" | "all";
  signal?: AbortSignal;
  onProgress?: (progress: PredictProgress) => void;
  /** Called once per text as soon as all its windows are done (in no fixed order); awaited. */
  onResult?: (index: number, spans: Span[]) => void | Promise<void>;
}

/** One text's per-token predictions. */
export interface TokenPredictions {
  encoded: EncodedText;
  /** Per token: argmax label id (-1 for special tokens). */
  labelIds: Int32Array;
  /** (tokens, labels) row-major softmax probabilities; rows of special tokens are 0. */
  probabilities: Float32Array;
}

export interface Predictor {
  readonly labels: readonly string[];
  /** Default window length: min(tokenizer limit, model positions). */
  readonly maxLength: number;
  predict(texts: readonly string[], options?: PredictOptions): Promise<Span[][]>;
  /** The per-token view predict() decodes: for inspection and comparison with other runtimes. */
  predictTokens(texts: readonly string[], options?: PredictOptions): Promise<TokenPredictions[]>;
  release(): Promise<void>;
}

export async function createPredictor(init: PredictorInit): Promise<Predictor> {
  const labels = bioLabelNames(init.labels ?? init.config.labels);
  const session = await (init.createSession ?? createSession)(init.onnx, init.session);
  if (!session.inputNames.includes("input_ids") || !session.outputNames.includes("logits")) {
    throw new ModelFormatError(
      "model.onnx",
      `expected inputs input_ids, attention_mask and an output logits; it has inputs ${session.inputNames.join(", ")} and outputs ${session.outputNames.join(", ")}.`,
    );
  }
  const modelLimit = init.config.maxPositions - init.config.positionOffset;
  const maxLength = Math.min(init.tokenizer.maxLength, modelLimit);
  const core = new PredictorCore(session, init.tokenizer, labels, maxLength, init.config.padTokenId);
  return {
    labels,
    maxLength,
    predict: (texts, options) => core.predict(texts, options, true) as Promise<Span[][]>,
    predictTokens: (texts, options) => core.predict(texts, options, false) as Promise<TokenPredictions[]>,
    release: () => session.release(),
  };
}

/** Labels as bioToSpans reads them: O, B-X, I-X; a bare "X" (IO tagging) becomes I-X. */
function bioLabelNames(labels: readonly string[]): string[] {
  if (labels.length === 0) throw new ModelFormatError("config.json", "the model names no labels (id2label is empty).");
  return labels.map((label) => (label === OUTSIDE || /^[BI]-./.test(label) ? label : `I-${label}`));
}

interface WindowRef {
  text: number;
  window: TokenWindow;
  /** Position of this window among its text's windows. */
  slot: number;
}

interface TextState {
  encoded: EncodedText;
  windows: TokenWindow[];
  /** Per window: (positions, labels) probabilities, filled when its batch has run. */
  probs: (Float32Array | undefined)[];
  remaining: number;
}

class PredictorCore {
  private readonly numLabels: number;

  constructor(
    private readonly session: Session,
    private readonly tokenizer: TextTokenizer,
    private readonly labels: readonly string[],
    private readonly defaultMaxLength: number,
    private readonly padId: number,
  ) {
    this.numLabels = labels.length;
  }

  async predict(texts: readonly string[], options: PredictOptions = {}, asSpans: boolean): Promise<Span[][] | TokenPredictions[]> {
    const batchSize = options.batchSize ?? 16;
    const maxLength = options.maxLength ?? this.defaultMaxLength;
    const bucket = options.bucket ?? 8;
    const special = this.tokenizer.prefixIds.length + this.tokenizer.suffixIds.length;
    const stride = options.stride ?? Math.floor((maxLength - special) / 4);
    const subword = options.subword ?? "first";
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new AppError(`batchSize must be a whole number ≥ 1, got ${batchSize}.`);
    if (!(Number.isInteger(bucket) && bucket >= 1)) throw new AppError(`bucket must be a whole number ≥ 1, got ${bucket}.`);
    if (maxLength > this.defaultMaxLength) {
      throw new AppError(`maxLength ${maxLength} is more than the model takes (${this.defaultMaxLength} tokens).`);
    }

    const states: TextState[] = texts.map((text) => {
      const encoded = this.tokenizer.encode(text);
      const windows = makeWindows(encoded, { maxLength, stride });
      return { encoded, windows, probs: new Array(windows.length), remaining: windows.length };
    });
    // Longest first: the first batches are the slowest, so progress and ETA settle early
    // and a batch never mixes long and short windows.
    const order: WindowRef[] = states
      .flatMap((s, text) => s.windows.map((window, slot) => ({ text, window, slot })))
      .sort((a, b) => b.window.ids.length - a.window.ids.length);

    const results: (Span[] | TokenPredictions)[] = new Array(texts.length);
    const progress: PredictProgress = {
      textsDone: 0,
      texts: texts.length,
      windowsDone: 0,
      windows: order.length,
      paddedTokens: 0,
      realTokens: 0,
    };
    const finish = async (text: number) => {
      const state = states[text];
      const tokens = this.mergeText(state);
      results[text] = asSpans ? this.decodeSpans(tokens, subword) : tokens;
      states[text] = undefined as never; // free the windows' probabilities
      progress.textsDone++;
      if (asSpans) await options.onResult?.(text, results[text] as Span[]);
    };
    // Texts with no windows cannot occur (makeWindows always gives one), but an empty text
    // list must still resolve.
    for (let start = 0; start < order.length; start += batchSize) {
      if (options.signal?.aborted) throw new CancelledError("prediction");
      const batch = order.slice(start, start + batchSize);
      const width = Math.min(maxLength, roundUp(Math.max(...batch.map((r) => r.window.ids.length)), bucket));
      const logits = await this.runBatch(batch, width);
      batch.forEach((ref, b) => {
        const state = states[ref.text];
        state.probs[ref.slot] = softmaxRows(logits, b, width, ref.window.ids.length, this.numLabels);
        state.remaining--;
        progress.realTokens += ref.window.ids.length;
      });
      progress.paddedTokens += width * batch.length;
      progress.windowsDone += batch.length;
      for (const ref of batch) if (states[ref.text] && states[ref.text].remaining === 0) await finish(ref.text);
      options.onProgress?.({ ...progress });
    }
    if (options.signal?.aborted) throw new CancelledError("prediction");
    return results as Span[][] | TokenPredictions[];
  }

  private async runBatch(batch: readonly WindowRef[], width: number): Promise<Float32Array> {
    const size = batch.length * width;
    const ids = new BigInt64Array(size).fill(BigInt(this.padId));
    const mask = new BigInt64Array(size);
    batch.forEach((ref, b) => {
      const row = b * width;
      ref.window.ids.forEach((id, p) => {
        ids[row + p] = BigInt(id);
        mask[row + p] = 1n;
      });
    });
    const dims = [batch.length, width];
    const feeds: Record<string, HostTensor> = {
      input_ids: { dtype: "int64", dims, data: ids },
      attention_mask: { dtype: "int64", dims, data: mask },
    };
    if (this.session.inputNames.includes("token_type_ids")) {
      feeds.token_type_ids = { dtype: "int64", dims, data: new BigInt64Array(size) };
    }
    const { logits } = await this.session.run(feeds, ["logits"]);
    const expected = [batch.length, width, this.numLabels];
    if (logits.dims.length !== 3 || logits.dims.some((d, i) => d !== expected[i])) {
      throw new ShapeError(`predict: expected logits (${expected.join(", ")}), got (${logits.dims.join(", ")}); does config.json name every label?`);
    }
    return logits.data as Float32Array;
  }

  /** One text's windows merged: each token's row from its most central window, and its argmax. */
  private mergeText(state: TextState): TokenPredictions {
    const L = this.numLabels;
    const n = state.encoded.ids.length;
    const rowsPerWindow = state.probs.map((probs, w) => {
      const rows: Float32Array[] = [];
      for (let p = 0; p < state.windows[w].ids.length; p++) rows.push(probs!.subarray(p * L, (p + 1) * L));
      return rows;
    });
    const merged = mergeWindowPredictions(state.windows, rowsPerWindow);
    const probabilities = new Float32Array(n * L);
    const labelIds = new Int32Array(n).fill(-1);
    for (let t = 0; t < n; t++) {
      const row = merged[t];
      if (!row || state.encoded.special[t]) continue;
      probabilities.set(row, t * L);
      labelIds[t] = argmax(row);
    }
    return { encoded: state.encoded, labelIds, probabilities };
  }

  private decodeSpans(tokens: TokenPredictions, subword: "first" | "all"): Span[] {
    const L = this.numLabels;
    const { encoded, labelIds, probabilities } = tokens;
    const offsets = encoded.offsets.map(([start, end]) => ({ start, end }));
    // Special tokens keep -1 in labelIds; bioToSpans skips them by the mask before reading labels.
    const labels = Array.from(labelIds, (id) => (id < 0 ? OUTSIDE : this.labels[id]));
    const chosen = Array.from(labelIds, (id, t) => (id < 0 ? 0 : probabilities[t * L + id]));
    return bioToSpans(offsets, labels, {
      probabilities: chosen,
      subword,
      isContinuation: encoded.isContinuation,
      special: encoded.special,
    });
  }
}

/** Softmax of the first `length` rows of batch row `b` of logits (B, width, L). */
function softmaxRows(logits: Float32Array, b: number, width: number, length: number, L: number): Float32Array {
  const out = new Float32Array(length * L);
  const base = b * width * L;
  for (let p = 0; p < length; p++) {
    const from = base + p * L;
    let max = -Infinity;
    for (let k = 0; k < L; k++) max = Math.max(max, logits[from + k]);
    let sum = 0;
    for (let k = 0; k < L; k++) {
      const e = Math.exp(logits[from + k] - max);
      out[p * L + k] = e;
      sum += e;
    }
    for (let k = 0; k < L; k++) out[p * L + k] /= sum;
  }
  return out;
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
  return best;
}

function roundUp(n: number, multiple: number): number {
  return Math.ceil(n / multiple) * multiple;
}
