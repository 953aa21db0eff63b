// The document, attribute and relation models learn: a 2-layer encoder (hidden 32) from
// random weights, trained by the one-graph step with each task's objective, reaches the
// stated accuracy on held-out toy data (toy-tasks.ts), and its loss falls.

import { describe, expect, it } from "vitest";
import type { EncoderConfig } from "../../../src/core/model/config.ts";
import { initialWeight } from "../../../src/core/model/weights.ts";
import { randomEncoderWeights } from "../../../src/core/model/random-init.ts";
import { seededRandom } from "../../../src/core/model/random.ts";
import { NO_RELATION, type AttributeTarget } from "../../../src/core/model/span-heads.ts";
import type { StepModel } from "../../../src/core/train/model.ts";
import {
  type TaskBatch,
  padDocumentBatch,
  padPairBatch,
  padSpanBatch,
  taskBatches,
} from "../../../src/core/train/task-batches.ts";
import { attributeModel, documentModel, relationModel } from "../../../src/core/train/task-models.ts";
import { Trainer } from "../../../src/core/train/trainer.ts";
import {
  MARKERS,
  argmax,
  attributeSentences,
  multiLabelDocuments,
  relationSentences,
  singleLabelDocuments,
  toyConfig,
} from "./toy-tasks.ts";

const BUCKETS = [32];
const BATCH = 16;

/** Random encoder weights plus the model's head, initialised as transformers would. */
function weightsFor(model: StepModel, seed: number): Map<string, Float32Array> {
  const encoder = randomEncoderWeights(model.config, seed, "none");
  const random = seededRandom(seed + 1);
  const out = new Map<string, Float32Array>();
  for (const spec of model.specs) out.set(spec.name, encoder.get(spec.name)?.data ?? initialWeight(spec, random).data);
  return out;
}

async function train<T extends { ids: ArrayLike<number> }>(
  model: StepModel,
  examples: T[],
  pad: (group: T[], rows: number, length: number) => TaskBatch,
  epochs: number,
  lr = 3e-3,
): Promise<{ trainer: Trainer; losses: number[] }> {
  const steps = epochs * Math.ceil(examples.length / BATCH);
  const trainer = await Trainer.create({
    model,
    weights: weightsFor(model, 3),
    mode: { kind: "full" },
    schedule: { lr, warmupSteps: 10, totalSteps: steps },
    seed: 4,
    batchSize: BATCH,
    dropout: { hiddenProb: 0, attentionProb: 0, classifierProb: 0 },
  });
  const losses: number[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const { batch } of taskBatches(examples, { batchSize: BATCH, buckets: BUCKETS, shuffle: { seed: 5, epoch } }, pad)) {
      losses.push((await trainer.step(batch)).loss);
    }
  }
  return { trainer, losses };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Mean loss of the first and the last tenth of the steps. */
function lossFall(losses: number[]): [number, number] {
  const k = Math.max(1, Math.floor(losses.length / 10));
  return [mean(losses.slice(0, k)), mean(losses.slice(-k))];
}

describe("training the task heads on toy data", () => {
  it("document labels, single choice: the marker token the document holds, > 95% accuracy", async () => {
    const config: EncoderConfig = toyConfig(["seven", "eight", "nine"]);
    const model = documentModel(config, { multiLabel: false });
    const pad = (group: ReturnType<typeof singleLabelDocuments>, rows: number, length: number) => padDocumentBatch(config, group, rows, length, false);
    const { trainer, losses } = await train(model, singleLabelDocuments(384, 1), pad, 20);
    const test = singleLabelDocuments(128, 2);
    let right = 0;
    for (const { batch, indices } of taskBatches(test, { batchSize: BATCH, buckets: BUCKETS }, pad)) {
      const logits = await trainer.predict(batch); // (rows, 3)
      indices.forEach((k, r) => (right += Number(argmax(logits, 3 * r, 3 * r + 3) === test[k].label)));
    }
    await trainer.release();
    const [first, last] = lossFall(losses);
    console.log(`toy document (single): loss ${first.toFixed(3)} → ${last.toFixed(3)}, accuracy ${(right / test.length).toFixed(4)}`);
    expect(last).toBeLessThan(first / 4);
    expect(right / test.length).toBeGreaterThan(0.95);
  });

  it("document labels, multiple choice: each marker present, > 95% of label decisions and > 85% of documents exact", async () => {
    const config = toyConfig(["seven", "eight", "nine"]);
    const model = documentModel(config, { multiLabel: true });
    const pad = (group: ReturnType<typeof multiLabelDocuments>, rows: number, length: number) => padDocumentBatch(config, group, rows, length, true);
    const { trainer, losses } = await train(model, multiLabelDocuments(384, 3), pad, 20);
    const test = multiLabelDocuments(128, 4);
    let [rightDecisions, exact] = [0, 0];
    for (const { batch, indices } of taskBatches(test, { batchSize: BATCH, buckets: BUCKETS }, pad)) {
      const logits = await trainer.predict(batch); // (rows, 3), sigmoid > 0.5 ⇔ logit > 0
      indices.forEach((k, r) => {
        const truth = test[k].label as number[];
        const decisions = MARKERS.map((_, c) => (logits[3 * r + c] > 0) === truth.includes(c));
        rightDecisions += decisions.filter(Boolean).length;
        exact += Number(decisions.every(Boolean));
      });
    }
    await trainer.release();
    const [first, last] = lossFall(losses);
    const decisionAccuracy = rightDecisions / (3 * test.length);
    console.log(`toy document (multiple): loss ${first.toFixed(3)} → ${last.toFixed(3)}, decisions ${decisionAccuracy.toFixed(4)}, exact ${(exact / test.length).toFixed(4)}`);
    expect(last).toBeLessThan(first / 4);
    expect(decisionAccuracy).toBeGreaterThan(0.95);
    expect(exact / test.length).toBeGreaterThan(0.85);
  });

  it("entity attributes: negation before an A entity and a severity cue inside a B entity, > 95% accuracy per attribute", async () => {
    const attributes: AttributeTarget[] = [
      { entityType: "A", name: "certainty", values: ["positive", "negative"] },
      { entityType: "B", name: "severity", values: ["mild", "severe"] },
    ];
    const config = toyConfig(["unused"]);
    const model = attributeModel(config, { kind: "attributes", attributes });
    const pad = (group: ReturnType<typeof attributeSentences>, rows: number, length: number) => padSpanBatch(config, group, rows, length, 2);
    const { trainer, losses } = await train(model, attributeSentences(384, 5), pad, 20);
    const test = attributeSentences(128, 6);
    const [right, total] = [[0, 0], [0, 0]];
    for (const { batch, indices } of taskBatches(test, { batchSize: BATCH, buckets: BUCKETS }, pad)) {
      const logits = await trainer.predict(batch); // (rows, E, 2 + 2)
      const E = batch.task.span_weights.dims[1];
      indices.forEach((k, r) =>
        test[k].spans.forEach((span, e) =>
          span.labels.forEach((label, a) => {
            if (label < 0) return;
            const at = (r * E + e) * 4 + 2 * a;
            total[a]++;
            right[a] += Number(argmax(logits, at, at + 2) === label);
          }),
        ),
      );
    }
    await trainer.release();
    const [first, last] = lossFall(losses);
    const accuracy = right.map((n, a) => n / total[a]);
    console.log(`toy attributes: loss ${first.toFixed(3)} → ${last.toFixed(3)}, accuracy certainty ${accuracy[0].toFixed(4)} (${total[0]}), severity ${accuracy[1].toFixed(4)} (${total[1]})`);
    expect(last).toBeLessThan(first / 4);
    expect(Math.min(...total)).toBeGreaterThan(100);
    for (const a of accuracy) expect(a).toBeGreaterThan(0.95);
  });

  it("relations: the joining token between neighbours, in one direction, > 95% accuracy and > 0.9 F1 on related pairs", async () => {
    const config = toyConfig(["unused"]);
    const model = relationModel(config, { kind: "relations", labels: [NO_RELATION, "with", "of"] });
    const pad = (group: ReturnType<typeof relationSentences>, rows: number, length: number) => padPairBatch(config, group, rows, length);
    const { trainer, losses } = await train(model, relationSentences(384, 7), pad, 20);
    const test = relationSentences(128, 8);
    let [right, total, truePositives, predicted, gold] = [0, 0, 0, 0, 0];
    for (const { batch, indices } of taskBatches(test, { batchSize: BATCH, buckets: BUCKETS }, pad)) {
      const logits = await trainer.predict(batch); // (rows, R, 3)
      const R = batch.task.relation_labels.dims[1];
      indices.forEach((k, r) =>
        test[k].pairs.forEach((pair, p) => {
          const guess = argmax(logits, (r * R + p) * 3, (r * R + p) * 3 + 3);
          total++;
          right += Number(guess === pair.label);
          predicted += Number(guess !== 0);
          gold += Number(pair.label !== 0);
          truePositives += Number(guess !== 0 && guess === pair.label);
        }),
      );
    }
    await trainer.release();
    const [first, last] = lossFall(losses);
    const f1 = (2 * truePositives) / (predicted + gold);
    console.log(`toy relations: loss ${first.toFixed(3)} → ${last.toFixed(3)}, accuracy ${(right / total).toFixed(4)}, F1 on related pairs ${f1.toFixed(4)} (${gold} gold)`);
    expect(last).toBeLessThan(first / 4);
    expect(gold).toBeGreaterThan(100);
    expect(right / total).toBeGreaterThan(0.95);
    expect(f1).toBeGreaterThan(0.9);
  });
});
