// Workers started by workers are inside the page's Content-Security-Policy too.
//
// The page starts its workers from blob: modules, which inherit the page's policy (a worker
// loaded from a URL takes its policy from its own HTTP response, and a static host sends
// none). The workers those workers start were outside it: onnxruntime-web's WebAssembly
// threads are started by the training worker with `new Worker(new URL(import.meta.url))`,
// and such a worker could fetch any host (checked in this Chromium before the fix: a probe
// started that way reached the tracker below). Each of the app's workers now binds its
// own `Worker` the same way (workers/policy-bound.ts). Here, in the real app after a short
// training run on WebAssembly with threads: onnxruntime's threads were started from blob:
// modules, and a worker that the training worker starts from a same-origin URL served
// without any CSP header cannot reach a host outside the policy.
//
// The app is served here by a plain static server (dist/, the isolation headers, no CSP),
// as a static host would, plus the probe script: Playwright's routes do not see the
// request of a worker that a worker starts from a URL, so the probe must be a real file.
import { readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, resolve } from "node:path";
import type { Worker } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { openApp, type OpenBrowser } from "./browser.ts";
import { annotateWithTerms } from "./demo-steps.ts";
import { startTracker, type Tracker } from "./fixtures/tracker.ts";



const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".css": "text/css",
  ".wasm": "application/wasm",
  ".json": "application/json",
};

/** dist/ as a static host serves it (the isolation headers, no CSP), plus one extra file. */
async function startStaticHost(extra: { path: string; body: string }): Promise<{ url: string; close(): Promise<void> }> {
  const root = resolve("dist");
  const server = createServer((request, response) => {
    const pathname = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname);
    const headers = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" };
    if (pathname === extra.path) {
      response.writeHead(200, { ...headers, "Content-Type": "text/javascript" }).end(extra.body);
      return;
    }
    const path = normalize(join(root, pathname === "/" ? "index.html" : pathname));
    if (!path.startsWith(root) || !statSync(path, { throwIfNoEntry: false })?.isFile()) {
      response.writeHead(404, headers).end();
      return;
    }
    response.writeHead(200, { ...headers, "Content-Type": TYPES[extname(path)] ?? "application/octet-stream" }).end(readFileSync(path));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
}

let open: OpenBrowser | undefined;
let tracker: Tracker | undefined;
let host: Awaited<ReturnType<typeof startStaticHost>> | undefined;
afterEach(async () => {
  await open?.close();
  await tracker?.close();
  await host?.close();
  open = tracker = host = undefined;
});

describe("workers started by workers", () => {
  it("are bound by the page's policy: onnxruntime's threads and any worker the training worker starts", async () => {
    tracker = await startTracker(200);
    // A same-origin worker script served without a CSP header of its own: it tries the tracker.
    host = await startStaticHost({
      path: "/nested-probe.worker.js",
      body: `let result;
try { await fetch(${JSON.stringify(`${tracker.url}/from-nested-worker`)}); result = "sent"; } catch { result = "refused"; }
postMessage(result);`,
    });
    const probe = new URL("nested-probe.worker.js", host.url).href;
    open = await openApp(host.url);
    const { page } = open;
    await expect.poll(() => page.getByTestId("project-name").textContent(), { timeout: 30_000 }).toContain("Demo");
    expect(await page.evaluate(() => crossOriginIsolated), "threads need a cross-origin isolated page").toBe(true);

    // Annotations from term lists, then two training steps on WebAssembly.
    await annotateWithTerms(page);
    await page.getByTestId("step-train").click();
    await expect.poll(() => page.getByTestId("train-note-count").textContent(), { timeout: 60_000 }).not.toBe("0");
    expect(await page.getByTestId("backend-reason").textContent()).toMatch(/WebAssembly with [2-9] threads/);
    await page.getByTestId("hp-max-steps").fill("2");
    const started: Worker[] = [];
    page.on("worker", (worker) => started.push(worker));
    await page.getByTestId("start-training").click();
    const row = page.getByTestId("train-runs").locator("tbody tr[data-run-id]").first();
    await expect.poll(() => row.getAttribute("data-status"), { timeout: 150_000 }).toBe("done");

    // The training worker comes first; the workers after it are onnxruntime's threads. (Their
    // JavaScript is blocked in Atomics.wait between runs, so nothing can be evaluated there.)
    const [trainWorker, ...threads] = started;
    expect(await trainWorker.evaluate(() => self.name)).toBe("train");
    expect(threads.length, "onnxruntime started its threads").toBeGreaterThan(0);
    expect(
      threads.map((thread) => thread.url()),
      "each thread started from a blob: module, so it holds the page's policy",
    ).toEqual(threads.map(() => expect.stringMatching(/^blob:/)));

    // A worker the training worker starts, as onnxruntime starts its threads, cannot reach the tracker.
    const nested = await trainWorker.evaluate(
      (probe) =>
        new Promise<string>((resolve) => {
          const worker = new Worker(probe, { type: "module", name: "probe" });
          worker.onmessage = (event) => resolve(String(event.data));
          worker.onerror = (event) => resolve(`worker error: ${event.message}`);
        }),
      probe,
    );
    expect(nested).toBe("refused");
    expect(tracker.hits).toEqual([]);
    expect(open.errors.filter((error) => !/Content Security Policy/.test(error))).toEqual([]);
  });
});
