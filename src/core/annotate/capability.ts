// Can this machine run a local LLM? The probe reads what the browser says (WebGPU, the
// adapter, its features and limits, the storage quota); `judgeModel` turns that and a
// model's needs into a verdict in plain words. The thresholds are WebLLM's own (0.2.86,
// tvmjs `detectGPUDevice` and `MLCEngine.reload`), so a "no" here is a load that would fail:
//   maxBufferSize                    256 MB at least (1 GB asked for first)
//   maxStorageBufferBindingSize      128 MB at least; under 1 GB only models marked
//                                    `low_resource_required` are expected to load
//   maxComputeWorkgroupStorageSize   32 KB at least
//   shader-f16                       needed by every q4f16 / q0f16 build
// WebGPU tells nothing about GPU memory, so the VRAM a model needs is shown, not checked.

export interface AdapterReport {
  vendor: string;
  architecture: string;
  description: string;
  device: string;
  /** The browser's own flag for a software or otherwise degraded adapter. */
  isFallbackAdapter: boolean;
  /** SwiftShader, llvmpipe, WARP, a fallback adapter: WebGPU computed on the CPU. */
  software: boolean;
  features: string[];
  limits: {
    maxBufferSize: number;
    maxStorageBufferBindingSize: number;
    maxComputeWorkgroupStorageSize: number;
  };
}

export interface GpuReport {
  /** navigator.gpu exists. */
  webgpu: boolean;
  /** null: WebGPU is there but no adapter was given (blocklisted or disabled GPU). */
  adapter: AdapterReport | null;
  /** Why requestAdapter failed, when it threw. */
  adapterError?: string;
  storage: { usage: number; quota: number } | null;
}

/** The slice of the WebGPU API the probe reads; a test passes plain objects. */
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: "high-performance" | "low-power" }): Promise<AdapterLike | null>;
}

export interface AdapterLike {
  info?: { vendor?: string; architecture?: string; description?: string; device?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
  features: Iterable<string>;
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number; maxComputeWorkgroupStorageSize: number };
}

export interface StorageEstimator {
  estimate?: () => Promise<{ usage?: number; quota?: number }>;
}

const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/i;

export async function probeGpu(
  gpu: GpuLike | undefined = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu,
  storage: StorageEstimator | undefined = (globalThis as { navigator?: { storage?: StorageEstimator } }).navigator?.storage,
): Promise<GpuReport> {
  const report: GpuReport = { webgpu: gpu !== undefined, adapter: null, storage: null };
  if (storage?.estimate) {
    try {
      const { usage, quota } = await storage.estimate();
      if (usage !== undefined && quota !== undefined) report.storage = { usage, quota };
    } catch {
      // No estimate: the storage check says so instead.
    }
  }
  if (!gpu) return report;
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (adapter) report.adapter = describeAdapter(adapter);
  } catch (error) {
    report.adapterError = error instanceof Error ? error.message : String(error);
  }
  return report;
}

export function describeAdapter(adapter: AdapterLike): AdapterReport {
  const info = adapter.info ?? {};
  const vendor = info.vendor ?? "";
  const architecture = info.architecture ?? "";
  const description = info.description ?? "";
  const device = info.device ?? "";
  const isFallbackAdapter = Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false);
  return {
    vendor,
    architecture,
    description,
    device,
    isFallbackAdapter,
    software: isFallbackAdapter || SOFTWARE_ADAPTER.test(`${vendor} ${architecture} ${description} ${device}`),
    features: [...adapter.features].sort(),
    limits: {
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
    },
  };
}

/** What a model build needs (from the catalogue, models.ts). */
export interface ModelNeeds {
  modelId: string;
  /** GPU memory WebLLM says it needs, in MB. */
  vramMB?: number;
  /** A q4f16/q0f16 build: needs shader-f16. */
  f16: boolean;
  /** WebLLM's `low_resource_required`: loads with a 128 MB storage-buffer binding limit. */
  lowResource: boolean;
  /** WebLLM's `buffer_size_required_bytes`, when the record gives one. */
  bufferBytes?: number;
  /** Bytes still to download (0 when cached, undefined when unknown). */
  downloadBytes?: number;
  /** The q4f32 build of the same model, offered when shader-f16 is missing. */
  f32Alternative?: string;
}

export type ReasonKind =
  | "no-webgpu"
  | "no-adapter"
  | "no-shader-f16"
  | "buffer-limit"
  | "binding-limit"
  | "workgroup-limit"
  | "storage"
  | "software"
  | "vram";

export interface Reason {
  kind: ReasonKind;
  /** "no": loading would fail. "warn": it may load, but see the message. "info": for the user to know. */
  severity: "no" | "warn" | "info";
  message: string;
}

export interface Verdict {
  canRun: boolean;
  reasons: Reason[];
  /** A model id to pick instead (the q4f32 build when shader-f16 is missing). */
  suggestion?: string;
}

const MB = 1 << 20;
const GB = 1 << 30;

export function formatBytes(bytes: number): string {
  if (bytes >= GB) return `${(bytes / GB).toFixed(1)} GB`;
  if (bytes >= MB) return `${Math.round(bytes / MB)} MB`;
  return `${Math.round(bytes / 1024)} KB`;
}

export function judgeModel(report: GpuReport, needs: ModelNeeds): Verdict {
  const reasons: Reason[] = [];
  const no = (kind: ReasonKind, message: string) => reasons.push({ kind, severity: "no", message });
  const warn = (kind: ReasonKind, message: string) => reasons.push({ kind, severity: "warn", message });
  let suggestion: string | undefined;

  if (!report.webgpu) {
    no("no-webgpu", "This browser has no WebGPU (navigator.gpu is missing), so no model can run in it. Use a recent Chrome or Edge, or a hospital server below.");
    return { canRun: false, reasons };
  }
  const adapter = report.adapter;
  if (!adapter) {
    const why = report.adapterError ? ` (${report.adapterError})` : "";
    no("no-adapter", `WebGPU is there but the browser gave no GPU adapter${why}: the GPU may be blocklisted or switched off. Check chrome://gpu, or use a hospital server.`);
    return { canRun: false, reasons };
  }

  if (needs.f16 && !adapter.features.includes("shader-f16")) {
    suggestion = needs.f32Alternative;
    no(
      "no-shader-f16",
      `This GPU does not offer shader-f16, which the q4f16 build ${needs.modelId} needs.` +
        (suggestion ? ` Pick the q4f32 build ${suggestion} instead (it uses more memory).` : " Pick a q4f32 build instead."),
    );
  }
  const { maxBufferSize, maxStorageBufferBindingSize, maxComputeWorkgroupStorageSize } = adapter.limits;
  if (maxBufferSize < 256 * MB) {
    no("buffer-limit", `The GPU's largest buffer (maxBufferSize ${formatBytes(maxBufferSize)}) is under the 256 MB WebLLM needs.`);
  }
  if (maxStorageBufferBindingSize < 128 * MB) {
    no("binding-limit", `The GPU's storage-buffer binding limit (${formatBytes(maxStorageBufferBindingSize)}) is under the 128 MB WebLLM needs.`);
  } else if (needs.bufferBytes !== undefined && maxStorageBufferBindingSize < needs.bufferBytes) {
    no("binding-limit", `This model needs a storage-buffer binding of ${formatBytes(needs.bufferBytes)}; the GPU allows ${formatBytes(maxStorageBufferBindingSize)}.`);
  } else if (maxStorageBufferBindingSize < GB && !needs.lowResource) {
    warn(
      "binding-limit",
      `The GPU's storage-buffer binding limit is ${formatBytes(maxStorageBufferBindingSize)}, under the 1 GB this model is built for; it may fail to load. A "-1k" or smaller model is safer.`,
    );
  }
  if (maxComputeWorkgroupStorageSize < 32 * 1024) {
    no("workgroup-limit", `The GPU's workgroup storage (${formatBytes(maxComputeWorkgroupStorageSize)}) is under the 32 KB WebLLM needs.`);
  }
  if (report.storage && needs.downloadBytes !== undefined && needs.downloadBytes > 0) {
    const free = report.storage.quota - report.storage.usage;
    if (free < needs.downloadBytes) {
      no("storage", `The download needs ${formatBytes(needs.downloadBytes)} but the browser lets this site store only ${formatBytes(free)} more. Free space or delete a cached model.`);
    }
  } else if (!report.storage) {
    warn("storage", "The browser does not say how much it can store, so whether the weights fit is unknown.");
  }
  if (adapter.software) {
    const name = [adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(" / ") || "a fallback adapter";
    warn("software", `The adapter is ${name}: WebGPU computed on the CPU, not a GPU. A model would load but take many minutes per note.`);
  }
  if (needs.vramMB !== undefined) {
    reasons.push({ kind: "vram", severity: "info", message: `Needs about ${formatBytes(needs.vramMB * MB)} of GPU memory; browsers do not say how much a GPU has.` });
  }
  return { canRun: !reasons.some((reason) => reason.severity === "no"), reasons, ...(suggestion ? { suggestion } : {}) };
}
