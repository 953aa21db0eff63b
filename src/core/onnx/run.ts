// The one adapter to onnxruntime-web in core/onnx: a session from model bytes, run with
// named host tensors, outputs back as host tensors. Nothing else here imports ORT, so a
// test can fake it and the trainer can add gpu-buffer handling in one place.

import * as ort from "onnxruntime-web";
import type { DType, TensorArray } from "./graph.ts";

export interface HostTensor {
  dtype: DType;
  dims: readonly number[];
  data: TensorArray;
}

export interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs the graph; returns the requested outputs (all when `fetches` is omitted). */
  run(feeds: Record<string, HostTensor>, fetches?: readonly string[]): Promise<Record<string, HostTensor>>;
  release(): Promise<void>;
}

export interface SessionOptions {
  /** Execution providers in order of preference; wasm by default. */
  executionProviders?: ("wasm" | "webgpu")[];
  /** onnxruntime graph optimization; "all" by default. */
  graphOptimizationLevel?: "disabled" | "basic" | "extended" | "all";
}

const ORT_TYPE: Record<DType, ort.Tensor.Type> = {
  float32: "float32",
  float64: "float64",
  int64: "int64",
  int32: "int32",
  bool: "bool",
  float16: "float16",
};

const FROM_ORT: Partial<Record<string, DType>> = {
  float32: "float32",
  float64: "float64",
  int64: "int64",
  int32: "int32",
  bool: "bool",
  float16: "float16",
};

export async function createSession(model: Uint8Array, opts: SessionOptions = {}): Promise<Session> {
  const session = await ort.InferenceSession.create(model, {
    executionProviders: opts.executionProviders ?? ["wasm"],
    graphOptimizationLevel: opts.graphOptimizationLevel ?? "all",
  });
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds, fetches) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) {
        ortFeeds[name] = new ort.Tensor(ORT_TYPE[t.dtype], t.data as never, t.dims);
      }
      const results = fetches ? await session.run(ortFeeds, [...fetches]) : await session.run(ortFeeds);
      const out: Record<string, HostTensor> = {};
      for (const [name, t] of Object.entries(results)) {
        const dtype = FROM_ORT[t.type];
        if (!dtype) throw new Error(`run: output ${name} has unsupported type ${t.type}`);
        out[name] = { dtype, dims: [...t.dims], data: t.data as TensorArray };
      }
      return out;
    },
    release: () => session.release(),
  };
}
