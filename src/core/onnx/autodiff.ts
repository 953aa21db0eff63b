// Reverse-mode autodiff over a Graph. The walk visits nodes in reverse creation order
// (creation order is topological: a node's inputs exist before it), calls each op's
// gradient rule, adds up the gradients of values used more than once, and undoes
// broadcasting in one place (reduceToShape). It holds no op maths: that lives with each
// op in ./ops. Gradient nodes are appended to the same graph, so they can read forward
// values (activations) directly.

import { ShapeError } from "../errors.ts";
import { type Graph, type Node, type Value, isFloat } from "./graph.ts";
import { add } from "./ops/add.ts";
import { zerosLike } from "./ops/constant-of-shape.ts";
import { reduceSum } from "./ops/reduce-sum.ts";
import { squeeze } from "./ops/squeeze.ts";
import { formatShape, sameShape } from "./shape.ts";

/**
 * dLoss/dw for each w in `wrt`, as new values of `graph`. `loss` must be a float scalar.
 * A w the loss does not depend on gets zeros.
 */
export function gradients(graph: Graph, loss: Value, wrt: readonly Value[]): Value[] {
  if (loss.graph !== graph) throw new ShapeError(`gradients: expected a loss of graph ${graph.name}, got ${loss.name}`);
  if (loss.rank !== 0 || !isFloat(loss.dtype)) {
    throw new ShapeError(`gradients: expected a float scalar loss, got ${loss.dtype} of shape ${formatShape(loss.shape)}`);
  }
  for (const w of wrt) {
    if (!isFloat(w.dtype)) throw new ShapeError(`gradients: expected float values to differentiate by, got ${w}`);
  }
  const forward = graph.nodes.slice(); // the rules below append nodes; walk only these
  const depends = dependsOn(forward, wrt);
  const needed = ancestorsOf(loss);
  const grads = new Map<Value, Value[]>([[loss, [graph.constant(1, loss.dtype)]]]);

  for (let i = forward.length - 1; i >= 0; i--) {
    const node = forward[i];
    if (!needed.has(node) || node.op.backward === null) continue;
    const wants = node.inputs.map((v) => depends.has(v));
    if (!wants.some(Boolean)) continue;
    const dys = node.outputs.map((o) => total(grads, o));
    if (dys.every((d) => d === null)) continue;
    const dxs = node.op.backward({ node, inputs: node.inputs, outputs: node.outputs, dys, wants });
    node.inputs.forEach((x, k) => {
      const dx = dxs[k];
      if (!wants[k] || !dx) return;
      const list = grads.get(x) ?? [];
      list.push(reduceToShape(dx, x, node));
      grads.set(x, list);
    });
  }
  return wrt.map((w) => total(grads, w) ?? zerosLike(w));
}

/** The sum of the gradient contributions to v (summed once, then reused). */
function total(grads: Map<Value, Value[]>, v: Value): Value | null {
  const list = grads.get(v);
  if (!list || list.length === 0) return null;
  if (list.length > 1) {
    const sum = list.reduce((acc, g) => add(acc, g));
    grads.set(v, [sum]);
    return sum;
  }
  return list[0];
}

/**
 * Undoes broadcasting: sums dx over the axes where x was broadcast (leading axes x lacks,
 * and axes where x has 1), so the result has x's shape. Works with symbolic dims because
 * ranks and 1s are static.
 */
function reduceToShape(dx: Value, x: Value, node: Node): Value {
  if (dx.dtype !== x.dtype) {
    throw new ShapeError(`${node.op.opType} gradient: expected dtype ${x.dtype} for ${x.name}, got ${dx.dtype}`);
  }
  if (sameShape(dx.shape, x.shape)) return dx;
  const lead = dx.rank - x.rank;
  const axes: number[] = [];
  for (let i = 0; i < dx.rank; i++) {
    const want = i < lead ? undefined : x.shape[i - lead];
    if (want === undefined || (want === 1 && dx.shape[i] !== 1)) axes.push(i);
    else if (want !== dx.shape[i]) axes.push(-1);
  }
  if (lead < 0 || axes.includes(-1)) {
    throw new ShapeError(
      `${node.op.opType} gradient: expected a gradient that ${formatShape(x.shape)} broadcasts to, got ${formatShape(dx.shape)} for ${x.name}`,
    );
  }
  if (axes.every((a) => a < lead)) return reduceSum(dx, axes, false);
  const kept = reduceSum(dx, axes, true);
  return lead > 0 ? squeeze(kept, axes.filter((a) => a < lead)) : kept;
}

/** The values computed from any of `wrt` through differentiable ops and float edges. */
function dependsOn(nodes: readonly Node[], wrt: readonly Value[]): Set<Value> {
  const set = new Set<Value>(wrt);
  for (const node of nodes) {
    if (node.op.backward === null || !node.inputs.some((v) => set.has(v))) continue;
    for (const out of node.outputs) if (isFloat(out.dtype)) set.add(out);
  }
  return set;
}

/** The nodes whose outputs the value is computed from. */
function ancestorsOf(v: Value): Set<Node> {
  const seen = new Set<Node>();
  const stack = [v];
  while (stack.length) {
    const node = stack.pop()!.producer;
    if (!node || seen.has(node)) continue;
    seen.add(node);
    stack.push(...node.inputs);
  }
  return seen;
}
