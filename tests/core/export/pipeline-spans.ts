// transformers.js's per-token labels read the way our predictor reads its own (BIO on the
// first sub-token of each word, seqeval repairs), so the two can be compared span by span.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Span } from "../../../src/core/corpus/types.ts";
import { bioToSpans } from "../../../src/core/text/bio.ts";
import type { TextTokenizer } from "../../../src/core/text/tokenizer.ts";

/** Spans from the pipeline's per-token labels, decoded as our predictor decodes (first sub-token of each word). */
export function pipelineSpans(
  text: string,
  tokens: { entity: string; index: number }[],
  tokenizer: TextTokenizer,
): Span[] {
  const encoded = tokenizer.encode(text);
  const labels = encoded.ids.map(() => "O");
  for (const token of tokens) labels[token.index] = token.entity;
  const offsets = encoded.offsets.map(([start, end]) => ({ start, end }));
  return bioToSpans(offsets, labels, { subword: "first", isContinuation: encoded.isContinuation, special: encoded.special }).map(({ start, end, type }) => ({ start, end, type }));
}


/**
 * A model zip's files written to `root/name` and loaded in transformers.js's pipeline from there, offline.
 * `dtype` picks the ONNX file: "fp32" onnx/model.onnx, "q8" onnx/model_quantized.onnx.
 */
export async function pipelineFromFiles(files: Record<string, Uint8Array>, root: string, name: string, dtype: "fp32" | "q8" = "fp32") {
  for (const [path, bytes] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name, path)), { recursive: true });
    writeFileSync(join(root, name, path), bytes);
  }
  const tf = await import("@huggingface/transformers");
  tf.env.allowRemoteModels = false;
  tf.env.localModelPath = root;
  return tf.pipeline("token-classification", name, { local_files_only: true, dtype });
}
