import { ShapeError } from "../../errors.ts";
import { type Primitive, type Value, assertSameDType } from "../graph.ts";
import { formatShape, normalizeAxis, sameShape } from "../shape.ts";
import { add } from "./add.ts";
import { cast } from "./cast.ts";
import { div } from "./div.ts";
import { mul } from "./mul.ts";
import { reduceMean } from "./reduce-mean.ts";
import { sqrt } from "./sqrt.ts";
import { sub } from "./sub.ts";

// ONNX LayerNormalization (opset 17) forward, normalizing over axes [axis, rank). The node
// also returns Mean and InvStdDev (rank kept, normalized dims 1), which the gradient reuses:
//   xhat = (x - mean) * invstd,  g = dy * scale
//   dx = invstd * (g - mean(g) - xhat * mean(g * xhat))
//   dscale = dy * xhat,  dbias = dy      (the walk sums the leading axes away)
export const LayerNormalization: Primitive = {
  opType: "LayerNormalization",
  backward: ({ node, inputs: [x, scale], outputs: [, mean, invStd], dys: [dy, dMean, dInvStd], wants }) => {
    if (dMean || dInvStd) throw new ShapeError("LayerNormalization gradient: expected no gradient into Mean or InvStdDev");
    if (!dy) return [null, null, null];
    const axis = (node.attrs.axis as { int: number }).int;
    const axes = x.shape.map((_, i) => i).filter((i) => i >= axis);
    const [m, r] = [cast(mean, x.dtype), cast(invStd, x.dtype)]; // float16 stats are float32
    const xhat = mul(sub(x, m), r); // (..., D)
    let dx: Value | null = null;
    if (wants[0]) {
      const g = mul(dy, scale); // (..., D)
      const centred = sub(sub(g, reduceMean(g, axes, true)), mul(xhat, reduceMean(mul(g, xhat), axes, true)));
      dx = mul(r, centred);
    }
    return [dx, wants[1] ? mul(dy, xhat) : null, wants[2] ? dy : null];
  },
};

/**
 * Layer normalization over the dims from `axis` to the end, as the ONNX op (Mean and
 * InvStdDev in float32). onnxruntime-web has no float64 kernel for it, so a float64 x is
 * normalized by primitives instead (autodiff then differentiates those): float64 graphs,
 * used for gradient checks, still run.
 */
export function layerNorm(x: Value, scale: Value, bias: Value, opts: { axis?: number; epsilon?: number } = {}): Value {
  const axis = normalizeAxis("LayerNormalization", opts.axis ?? -1, x.rank, x.shape);
  const normalized = x.shape.slice(axis);
  for (const [what, v] of [["scale", scale], ["bias", bias]] as const) {
    assertSameDType("LayerNormalization", x, v);
    if (!sameShape(v.shape, normalized)) {
      throw new ShapeError(
        `LayerNormalization: expected ${what} of shape ${formatShape(normalized)} (x's dims from axis ${axis}), got ${formatShape(v.shape)}`,
      );
    }
  }
  if (x.dtype === "float64") return layerNormByPrimitives(x, scale, bias, axis, opts.epsilon ?? 1e-12);
  const statDType = "float32";
  const statShape = x.shape.map((d, i) => (i < axis ? d : 1));
  const [y] = x.graph.apply(
    LayerNormalization,
    [x, scale, bias],
    [
      { dtype: x.dtype, shape: x.shape },
      { dtype: statDType, shape: statShape },
      { dtype: statDType, shape: statShape },
    ],
    {
      axis: { int: axis },
      epsilon: { float: opts.epsilon ?? 1e-12 },
      stash_type: { int: 1 },
    },
  );
  return y;
}

// (x - mean) / sqrt(var + eps) * scale + bias, over axes [axis, rank).
function layerNormByPrimitives(x: Value, scale: Value, bias: Value, axis: number, epsilon: number): Value {
  const axes = x.shape.map((_, i) => i).filter((i) => i >= axis);
  const centred = sub(x, reduceMean(x, axes, true)); // (..., D)
  const variance = reduceMean(mul(centred, centred), axes, true); // (..., 1)
  const xhat = div(centred, sqrt(add(variance, epsilon))); // (..., D)
  return add(mul(xhat, scale), bias);
}
