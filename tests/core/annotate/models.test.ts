// The model catalogue from WebLLM's real prebuilt list, and every weight and library URL
// moved onto the hosts the user configured.
import { prebuiltAppConfig } from "@mlc-ai/web-llm";
import { describe, expect, it } from "vitest";
import {
  allowedOrigins,
  appConfigFor,
  catalogue,
  checkHosts,
  chooseBuild,
  fetchWeightsBytes,
  ModelHostError,
  normalizeBaseUrl,
  PUBLIC_HOSTS,
  rewriteRecord,
  type ModelHosts,
} from "../../../src/core/annotate/models.ts";

const hospital: ModelHosts = { weightsBaseUrl: "https://llm.hospital.example/mlc", libsBaseUrl: "http://10.0.0.5:8080/libs/" };

describe("catalogue", () => {
  const entries = catalogue(prebuiltAppConfig.model_list);

  it("offers the extraction families in both builds, and no 1k-context build", () => {
    expect(entries.map((entry) => entry.family)).toEqual(
      expect.arrayContaining(["Qwen2.5 1.5B Instruct", "Qwen2.5 3B Instruct", "Qwen2.5 7B Instruct", "Qwen3 4B", "Llama-3.2 3B Instruct", "Llama-3.1 8B Instruct", "Phi-3.5 mini instruct", "Gemma-2 2B it"]),
    );
    for (const entry of entries) {
      expect(entry.f16?.id).toMatch(/q4f16_1-MLC$/);
      expect(entry.f32?.id).toMatch(/q4f32_1-MLC$/);
      expect(entry.f16!.vramMB).toBeGreaterThan(1000);
    }
  });

  it("picks q4f16 with shader-f16 and q4f32 without", () => {
    const qwen = entries.find((entry) => entry.family === "Qwen2.5 3B Instruct")!;
    expect(chooseBuild(qwen, true).id).toBe("Qwen2.5-3B-Instruct-q4f16_1-MLC");
    expect(chooseBuild(qwen, false).id).toBe("Qwen2.5-3B-Instruct-q4f32_1-MLC");
  });
});

describe("hosts", () => {
  const record = prebuiltAppConfig.model_list.find((item) => item.model_id === "Llama-3.2-3B-Instruct-q4f16_1-MLC")!;

  it("rewrites weights and library onto the configured hosts, as absolute URLs", () => {
    const moved = rewriteRecord(record, hospital);
    expect(moved.model).toBe("https://llm.hospital.example/mlc/Llama-3.2-3B-Instruct-q4f16_1-MLC/resolve/main/");
    expect(moved.model_lib).toBe("http://10.0.0.5:8080/libs/Llama-3.2-3B-Instruct-q4f16_1_cs1k-webgpu.wasm");
    expect(moved.model_id).toBe(record.model_id);
    expect(moved.overrides).toEqual(record.overrides);
  });

  it("keeps the public layout when the public hosts are chosen", () => {
    const moved = rewriteRecord(record, PUBLIC_HOSTS);
    expect(moved.model).toBe("https://huggingface.co/mlc-ai/Llama-3.2-3B-Instruct-q4f16_1-MLC/resolve/main/");
    expect(moved.model_lib).toBe(record.model_lib);
  });

  it("builds an app config with only the chosen records, all on allowed origins", () => {
    const appConfig = appConfigFor([record], hospital);
    expect(appConfig.model_list).toHaveLength(1);
    expect([...allowedOrigins(hospital)]).toEqual(["https://llm.hospital.example", "http://10.0.0.5:8080"]);
    for (const item of appConfig.model_list) {
      for (const url of [item.model, item.model_lib]) expect(allowedOrigins(hospital).has(new URL(url).origin)).toBe(true);
    }
  });

  it("refuses an app config that would fetch from an unconfigured host", () => {
    expect(() => checkHosts({ model_list: [record] }, hospital)).toThrow(ModelHostError);
    expect(() => checkHosts({ model_list: [record] }, hospital)).toThrow(/huggingface\.co/);
  });

  it.each([
    ["models/", /not an absolute URL/],
    ["/webllm/", /not an absolute URL/],
    ["ftp://host/models/", /https:\/\/ or http:\/\//],
  ])("refuses the base URL %s", (value, message) => {
    expect(() => normalizeBaseUrl(value, "weights address")).toThrow(message);
    expect(() => rewriteRecord(record, { ...hospital, weightsBaseUrl: value })).toThrow(ModelHostError);
  });

  it("reads the download size from tensor-cache.json on the configured host only", async () => {
    const moved = rewriteRecord(record, hospital);
    const asked: string[] = [];
    const fakeFetch = (async (url: string) => {
      asked.push(url);
      return new Response(JSON.stringify({ records: [{ nbytes: 1000 }, { nbytes: 2345 }] }));
    }) as typeof fetch;
    expect(await fetchWeightsBytes(moved, fakeFetch)).toBe(3345);
    expect(asked).toEqual(["https://llm.hospital.example/mlc/Llama-3.2-3B-Instruct-q4f16_1-MLC/resolve/main/tensor-cache.json"]);
    const down = (async () => new Response("", { status: 404 })) as unknown as typeof fetch;
    expect(await fetchWeightsBytes(moved, down)).toBeUndefined();
  });
});
