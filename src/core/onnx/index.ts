// The public face of core/onnx: build a graph, take gradients, serialize, run.

export { Graph, Value, tensor, isFloat } from "./graph.ts";
export type { DType, Dim, Shape, TensorData, TensorArray, Primitive, GradRule, GradContext, Node } from "./graph.ts";
export { gradients } from "./autodiff.ts";
export { toModelProto, OPSET, IR_VERSION } from "./serialize.ts";
export type { SerializeOptions } from "./serialize.ts";
export * from "./composite.ts";
export * from "./ops/index.ts";
