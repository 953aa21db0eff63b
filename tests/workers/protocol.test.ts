import { describe, expect, it } from "vitest";
import { InputFileError, CancelledError } from "../../src/core/errors.ts";
import { WorkerClient, serve, type Port } from "../../workers/protocol.ts";

/** Two ends of a MessageChannel stand in for the page and the worker. */
function connected(handlers: Parameters<typeof serve>[0]) {
  const channel = new MessageChannel();
  const asPort = (port: MessagePort): Port => {
    port.start();
    return port as unknown as Port;
  };
  serve(handlers, asPort(channel.port2));
  const client = new WorkerClient(asPort(channel.port1));
  return { client, close: () => (channel.port1.close(), channel.port2.close()) };
}

describe("worker protocol", () => {
  it("returns results and forwards progress in order", async () => {
    const { client, close } = connected({
      count: async ({ to }: { to: number }, { progress }) => {
        for (let i = 1; i <= to; i++) progress(i);
        return to * 10;
      },
    });
    const seen: number[] = [];
    const result = await client.call<number, number>("count", { to: 3 }, { onProgress: (value) => seen.push(value) });
    expect(result).toBe(30);
    expect(seen).toEqual([1, 2, 3]);
    close();
  });

  it("rebuilds typed errors on the calling side", async () => {
    const { client, close } = connected({
      fail: () => {
        throw new InputFileError("a.csv", "unclosed quote", 4);
      },
    });
    const error = await client.call("fail", {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputFileError);
    expect((error as InputFileError).line).toBe(4);
    close();
  });

  it("aborts the handler's signal when the caller cancels", async () => {
    const { client, close } = connected({
      wait: (_params, { signal }) =>
        new Promise((_, reject) => signal.addEventListener("abort", () => reject(new CancelledError("wait")))),
    });
    const controller = new AbortController();
    const pending = client.call("wait", {}, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    close();
  });

  it("names an unknown method", async () => {
    const { client, close } = connected({});
    await expect(client.call("nope", {})).rejects.toThrow("Unknown method 'nope'");
    close();
  });
});
