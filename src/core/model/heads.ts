// Classification heads on the encoder's hidden state, as transformers builds them:
//   token:    dropout → classifier                                    (every family)
//   sequence: first token, then
//     BERT        pooler.dense → tanh → dropout → classifier
//     RoBERTa     dropout → classifier.dense → tanh → dropout → classifier.out_proj
//     DistilBERT  pre_classifier → ReLU → dropout → classifier

import { type Value, gather, linear, relu, tanh, transpose } from "../onnx/index.ts";
import type { EncoderContext } from "./encoder.ts";

function classifierProb(ctx: EncoderContext): number {
  const d = ctx.options.dropout;
  return d ? (d.classifierProb ?? d.hiddenProb) : 0;
}

/** Logits (B, T, L) from the hidden state (B, T, H). */
export function tokenClassificationHead(ctx: EncoderContext, hidden: Value): Value {
  const x = ctx.dropout(hidden, classifierProb(ctx)); // (B, T, H)
  return linear(x, ctx.param("head.classifier.weight"), ctx.param("head.classifier.bias"), "out_in"); // (B, T, L)
}

/** Logits (B, L) from the first token of the hidden state (B, T, H). */
export function sequenceClassificationHead(ctx: EncoderContext, hidden: Value): Value {
  const p = classifierProb(ctx);
  // Gather on axis 0, whose gradient the builder has, even when T is symbolic.
  const first = gather(transpose(hidden, [1, 0, 2]), ctx.g.constant(0, "int64"), 0); // (B, H)
  const dense = (x: Value) => linear(x, ctx.param("head.dense.weight"), ctx.param("head.dense.bias"), "out_in"); // (B, H)
  const classify = (x: Value) => linear(x, ctx.param("head.classifier.weight"), ctx.param("head.classifier.bias"), "out_in"); // (B, L)
  switch (ctx.config.family) {
    case "bert": {
      const pooled = tanh(dense(first)); // (B, H)
      return classify(ctx.dropout(pooled, p)); // (B, L)
    }
    case "roberta": {
      const h = tanh(dense(ctx.dropout(first, p))); // (B, H)
      return classify(ctx.dropout(h, p)); // (B, L)
    }
    case "distilbert": {
      const h = relu(dense(first)); // (B, H)
      return classify(ctx.dropout(h, p)); // (B, L)
    }
  }
}
