// The LLM boundary: the OpenAI chat-completions shape, so WebLLM in the browser, an
// on-premise OpenAI-compatible server (vLLM, llama.cpp, Ollama) or a test's fake can
// stand behind the annotator. Nothing here imports WebLLM: `webLlmEngine` wraps any
// object with `chat.completions.create`, and the worker that owns the real engine passes it in.

import { CancelledError } from "../errors.ts";
import { ChatHttpError, ChatResponseError, ChatUnavailableError, CONTEXT_OVERFLOW, PromptTooLongError } from "./errors.ts";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** A JSON schema, as a plain object. */
export type JsonSchema = Record<string, unknown>;

export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; json_schema: { name: string; schema: JsonSchema; strict?: boolean } }
  /** An EBNF grammar (WebLLM's shape; grammar.ts). */
  | { type: "grammar"; grammar: string };

export interface ChatRequest {
  messages: ChatMessage[];
  /** 0 = greedy. */
  temperature?: number;
  seed?: number;
  max_tokens?: number;
  /** Number of samples (self-consistency); engines that cannot sample n at once are called n times. */
  n?: number;
  response_format?: ResponseFormat;
}

export type FinishReason = "stop" | "length" | "abort" | string;

export interface ChatChoice {
  message: { role?: string; content: string };
  finish_reason: FinishReason;
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

export interface ChatResponse {
  choices: ChatChoice[];
  usage: ChatUsage;
}

export interface ChatEngine {
  complete(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse>;
}

// --- OpenAI-compatible HTTP endpoint -------------------------------------------------

export interface EndpointOptions {
  model: string;
  apiKey?: string;
  /** Per-request limit; a local 8B model on a laptop can take minutes for a long note. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /**
   * How `json_schema` is sent: as OpenAI's `json_schema` (vLLM, llama.cpp, OpenAI), or as
   * `json_object` without schema for servers that only know JSON mode.
   */
  schemaStyle?: "json_schema" | "json_object";
}

/** A ChatEngine that POSTs to `${baseUrl}/chat/completions`. */
export function openAiEndpoint(baseUrl: string, options: EndpointOptions): ChatEngine {
  const url = `${baseUrl.replace(/\/+$/, "")}/chat/completions`;
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const timeoutMs = options.timeoutMs ?? 300_000;
  return {
    async complete(request, signal) {
      if (signal?.aborted) throw abortError(signal, url);
      const timeout = AbortSignal.timeout(timeoutMs);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let responseFormat = request.response_format;
      // Servers spell grammars differently (vLLM's structured_outputs, llama.cpp's GBNF `grammar`); runs never ask one of them for a grammar.
      if (responseFormat?.type === "grammar") throw new TypeError(`${url}: an OpenAI-compatible endpoint is not sent a grammar; ask for a format without one`);
      if (responseFormat?.type === "json_schema" && options.schemaStyle === "json_object") responseFormat = { type: "json_object" };
      const body = { model: options.model, ...request, response_format: responseFormat };
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
      let response: Response;
      let text: string;
      try {
        response = await doFetch(url, { method: "POST", headers, body: JSON.stringify(body), signal: combined });
        text = await response.text();
      } catch (error) {
        if (timeout.aborted) throw new ChatUnavailableError(url, `no answer within ${Math.round(timeoutMs / 1000)} s`, { cause: error });
        if (signal?.aborted) throw abortError(signal, url);
        throw new ChatUnavailableError(url, `could not be reached (${(error as Error).message}). Is the server running?`, { cause: error });
      }
      if (!response.ok && CONTEXT_OVERFLOW.test(text)) throw new PromptTooLongError(`${url} answered HTTP ${response.status}: ${text.slice(0, 300)}`);
      if (!response.ok) throw new ChatHttpError(url, response.status, text);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new ChatResponseError(`${url} answered HTTP ${response.status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
      }
      return checkResponse(json, url);
    },
  };
}

/** Checks that an answer has the chat-completion shape we read, and fills in absent usage. */
export function checkResponse(json: unknown, source: string): ChatResponse {
  const choices = (json as { choices?: unknown })?.choices;
  if (!Array.isArray(choices) || choices.length === 0) {
    throw new ChatResponseError(`${source}: expected {choices: [{message: {content}}]}, got ${JSON.stringify(json).slice(0, 200)}`);
  }
  const checked: ChatChoice[] = choices.map((choice, index) => {
    const content = choice?.message?.content;
    if (typeof content !== "string") {
      throw new ChatResponseError(`${source}: choices[${index}].message.content is not a string`);
    }
    return { message: { role: "assistant", content }, finish_reason: String(choice.finish_reason ?? "stop") };
  });
  const usage = (json as { usage?: Partial<ChatUsage> }).usage;
  return {
    choices: checked,
    usage: { prompt_tokens: Number(usage?.prompt_tokens ?? 0), completion_tokens: Number(usage?.completion_tokens ?? 0) },
  };
}

// --- WebLLM ---------------------------------------------------------------------------

/** The part of WebLLM's `MLCEngineInterface` this adapter uses. */
export interface WebLlmLike {
  chat: { completions: { create(request: Record<string, unknown>): Promise<unknown> } };
  interruptGenerate?: () => void;
}

/**
 * Wraps a WebLLM engine (`CreateWebWorkerMLCEngine(...)`). WebLLM takes the schema as a
 * string in `{type: "json_object", schema}` and a grammar as `{type: "grammar", grammar}`;
 * an abort calls `interruptGenerate`, which ends the generation early, and the call then
 * throws CancelledError.
 */
export function webLlmEngine(engine: WebLlmLike): ChatEngine {
  return {
    async complete(request, signal) {
      if (signal?.aborted) throw abortError(signal, "WebLLM");
      const { response_format, ...rest } = request;
      const body: Record<string, unknown> = { ...rest, stream: false };
      if (response_format?.type === "json_schema") {
        body.response_format = { type: "json_object", schema: JSON.stringify(response_format.json_schema.schema) };
      } else if (response_format?.type === "json_object") {
        body.response_format = { type: "json_object" };
      } else if (response_format?.type === "grammar") {
        body.response_format = { type: "grammar", grammar: response_format.grammar };
      }
      const onAbort = () => engine.interruptGenerate?.();
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        const json = await engine.chat.completions.create(body);
        if (signal?.aborted) throw abortError(signal, "WebLLM");
        return checkResponse(json, "WebLLM");
      } finally {
        signal?.removeEventListener("abort", onAbort);
      }
    },
  };
}

// --- Fake, for tests and demos --------------------------------------------------------

export interface FakeCall {
  /** Index of the `complete` call, from 0. */
  call: number;
  /** Index of the sample within the call (for n > 1), from 0. */
  sample: number;
}

export type FakeAnswer = string | { content: string; finish_reason?: FinishReason };

export interface FakeEngine extends ChatEngine {
  /** Every request received, in order. */
  readonly requests: ChatRequest[];
}

/**
 * A ChatEngine whose answers come from `responder`, once per sample. Usage counts one
 * token per four characters. A responder that never resolves models an engine that hangs;
 * the call then ends when `signal` aborts.
 */
export function fakeEngine(responder: (request: ChatRequest, at: FakeCall) => FakeAnswer | Promise<FakeAnswer>): FakeEngine {
  const requests: ChatRequest[] = [];
  return {
    requests,
    async complete(request, signal) {
      if (signal?.aborted) throw abortError(signal, "fake engine");
      const call = requests.length;
      requests.push(request);
      const samples = Array.from({ length: request.n ?? 1 }, (_, sample) => responder(request, { call, sample }));
      const answers = await abortable(Promise.all(samples), signal);
      const choices = answers.map((answer) =>
        typeof answer === "string"
          ? { message: { role: "assistant", content: answer }, finish_reason: "stop" }
          : { message: { role: "assistant", content: answer.content }, finish_reason: answer.finish_reason ?? "stop" },
      );
      const promptChars = request.messages.reduce((sum, message) => sum + message.content.length, 0);
      const completionChars = choices.reduce((sum, choice) => sum + choice.message.content.length, 0);
      return { choices, usage: { prompt_tokens: Math.ceil(promptChars / 4), completion_tokens: Math.ceil(completionChars / 4) } };
    },
  };
}

function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal, "fake engine"));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * The error for an aborted call: a time-out (an `AbortSignal.timeout` somewhere in the
 * chain) means the engine did not answer, which a retry may fix; anything else is the user
 * cancelling.
 */
export function abortError(signal: AbortSignal, source: string): Error {
  const reason = signal.reason as { name?: string } | undefined;
  if (reason?.name === "TimeoutError") return new ChatUnavailableError(source, "no answer in time", { cause: reason });
  return new CancelledError("annotation");
}
