// A line-by-line port of seqeval's default (conlleval-style) entity extraction and
// precision_recall_fscore_support, zero_division=0. Tests compare span metrics with it.

function endOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (prevTag === "E" || prevTag === "S") return true;
  if (prevTag === "B" && (tag === "B" || tag === "S" || tag === "O")) return true;
  if (prevTag === "I" && (tag === "B" || tag === "S" || tag === "O")) return true;
  if (prevTag !== "O" && prevTag !== "." && prevType !== type) return true;
  return false;
}

function startOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (tag === "B" || tag === "S") return true;
  if (prevTag === "E" && (tag === "E" || tag === "I")) return true;
  if (prevTag === "S" && (tag === "E" || tag === "I")) return true;
  if (prevTag === "O" && (tag === "E" || tag === "I")) return true;
  if (tag !== "O" && tag !== "." && prevType !== type) return true;
  return false;
}

/** seqeval.metrics.sequence_labeling.get_entities on a list of sentences. */
export function getEntities(sentences: string[][]): [string, number, number][] {
  const seq = sentences.flatMap((sentence) => [...sentence, "O"]);
  let prevTag = "O";
  let prevType = "";
  let beginOffset = 0;
  const chunks: [string, number, number][] = [];
  [...seq, "O"].forEach((chunk, i) => {
    const tag = chunk[0];
    const parts = chunk.slice(1).split("-");
    const type = (parts.length > 1 ? parts.slice(1).join("-") : parts[0]) || "_";
    if (endOfChunk(prevTag, tag, prevType, type)) chunks.push([prevType, beginOffset, i - 1]);
    if (startOfChunk(prevTag, tag, prevType, type)) beginOffset = i;
    prevTag = tag;
    prevType = type;
  });
  return chunks;
}

export interface ReferenceScores {
  micro: { precision: number; recall: number; f1: number };
  macro: { precision: number; recall: number; f1: number };
  perType: Record<string, { precision: number; recall: number; f1: number; tp: number; pred: number; true: number }>;
}

const divide = (a: number, b: number) => (b === 0 ? 0 : a / b);
const fscore = (p: number, r: number) => (p + r === 0 ? 0 : (2 * p * r) / (p + r));

export function seqevalScores(yTrue: string[][], yPred: string[][]): ReferenceScores {
  const trueEntities = getEntities(yTrue);
  const predEntities = getEntities(yPred);
  const key = (e: [string, number, number]) => `${e[0]}|${e[1]}|${e[2]}`;
  const types = [...new Set([...trueEntities, ...predEntities].map((e) => e[0]))].sort();
  const perType: ReferenceScores["perType"] = {};
  let tpSum = 0;
  let predSum = 0;
  let trueSum = 0;
  for (const type of types) {
    const t = new Set(trueEntities.filter((e) => e[0] === type).map(key));
    const p = new Set(predEntities.filter((e) => e[0] === type).map(key));
    const tp = [...t].filter((k) => p.has(k)).length;
    const precision = divide(tp, p.size);
    const recall = divide(tp, t.size);
    perType[type] = { precision, recall, f1: fscore(precision, recall), tp, pred: p.size, true: t.size };
    tpSum += tp;
    predSum += p.size;
    trueSum += t.size;
  }
  const microP = divide(tpSum, predSum);
  const microR = divide(tpSum, trueSum);
  const mean = (pick: (s: ReferenceScores["perType"][string]) => number) =>
    types.length === 0 ? 0 : types.reduce((sum, type) => sum + pick(perType[type]), 0) / types.length;
  return {
    micro: { precision: microP, recall: microR, f1: fscore(microP, microR) },
    macro: { precision: mean((s) => s.precision), recall: mean((s) => s.recall), f1: mean((s) => s.f1) },
    perType,
  };
}
