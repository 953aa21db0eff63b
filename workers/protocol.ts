// The message protocol between the page and its workers. A request names a method and
// carries an id; the worker answers with progress messages and then one result or error.
// Errors cross as {name, message, ...} and are rebuilt as typed errors on the page side.
import { CancelledError, fromErrorData, toErrorData, type ErrorData } from "../src/core/errors.ts";

export type Handler = (params: any, context: HandlerContext) => Promise<unknown> | unknown;
export type Handlers = Record<string, Handler>;

export interface HandlerContext {
  progress(value: unknown): void;
  /** Aborted when the page cancels this request. */
  signal: AbortSignal;
}

export type Request =
  | { id: number; kind: "call"; method: string; params: unknown }
  | { id: number; kind: "cancel" };

export type Reply =
  | { id: number; kind: "result"; value: unknown }
  | { id: number; kind: "error"; error: ErrorData }
  | { id: number; kind: "progress"; value: unknown };

/** A message port: a Worker on the page side, the worker's global scope inside it. */
export interface Port {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
}

/** Run inside a worker: answer requests with the given handlers. */
export function serve(handlers: Handlers, port: Port = self as unknown as Port): void {
  const running = new Map<number, AbortController>();
  port.addEventListener("message", async (event: MessageEvent<Request>) => {
    const request = event.data;
    if (request.kind === "cancel") {
      running.get(request.id)?.abort();
      return;
    }
    const handler = handlers[request.method];
    const controller = new AbortController();
    running.set(request.id, controller);
    const reply = (message: Reply) => port.postMessage(message);
    try {
      if (!handler) throw new Error(`Unknown method '${request.method}'`);
      const value = await handler(request.params, {
        progress: (value) => reply({ id: request.id, kind: "progress", value }),
        signal: controller.signal,
      });
      reply({ id: request.id, kind: "result", value });
    } catch (error) {
      reply({ id: request.id, kind: "error", error: toErrorData(error) });
    } finally {
      running.delete(request.id);
    }
  });
}

export interface CallOptions<P> {
  onProgress?: (value: P) => void;
  signal?: AbortSignal;
}

/** The page side: call methods of a worker and await their results. */
export class WorkerClient {
  private nextId = 1;
  private pending = new Map<
    number,
    { resolve(value: unknown): void; reject(error: Error): void; onProgress?: (value: any) => void }
  >();

  constructor(private readonly port: Port) {
    port.addEventListener("message", (event: MessageEvent<Reply>) => {
      const reply = event.data;
      const call = this.pending.get(reply.id);
      if (!call) return;
      if (reply.kind === "progress") call.onProgress?.(reply.value);
      else {
        this.pending.delete(reply.id);
        if (reply.kind === "result") call.resolve(reply.value);
        else call.reject(fromErrorData(reply.error));
      }
    });
  }

  /** Rejects every call still waiting for an answer (their worker is being terminated). */
  failPending(error: Error): void {
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
  }

  call<R, P = unknown>(method: string, params: unknown, options: CallOptions<P> = {}): Promise<R> {
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      if (options.signal?.aborted) return reject(new CancelledError(method));
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, onProgress: options.onProgress });
      options.signal?.addEventListener("abort", () => this.port.postMessage({ id, kind: "cancel" } satisfies Request));
      this.port.postMessage({ id, kind: "call", method, params } satisfies Request);
    });
  }
}
