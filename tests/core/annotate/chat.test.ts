import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { annotateNote } from "../../../src/core/annotate/annotator.ts";
import { schemaWithTypes } from "../../../src/core/schema/types.ts";
import { fakeEngine, openAiEndpoint, webLlmEngine, type ChatRequest } from "../../../src/core/annotate/chat.ts";
import { ChatHttpError, ChatResponseError, ChatUnavailableError } from "../../../src/core/annotate/errors.ts";
import { CancelledError } from "../../../src/core/errors.ts";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A real OpenAI-style server on 127.0.0.1 and a random port. */
async function serve(handler: (request: IncomingMessage, body: string, response: ServerResponse) => void): Promise<string> {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => handler(request, body, response));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/v1`;
}

const request: ChatRequest = {
  messages: [
    { role: "system", content: "You annotate." },
    { role: "user", content: "Note: fiebre" },
  ],
  temperature: 0,
  seed: 7,
  max_tokens: 256,
  response_format: { type: "json_schema", json_schema: { name: "entities", schema: { type: "object" }, strict: true } },
};

describe("openAiEndpoint", () => {
  it("POSTs the chat-completions body and reads the answer", async () => {
    let seen: { method?: string; url?: string; auth?: string; body?: Record<string, unknown> } = {};
    const base = await serve((incoming, body, response) => {
      seen = { method: incoming.method, url: incoming.url, auth: incoming.headers.authorization, body: JSON.parse(body) };
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({
        id: "x",
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content: '{"DISO":["fiebre"]}' }, finish_reason: "stop" }],
        usage: { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 },
      }));
    });
    const engine = openAiEndpoint(`${base}/`, { model: "llama-3.1-8b", apiKey: "local-key" });
    const answer = await engine.complete(request);
    expect(answer).toEqual({
      choices: [{ message: { role: "assistant", content: '{"DISO":["fiebre"]}' }, finish_reason: "stop" }],
      usage: { prompt_tokens: 12, completion_tokens: 6 },
    });
    expect(seen.method).toBe("POST");
    expect(seen.url).toBe("/v1/chat/completions");
    expect(seen.auth).toBe("Bearer local-key");
    expect(seen.body).toMatchObject({
      model: "llama-3.1-8b",
      messages: request.messages,
      temperature: 0,
      seed: 7,
      max_tokens: 256,
      response_format: { type: "json_schema", json_schema: { name: "entities", schema: { type: "object" }, strict: true } },
    });
  });

  it("carries a whole annotation: the prompt, the format's schema and the settings reach the server", async () => {
    const bodies: Record<string, any>[] = [];
    const base = await serve((_, body, response) => {
      bodies.push(JSON.parse(body));
      response.end(JSON.stringify({ choices: [{ message: { content: '{"DISO":["fiebre"]}' }, finish_reason: "stop" }], usage: { prompt_tokens: 90, completion_tokens: 7 } }));
    });
    const note = { id: "n", text: "Refiere fiebre." };
    const result = await annotateNote(note, {
      schema: schemaWithTypes(["DISO", "CHEM"]),
      format: "grouped-json",
      backend: { kind: "llm", engine: openAiEndpoint(base, { model: "local" }), options: { seed: 3, maxTokens: 512 } },
    });
    expect(result.spans.map(({ start, end, type }) => ({ start, end, type }))).toEqual([{ start: 8, end: 14, type: "DISO" }]);
    expect(result.usage).toMatchObject({ promptTokens: 90, completionTokens: 7, calls: 1 });
    const body = bodies[0];
    expect(body).toMatchObject({ model: "local", temperature: 0, n: 1, seed: 3, max_tokens: 512 });
    expect(body.messages.map((m: { role: string }) => m.role)).toEqual(["system", "user"]);
    expect(body.messages[1].content).toContain("Refiere fiebre.");
    expect(body.messages[0].content).toContain("Answer with JSON only");
    expect(body.response_format.type).toBe("json_schema");
    expect(Object.keys(body.response_format.json_schema.schema.properties)).toEqual(["DISO", "CHEM"]);
  });

  it("names the URL and status of an HTTP error", async () => {
    const base = await serve((_, __, response) => {
      response.statusCode = 404;
      response.end('{"error":"model not found"}');
    });
    const error = await openAiEndpoint(base, { model: "nope" }).complete(request).catch((e) => e);
    expect(error).toBeInstanceOf(ChatHttpError);
    expect(error.status).toBe(404);
    expect(error.url).toBe(`${base}/chat/completions`);
    expect(error.message).toContain(`${base}/chat/completions answered HTTP 404`);
    expect(error.message).toContain("model not found");
  });

  it("rejects an answer that is not a chat completion", async () => {
    const base = await serve((_, __, response) => response.end('{"result":"ok"}'));
    await expect(openAiEndpoint(base, { model: "m" }).complete(request)).rejects.toThrow(ChatResponseError);
  });

  it("times out on a server that never answers, and cancels on the caller's signal", async () => {
    const base = await serve(() => {
      /* never answers */
    });
    const started = performance.now();
    const error = await openAiEndpoint(base, { model: "m", timeoutMs: 200 }).complete(request).catch((e) => e);
    expect(error).toBeInstanceOf(ChatUnavailableError);
    expect(error.message).toMatch(/no answer within/);
    expect(performance.now() - started).toBeLessThan(5000);

    const controller = new AbortController();
    const pending = openAiEndpoint(base, { model: "m" }).complete(request, controller.signal);
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toThrow(CancelledError);
  });

  it("says when the server cannot be reached", async () => {
    const base = await serve(() => {});
    const url = base;
    server!.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    await expect(openAiEndpoint(url, { model: "m" }).complete(request)).rejects.toThrow(/could not be reached/);
  });

  it("tells a prompt that did not fit the server's context (vLLM's and llama.cpp's words) from other HTTP errors", async () => {
    const answers = [
      "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4500 in the messages, 500 in the completion).",
      '{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error"}}',
      '{"error":{"message":"model \\"m\\" not found"}}',
    ];
    const kinds: string[] = [];
    for (const body of answers) {
      const answer = (async () => new Response(body, { status: 400 })) as unknown as typeof fetch;
      const error = await openAiEndpoint("http://127.0.0.1:9/v1", { model: "m", fetch: answer }).complete(request).catch((caught) => caught);
      kinds.push(error.name);
    }
    expect(kinds).toEqual(["PromptTooLongError", "PromptTooLongError", "ChatHttpError"]);
  });

  it("refuses a grammar (WebLLM's constraint) before sending anything", async () => {
    let fetched = 0;
    const spy = (async () => ((fetched += 1), new Response("{}"))) as unknown as typeof fetch;
    const withGrammar = { ...request, response_format: { type: "grammar" as const, grammar: 'root ::= "x"' } };
    await expect(openAiEndpoint("http://127.0.0.1:9/v1", { model: "m", fetch: spy }).complete(withGrammar)).rejects.toThrow(TypeError);
    expect(fetched).toBe(0);
  });
});

describe("webLlmEngine", () => {
  it("passes the schema as WebLLM's json_object string and reads its answer", async () => {
    const calls: Record<string, unknown>[] = [];
    const engine = webLlmEngine({
      chat: {
        completions: {
          async create(body) {
            calls.push(body);
            return { choices: [{ message: { role: "assistant", content: "{}" }, finish_reason: "stop" }], usage: { prompt_tokens: 3, completion_tokens: 1 } };
          },
        },
      },
    });
    const answer = await engine.complete(request);
    expect(answer.choices[0].message.content).toBe("{}");
    expect(calls[0]).toMatchObject({
      messages: request.messages,
      temperature: 0,
      seed: 7,
      stream: false,
      response_format: { type: "json_object", schema: '{"type":"object"}' },
    });
  });

  it("interrupts generation when the signal aborts", async () => {
    let interrupted = false;
    let finish: (value: unknown) => void = () => {};
    const engine = webLlmEngine({
      chat: { completions: { create: () => new Promise((resolve) => (finish = resolve)) } },
      interruptGenerate: () => {
        interrupted = true;
        finish({ choices: [{ message: { content: "{" }, finish_reason: "abort" }] });
      },
    });
    const controller = new AbortController();
    const pending = engine.complete(request, controller.signal);
    controller.abort();
    await expect(pending).rejects.toThrow(CancelledError);
    expect(interrupted).toBe(true);
  });
});

describe("fakeEngine", () => {
  it("answers once per sample and records the requests", async () => {
    const engine = fakeEngine((_, at) => `answer ${at.call}.${at.sample}`);
    const answer = await engine.complete({ ...request, n: 3 });
    expect(answer.choices.map((choice) => choice.message.content)).toEqual(["answer 0.0", "answer 0.1", "answer 0.2"]);
    expect(engine.requests).toHaveLength(1);
  });

  it("ends a call that never answers when a time-out signal fires", async () => {
    const engine = fakeEngine(() => new Promise<string>(() => {}));
    await expect(engine.complete(request, AbortSignal.timeout(50))).rejects.toThrow(ChatUnavailableError);
  });
});
