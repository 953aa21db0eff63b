// The WebLLM worker seam: the page side (`loadLocalModel` -> the real
// CreateWebWorkerMLCEngine) talks to the real WebWorkerMLCEngineHandler, as in
// workers/llm.worker.ts, over a structured-clone channel; only the MLCEngine inside the
// handler is faked. So the message protocol, the app config, the progress reports, the
// constrained request (checked by WebLLM's own request validation) and the errors are
// WebLLM's own.
import { postInitAndCheckFieldsChatCompletion, WebWorkerMLCEngineHandler } from "@mlc-ai/web-llm";
import type { ChatCompletionRequest } from "@mlc-ai/web-llm";
import * as webllm from "@mlc-ai/web-llm";
import { describe, expect, it } from "vitest";
import { annotateNote } from "../../../src/core/annotate/annotator.ts";
import { EngineLostError, PromptTooLongError } from "../../../src/core/annotate/errors.ts";
import { CONSTRAINED_FORMAT } from "../../../src/core/annotate/format.ts";
import {
  appConfigFor,
  catalogue,
  chooseBuild,
  loadLocalModel,
  ModelHostError,
  WebLlmError,
  type AppConfig,
  type InitProgressReport,
  type ModelHosts,
  type WebLlmModule,
} from "../../../src/core/annotate/models.ts";
import { schemaWithTypes } from "../../../src/core/schema/types.ts";

const hosts: ModelHosts = { weightsBaseUrl: "https://models.hospital.example/webllm/", libsBaseUrl: "https://models.hospital.example/libs/" };

/** What the fake engine saw, and how it answers. */
function fakeMlcEngine(answer: (request: Record<string, unknown>) => string) {
  const seen = { appConfig: undefined as AppConfig | undefined, reloads: [] as string[][], requests: [] as Record<string, unknown>[], interrupts: 0 };
  let progress: ((report: InitProgressReport) => void) | undefined;
  const engine = {
    setAppConfig: (appConfig: AppConfig) => void (seen.appConfig = appConfig),
    setLogLevel: () => undefined,
    setInitProgressCallback: (callback: (report: InitProgressReport) => void) => void (progress = callback),
    getInitProgressCallback: () => progress,
    async reload(modelId: string[]) {
      seen.reloads.push(modelId);
      const record = seen.appConfig?.model_list.find((item) => item.model_id === modelId[0]);
      if (!record) throw new Error(`Cannot find model record in appConfig for ${modelId[0]}`);
      for (const fraction of [0.25, 1]) progress?.({ progress: fraction, timeElapsed: 1, text: `Fetching ${record.model} ${fraction * 100}%` });
    },
    async chatCompletion(request: Record<string, unknown>) {
      seen.requests.push(request);
      const content = answer(request);
      return {
        id: "chatcmpl-1",
        object: "chat.completion",
        created: 0,
        model: "fake",
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop", logprobs: null }],
        usage: { prompt_tokens: 40, completion_tokens: 9, total_tokens: 49 },
      };
    },
    interruptGenerate: () => void seen.interrupts++,
    async unload() {},
  };
  return { engine, seen };
}

/** A Worker-like pair: the page's postMessage reaches the handler and back, each message cloned. */
function connect(handler: WebWorkerMLCEngineHandler) {
  const worker = {
    onmessage: undefined as ((event: unknown) => void) | undefined,
    postMessage(message: unknown) {
      const copy = structuredClone(message);
      setTimeout(() => handler.onmessage(copy), 0);
    },
  };
  handler.postMessage = (message: unknown) => {
    const copy = structuredClone(message);
    setTimeout(() => worker.onmessage?.(copy), 0);
  };
  return worker;
}

function setup(answer: (request: Record<string, unknown>) => string) {
  const handler = new WebWorkerMLCEngineHandler();
  const fake = fakeMlcEngine(answer);
  // The seam: the MLCEngine the handler drives.
  (handler as unknown as { engine: unknown }).engine = fake.engine;
  handler.engine.setInitProgressCallback((report) => handler.postMessage({ kind: "initProgressCallback", uuid: "", content: report }));
  const entry = catalogue(webllm.prebuiltAppConfig.model_list).find((item) => item.family === "Qwen2.5 3B Instruct")!;
  const chosen = chooseBuild(entry, true);
  const appConfig = appConfigFor([chosen.record], hosts);
  return { worker: connect(handler), fake, chosen, appConfig };
}

describe("WebLLM worker protocol", () => {
  it("loads a model with the rewritten app config, reports progress, and annotates through constrained decoding", async () => {
    const { worker, fake, chosen, appConfig } = setup(() => "Chemical: aspirin\nDisease: chest pain");
    const reports: InitProgressReport[] = [];
    const local = await loadLocalModel({
      worker,
      modelId: chosen.id,
      appConfig,
      hosts,
      onProgress: (report) => reports.push(report),
      webllm: webllm as unknown as WebLlmModule,
    });
    expect(fake.seen.reloads).toEqual([[chosen.id]]);
    expect(fake.seen.appConfig?.model_list[0].model).toBe(`https://models.hospital.example/webllm/${chosen.id}/resolve/main/`);
    expect(reports.map((report) => report.progress)).toEqual([0.25, 1]);
    expect(reports[0].text).toContain("models.hospital.example");

    const text = "Chest pain; given aspirin.";
    const result = await annotateNote(
      { id: "n1", text },
      {
        schema: schemaWithTypes(["Chemical", "Disease"]),
        backend: { kind: "llm", engine: local.engine },
        format: CONSTRAINED_FORMAT,
        grammar: true,
        // A few-shot turn: WebLLM takes the history of user and assistant turns after the system message.
        examples: [{ id: "e1", text: "Fever after ibuprofen.", spans: [{ start: 0, end: 5, type: "Disease" }, { start: 12, end: 21, type: "Chemical" }] }],
      },
    );
    expect(result.spans.map((span) => [text.slice(span.start, span.end), span.type])).toEqual([
      ["Chest pain", "Disease"],
      ["aspirin", "Chemical"],
    ]);
    expect(result.usage.completionTokens).toBe(9);
    const request = fake.seen.requests[0];
    expect(request.stream).toBe(false);
    const format = request.response_format as { type: string; grammar: string };
    expect(format.type).toBe("grammar");
    expect(format.grammar).toContain('row_0 ::= "Chemical: "');
    expect((request.messages as { role: string }[]).map((message) => message.role)).toEqual(["system", "user", "assistant", "user"]);
    // What MLCEngine.chatCompletion checks first: a grammar request WebLLM would refuse throws here.
    expect(() => postInitAndCheckFieldsChatCompletion(request as unknown as ChatCompletionRequest, chosen.id, webllm.ModelType.LLM)).not.toThrow();
    const refused = { ...request, response_format: { type: "json_object", grammar: format.grammar } };
    expect(() => postInitAndCheckFieldsChatCompletion(refused as unknown as ChatCompletionRequest, chosen.id, webllm.ModelType.LLM)).toThrow(/grammar/i);
  });

  it("turns the worker's string rejections into errors that name the model", async () => {
    const { worker, chosen, appConfig } = setup(() => {
      throw new Error("WebGPU validation error: buffer too large");
    });
    const local = await loadLocalModel({ worker, modelId: chosen.id, appConfig, hosts, webllm: webllm as unknown as WebLlmModule });
    const failure = await local.engine.complete({ messages: [{ role: "user", content: "x" }] }).catch((error) => error);
    expect(failure).toBeInstanceOf(WebLlmError);
    expect(failure.message).toContain(chosen.id);
    expect(failure.message).toContain("WebGPU validation error: buffer too large");
  });

  it("says the model is gone with EngineLostError when WebLLM unloaded it (a lost GPU), so the run stops instead of failing every note", async () => {
    const { worker, chosen, appConfig } = setup(() => {
      // WebLLM's ModelNotLoadedError, as its engine throws it after unloading on device loss.
      throw new Error("Model not loaded before trying to complete ChatCompletionRequest. Please ensure you have called MLCEngine.reload(model)");
    });
    const local = await loadLocalModel({ worker, modelId: chosen.id, appConfig, hosts, webllm: webllm as unknown as WebLlmModule });
    const failure = await local.engine.complete({ messages: [{ role: "user", content: "x" }] }).catch((error) => error);
    expect(failure).toBeInstanceOf(EngineLostError);
    expect(failure.message).toContain(`${chosen.id} is no longer loaded`);
  });

  it("says a prompt did not fit with PromptTooLongError (the annotator then cuts the note smaller), and knows the build's context", async () => {
    const { worker, chosen, appConfig } = setup(() => {
      // WebLLM's own ContextWindowSizeExceededError, as its engine throws it.
      throw new Error("Prompt tokens exceed context window size: number of prompt tokens: 5000; context window size: 4096");
    });
    const local = await loadLocalModel({ worker, modelId: chosen.id, appConfig, hosts, webllm: webllm as unknown as WebLlmModule });
    expect(local.contextTokens).toBe(4096);
    expect(local.contextTokens).toBe(chosen.record.overrides?.context_window_size);
    const failure = await local.engine.complete({ messages: [{ role: "user", content: "x" }] }).catch((error) => error);
    expect(failure).toBeInstanceOf(PromptTooLongError);
    expect(failure.message).toContain(chosen.id);
  });

  it("fails to load a model missing from the app config, and refuses foreign hosts before sending anything", async () => {
    const { worker, appConfig } = setup(() => "{}");
    const missing = await loadLocalModel({ worker, modelId: "Nope-q4f16_1-MLC", appConfig, hosts, webllm: webllm as unknown as WebLlmModule }).catch((error) => error);
    expect(missing).toBeInstanceOf(WebLlmError);
    expect(missing.message).toContain("Nope-q4f16_1-MLC");

    const foreign: AppConfig = { model_list: [{ ...appConfig.model_list[0], model: "https://huggingface.co/mlc-ai/x/" }] };
    let created = false;
    const spy = { ...(webllm as unknown as WebLlmModule), CreateWebWorkerMLCEngine: async () => ((created = true), undefined as never) };
    await expect(loadLocalModel({ worker, modelId: appConfig.model_list[0].model_id, appConfig: foreign, hosts, webllm: spy })).rejects.toBeInstanceOf(ModelHostError);
    expect(created).toBe(false);
  });

  it("interrupts generation when the run is cancelled", async () => {
    let release!: () => void;
    const { worker, fake, chosen, appConfig } = setup(() => "{}");
    fake.engine.chatCompletion = async (request: Record<string, unknown>) => {
      fake.seen.requests.push(request);
      await new Promise<void>((resolve) => (release = resolve));
      return { id: "", object: "chat.completion", created: 0, model: "", choices: [{ index: 0, message: { role: "assistant", content: "{}" }, finish_reason: "abort", logprobs: null }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };
    };
    const local = await loadLocalModel({ worker, modelId: chosen.id, appConfig, hosts, webllm: webllm as unknown as WebLlmModule });
    const controller = new AbortController();
    const pending = local.engine.complete({ messages: [{ role: "user", content: "x" }] }, controller.signal).catch((error) => error);
    await expect.poll(() => fake.seen.requests.length).toBe(1);
    controller.abort();
    await expect.poll(() => fake.seen.interrupts).toBe(1);
    release();
    expect((await pending).name).toBe("CancelledError");
  });
});
