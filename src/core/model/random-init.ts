// Random-weight encoders for benchmarks and tests (no pretrained model can be downloaded
// here). Initialised as transformers' `_init_weights` does: matrices and embeddings
// normal(0, initializer_range), LayerNorm weight 1 and bias 0, Linear biases 0, and the
// embedding rows at padding_idx zeroed.

import type { EncoderConfig } from "./config.ts";
import { listParams, type HeadChoice } from "./names.ts";
import { seededRandom } from "./random.ts";
import { initialWeight, type Weight } from "./weights.ts";

export { writeModelFolder } from "./folder.ts";

export function randomEncoderWeights(config: EncoderConfig, seed: number, head: HeadChoice = "token"): Map<string, Weight> {
  const random = seededRandom(seed);
  const weights = new Map<string, Weight>();
  for (const spec of listParams(config, head)) {
    const weight = initialWeight(spec, random, config.initializerRange);
    // nn.Embedding(padding_idx=pad) keeps that row at zero; RoBERTa's position table has one too.
    const padRow =
      spec.role === "embeddings.word" || (spec.role === "embeddings.position" && config.family === "roberta") ? config.padTokenId : -1;
    if (padRow >= 0 && padRow < spec.shape[0]) weight.data.fill(0, padRow * spec.shape[1], (padRow + 1) * spec.shape[1]);
    weights.set(spec.name, weight);
  }
  return weights;
}
