// The training engine's one adapter to onnxruntime-web (src/core/onnx/run.ts is the
// general one; this one adds what training needs): sessions on WebAssembly or WebGPU,
// outputs left on the GPU (`preferredOutputLocation: "gpu-buffer"`) and fed back as inputs
// without a copy, and tensors that are only read back to the host when asked.

import * as ort from "onnxruntime-web";
import { DeviceLostError } from "../errors.ts";
import type { DType, TensorArray } from "../onnx/index.ts";
import type { HostTensor } from "../onnx/run.ts";

export type { HostTensor };

export type Backend = "wasm" | "webgpu";

/** A tensor owned by onnxruntime: in host memory (wasm) or a GPU buffer (webgpu). */
export class DeviceTensor {
  /** @internal */
  constructor(
    readonly ortTensor: ort.Tensor,
    private readonly guard: Guard = unguarded,
  ) {}

  get dims(): readonly number[] {
    return this.ortTensor.dims;
  }

  get location(): string {
    return this.ortTensor.location;
  }

  /** The data on the host (a download from the GPU; the same array for a CPU tensor). */
  async toHost(): Promise<HostTensor> {
    const data = (await this.guard(() => this.ortTensor.getData())) as TensorArray;
    return { dtype: this.ortTensor.type as DType, dims: [...this.ortTensor.dims], data };
  }

  /** Frees a GPU buffer; a no-op for CPU tensors (the garbage collector frees them). */
  dispose(): void {
    if (this.ortTensor.location === "gpu-buffer") this.ortTensor.dispose();
  }
}

export type Feed = HostTensor | DeviceTensor;

// --- WebGPU device loss ---
//
// onnxruntime-web 1.31 does not watch its GPUDevice's `lost` promise (it only awaits it on
// dispose). Seen in headless Chromium with the GPU process crashed mid-training: the one
// pending buffer read (mapAsync) rejects, onnxruntime swallows that, and the session run
// in flight never settles; a run whose outputs stay in GPU buffers can also "succeed" on
// a lost device, whose commands are no-ops. So the adapter watches the device's `lost`
// promise itself, and every WebGPU call goes through a guard that ends it with a
// DeviceLostError as soon as the device is lost: pending calls at once, later ones
// before they start, failures that the loss explains, and results that came after it.

type Guard = <T>(work: () => Promise<T>) => Promise<T>;
const unguarded: Guard = (work) => work();

export interface LostInfo {
  reason: string;
  message: string;
}

/**
 * How long a failed WebGPU call waits for the device's `lost` promise. The browser rejects
 * pending buffer maps and resolves `lost` from separate tasks, in no set order; a device
 * that is not lost never resolves it, so the wait is bounded.
 */
const LOSS_SETTLE_MS = 1000;

/** A guard for calls on the device whose `lost` promise is given (exported for its test). */
export function deviceLossGuard(lostPromise: Promise<LostInfo>, settleMs = LOSS_SETTLE_MS): Guard {
  let lost: LostInfo | null = null;
  const lostError = (cause?: unknown) => new DeviceLostError(lost!.reason, lost!.message, cause === undefined ? undefined : { cause });
  /** The calls in flight: each one's way to be ended when the device is lost. */
  const inFlight = new Set<(error: DeviceLostError) => void>();
  const settled = lostPromise.then((info) => {
    lost = { reason: info.reason ?? "", message: info.message ?? "" };
    for (const end of inFlight) end(lostError());
    inFlight.clear();
    return lost;
  });
  const lostWithin = async (): Promise<LostInfo | null> => {
    if (lost) return lost;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((done) => (timer = setTimeout(() => done(null), settleMs)));
    return Promise.race([settled, timeout]).finally(() => clearTimeout(timer));
  };
  return async (work) => {
    if (lost) throw lostError();
    let end!: (error: DeviceLostError) => void;
    const ended = new Promise<never>((_, reject) => (end = reject));
    inFlight.add(end);
    let result;
    try {
      result = await Promise.race([work(), ended]);
    } catch (error) {
      if (error instanceof DeviceLostError) throw error;
      const info = await lostWithin();
      if (info) throw lostError(error);
      throw error;
    } finally {
      inFlight.delete(end);
    }
    // Results computed on a lost device are not results.
    if (lost) throw lostError();
    return result;
  };
}

/** One guard for onnxruntime's one GPUDevice (it exists once a WebGPU session was created). */
let webgpuGuard: Guard | null = null;

async function guardForWebgpu(): Promise<Guard> {
  webgpuGuard ??= deviceLossGuard(((await ort.env.webgpu.device) as unknown as { lost: Promise<LostInfo> }).lost);
  return webgpuGuard;
}

/** Where a trainer gets its sessions: createTrainSession, or a stand-in in a test. */
export type SessionFactory = (model: Uint8Array, opts: TrainSessionOptions) => Promise<TrainSession>;

export interface TrainSession {
  readonly backend: Backend;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs the graph; every output comes back as a DeviceTensor. */
  run(feeds: Record<string, Feed>): Promise<Record<string, DeviceTensor>>;
  release(): Promise<void>;
}

export interface TrainSessionOptions {
  backend: Backend;
  /** Outputs to leave on the GPU (webgpu only; ignored on wasm, where all stay on the host). */
  keepOnDevice?: readonly string[];
  /** All output names of the graph (the others are read back to the host). */
  outputs?: readonly string[];
  /** onnxruntime's graph optimizations; "all" by default. */
  graphOptimizationLevel?: "disabled" | "basic" | "extended" | "all";
}

/** Threads and the URL prefix of the .wasm files (served by the app itself, never a CDN). */
export function configureWasm(opts: { numThreads?: number; wasmPaths?: string }): void {
  if (opts.numThreads !== undefined) ort.env.wasm.numThreads = opts.numThreads;
  if (opts.wasmPaths !== undefined) ort.env.wasm.wasmPaths = opts.wasmPaths;
}

export function wasmThreads(): number {
  return ort.env.wasm.numThreads ?? 1;
}

/**
 * The adapter onnxruntime's WebGPU backend runs on (vendor "google", architecture
 * "swiftshader" for Chromium's software WebGPU). Call it only after a WebGPU session was
 * created: before that, asking for the device makes one.
 */
export async function webgpuAdapterInfo(): Promise<Record<string, string>> {
  const device = (await ort.env.webgpu.device) as unknown as { adapterInfo?: Record<string, string> };
  const info = device.adapterInfo ?? (ort.env.webgpu.adapter as unknown as { info?: Record<string, string> })?.info ?? {};
  return { vendor: info.vendor ?? "", architecture: info.architecture ?? "", device: info.device ?? "", description: info.description ?? "" };
}

export interface WebgpuKernelRun {
  kernelType: string;
  programName: string;
}

/**
 * Records the kernels onnxruntime runs on WebGPU (its profiling hook; needs the adapter's
 * timestamp-query feature, else nothing is recorded). Returns the list, filled as runs go,
 * and a function that stops recording.
 */
export function recordWebgpuKernels(): { kernels: WebgpuKernelRun[]; stop(): void } {
  const kernels: WebgpuKernelRun[] = [];
  ort.env.webgpu.profiling = { mode: "default", ondata: (d) => kernels.push({ kernelType: d.kernelType, programName: d.programName }) };
  return { kernels, stop: () => (ort.env.webgpu.profiling = { mode: "off" }) };
}

export async function createTrainSession(model: Uint8Array, opts: TrainSessionOptions): Promise<TrainSession> {
  const keep = opts.backend === "webgpu" ? new Set(opts.keepOnDevice ?? []) : new Set<string>();
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [opts.backend],
    graphOptimizationLevel: opts.graphOptimizationLevel ?? "all",
  };
  if (keep.size > 0) {
    options.preferredOutputLocation = Object.fromEntries((opts.outputs ?? [...keep]).map((n) => [n, keep.has(n) ? "gpu-buffer" : "cpu"]));
  }
  const session = await ort.InferenceSession.create(model, options);
  const guard = opts.backend === "webgpu" ? await guardForWebgpu() : unguarded;
  return {
    backend: opts.backend,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, feed] of Object.entries(feeds)) {
        ortFeeds[name] = feed instanceof DeviceTensor ? feed.ortTensor : new ort.Tensor(feed.dtype, feed.data as never, feed.dims);
      }
      const results = await guard(() => session.run(ortFeeds));
      const out: Record<string, DeviceTensor> = {};
      for (const [name, t] of Object.entries(results)) out[name] = new DeviceTensor(t, guard);
      return out;
    },
    release: () => session.release(),
  };
}
