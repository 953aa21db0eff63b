// The capability verdicts from adapter data as browsers report it (hand-built: a laptop
// GPU, SwiftShader, a GPU without shader-f16, tight limits, a full disk).
import { describe, expect, it } from "vitest";
import { judgeModel, probeGpu, type AdapterLike, type GpuLike, type ModelNeeds } from "../../../src/core/annotate/capability.ts";

const MB = 1 << 20;
const GB = 1 << 30;

function adapter(overrides: { info?: AdapterLike["info"]; features?: string[]; limits?: Partial<AdapterLike["limits"]> } = {}): AdapterLike {
  return {
    info: overrides.info ?? { vendor: "nvidia", architecture: "ampere", description: "NVIDIA GeForce RTX 3060", device: "" },
    features: new Set(overrides.features ?? ["shader-f16", "timestamp-query"]),
    limits: { maxBufferSize: 2 * GB, maxStorageBufferBindingSize: 2 * GB, maxComputeWorkgroupStorageSize: 32768, ...overrides.limits },
  };
}

const gpu = (value: AdapterLike | null | Error): GpuLike => ({
  requestAdapter: async () => {
    if (value instanceof Error) throw value;
    return value;
  },
});
const disk = (usage: number, quota: number) => ({ estimate: async () => ({ usage, quota }) });

const qwen3bF16: ModelNeeds = { modelId: "Qwen2.5-3B-Instruct-q4f16_1-MLC", vramMB: 2504.76, f16: true, lowResource: true, f32Alternative: "Qwen2.5-3B-Instruct-q4f32_1-MLC" };
const qwen7bF16: ModelNeeds = { modelId: "Qwen2.5-7B-Instruct-q4f16_1-MLC", vramMB: 5106.67, f16: true, lowResource: false, f32Alternative: "Qwen2.5-7B-Instruct-q4f32_1-MLC" };

const kinds = (verdict: ReturnType<typeof judgeModel>) => verdict.reasons.filter((reason) => reason.severity !== "info").map((reason) => `${reason.severity}:${reason.kind}`);

describe("probeGpu", () => {
  it("reads the adapter's info, features, limits and the storage estimate", async () => {
    const report = await probeGpu(gpu(adapter()), disk(10 * MB, 50 * GB));
    expect(report.webgpu).toBe(true);
    expect(report.adapter).toMatchObject({ vendor: "nvidia", description: "NVIDIA GeForce RTX 3060", software: false, features: ["shader-f16", "timestamp-query"] });
    expect(report.adapter?.limits.maxStorageBufferBindingSize).toBe(2 * GB);
    expect(report.storage).toEqual({ usage: 10 * MB, quota: 50 * GB });
  });

  it("recognizes SwiftShader and the fallback flag as software adapters", async () => {
    const swift = await probeGpu(gpu(adapter({ info: { vendor: "google", architecture: "swiftshader", description: "", device: "" } })), undefined);
    expect(swift.adapter?.software).toBe(true);
    const fallback = await probeGpu(gpu(adapter({ info: { vendor: "", architecture: "", description: "", isFallbackAdapter: true } })), undefined);
    expect(fallback.adapter?.software).toBe(true);
  });

  it("reports no WebGPU, no adapter, and an adapter request that throws", async () => {
    expect((await probeGpu(undefined, undefined)).webgpu).toBe(false);
    expect((await probeGpu(gpu(null), undefined)).adapter).toBeNull();
    expect((await probeGpu(gpu(new Error("GPU process crashed")), undefined)).adapterError).toBe("GPU process crashed");
  });
});

describe("judgeModel", () => {
  it.each([
    ["a laptop GPU runs the 3B q4f16 build", adapter(), qwen3bF16, true, []],
    ["no shader-f16: the q4f16 build cannot run, the q4f32 build is suggested", adapter({ features: [] }), qwen3bF16, false, ["no:no-shader-f16"]],
    ["a 128 MB binding limit: a low-resource model may run", adapter({ limits: { maxStorageBufferBindingSize: 128 * MB } }), qwen3bF16, true, []],
    ["a 128 MB binding limit: a 7B build built for 1 GB may fail", adapter({ limits: { maxStorageBufferBindingSize: 128 * MB } }), qwen7bF16, true, ["warn:binding-limit"]],
    ["binding limit under 128 MB", adapter({ limits: { maxStorageBufferBindingSize: 64 * MB } }), qwen3bF16, false, ["no:binding-limit"]],
    ["largest buffer under 256 MB", adapter({ limits: { maxBufferSize: 128 * MB } }), qwen3bF16, false, ["no:buffer-limit"]],
    ["workgroup storage under 32 KB", adapter({ limits: { maxComputeWorkgroupStorageSize: 16384 } }), qwen3bF16, false, ["no:workgroup-limit"]],
    ["SwiftShader: may load, far too slow", adapter({ info: { vendor: "google", architecture: "swiftshader", description: "SwiftShader device" } }), qwen3bF16, true, ["warn:software"]],
  ] as const)("%s", async (_, given, needs, canRun, expected) => {
    const verdict = judgeModel(await probeGpu(gpu(given), disk(0, 100 * GB)), needs);
    expect(verdict.canRun).toBe(canRun);
    expect(kinds(verdict)).toEqual(expected);
  });

  it("suggests the q4f32 build when shader-f16 is missing, naming it", async () => {
    const verdict = judgeModel(await probeGpu(gpu(adapter({ features: [] })), disk(0, 100 * GB)), qwen3bF16);
    expect(verdict.suggestion).toBe("Qwen2.5-3B-Instruct-q4f32_1-MLC");
    expect(verdict.reasons[0].message).toContain("Qwen2.5-3B-Instruct-q4f32_1-MLC");
  });

  it("says no WebGPU and no adapter in plain words, and nothing else", async () => {
    const none = judgeModel(await probeGpu(undefined, undefined), qwen3bF16);
    expect(none).toMatchObject({ canRun: false, reasons: [{ kind: "no-webgpu", severity: "no" }] });
    expect(none.reasons[0].message).toMatch(/no WebGPU/);
    const noAdapter = judgeModel(await probeGpu(gpu(null), undefined), qwen3bF16);
    expect(noAdapter).toMatchObject({ canRun: false, reasons: [{ kind: "no-adapter" }] });
  });

  it("refuses a download that does not fit in the storage left, and passes a cached model", async () => {
    const report = await probeGpu(gpu(adapter()), disk(9 * GB, 10 * GB));
    const full = judgeModel(report, { ...qwen3bF16, downloadBytes: 1.7 * GB });
    expect(kinds(full)).toEqual(["no:storage"]);
    expect(full.reasons[0].message).toMatch(/1\.7 GB.*1\.0 GB/);
    expect(judgeModel(report, { ...qwen3bF16, downloadBytes: 0 }).canRun).toBe(true);
  });

  it("states the VRAM need as information, since browsers do not report GPU memory", async () => {
    const verdict = judgeModel(await probeGpu(gpu(adapter()), disk(0, GB)), qwen7bF16);
    expect(verdict.reasons.find((reason) => reason.kind === "vram")?.message).toContain("5.0 GB");
  });
});
