// The same training steps (and predictions) on WebAssembly and on WebGPU (SwiftShader in headless Chromium)
// give the same losses and updated parameters within float32 tolerance, and the WebGPU run
// really runs on WebGPU: the adapter is the GPU one, kernels execute on it, and parameters
// and moments stay in GPU buffers between steps.
//
// The page is a test entry (tests/e2e/pages/train-parity.*), built here by Vite into a
// temporary folder and served by a small static server with the cross-origin isolation
// headers, so the app's own build stays free of it. onnxruntime-web's .wasm files are
// copied next to it (.wasm and their .mjs loaders) and loaded from there (wasmPaths), never
// from a CDN.

import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve } from "node:path";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenBrowser, openApp } from "./browser.ts";

const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
  ".json": "application/json",
};

function serve(root: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)));
    if (!path.startsWith(root) || !statSync(path, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      "Content-Type": TYPES[extname(path)] ?? "application/octet-stream",
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
    });
    res.end(readFileSync(path));
  });
  return new Promise((done) => server.listen(0, "127.0.0.1", () => {
    const address = server.address() as { port: number };
    done({ server, url: `http://127.0.0.1:${address.port}/` });
  }));
}

interface StepResult {
  step: number;
  loss: number;
  gradNorm: number;
  lr: number;
}

interface Parity {
  wasm: { results: StepResult[]; locations: string[] };
  webgpu: { results: StepResult[]; locations: string[] };
  maxAbs: Record<"p" | "m" | "v", number>;
  maxRel: Record<"p" | "m" | "v", number>;
  adapter: Record<string, string>;
  kernelTypes: Record<string, number>;
  crossOriginIsolated: boolean;
}

describe("training steps on WebAssembly and WebGPU", () => {
  let dir: string;
  let server: Server;
  let url: string;
  let browser: OpenBrowser | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "train-parity-"));
    const pages = resolve("tests/e2e/pages");
    await build({
      configFile: false,
      root: pages,
      base: "./",
      logLevel: "warn",
      build: { outDir: dir, emptyOutDir: true, target: "es2022", rollupOptions: { input: [join(pages, "train-parity.html"), join(pages, "infer-parity.html")] } },
    });
    const ortDist = resolve("node_modules/onnxruntime-web/dist");
    for (const file of readdirSync(ortDist)) if (/^ort-wasm.*\.(wasm|mjs)$/.test(file)) cpSync(join(ortDist, file), join(dir, "ort", file));
    ({ server, url } = await serve(dir));
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((done) => server?.close(done));
    rmSync(dir, { recursive: true, force: true });
  });

  it("give the same losses and parameters, with WebGPU really used", async () => {
    browser = await openApp(`${url}train-parity.html`);
    const { page } = browser;
    await page.waitForFunction(() => "trainParity" in window);
    const hasGpu = await page.evaluate(() => "gpu" in navigator && navigator.gpu !== undefined);
    expect(hasGpu, "navigator.gpu (needs --enable-unsafe-webgpu on localhost)").toBe(true);
    const parity = (await page.evaluate(() => (window as unknown as { trainParity(): Promise<unknown> }).trainParity())) as Parity;
    console.log(JSON.stringify(parity, null, 1));

    expect(parity.crossOriginIsolated).toBe(true);
    expect(parity.adapter.architecture || parity.adapter.description).toMatch(/swiftshader/i);
    expect(parity.wasm.locations).toEqual(["cpu"]);
    expect(parity.webgpu.locations).toEqual(["gpu-buffer"]);
    expect(parity.webgpu.results.length).toBe(parity.wasm.results.length);
    parity.wasm.results.forEach((w, i) => {
      const g = parity.webgpu.results[i];
      expect(Math.abs(g.loss - w.loss), `loss at step ${w.step}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(w.loss)));
      expect(Math.abs(g.gradNorm - w.gradNorm), `grad norm at step ${w.step}`).toBeLessThan(1e-3 * Math.max(1, w.gradNorm));
    });
    // Parameters are O(0.1 … 1), first moments O(1e-3), second moments O(1e-6) here.
    expect(parity.maxAbs.p).toBeLessThan(1e-5);
    expect(parity.maxAbs.m).toBeLessThan(1e-6);
    expect(parity.maxAbs.v).toBeLessThan(1e-8);
    // The ops ran on the GPU: MatMuls and the embedding gradients' ScatterNDs among them.
    expect(parity.kernelTypes.MatMul).toBeGreaterThan(0);
    expect(parity.kernelTypes.ScatterND).toBeGreaterThan(0);
    // Expected noise: onnxruntime's note that shape ops (and ops without a WebGPU kernel)
    // run on the CPU, and the browser's request for /favicon.ico.
    const expected = /VerifyEachNodeIsAssignedToAnEp|status of 404/;
    expect(browser.errors.filter((e) => !expected.test(e))).toEqual([]);
  });

  it("avoid the WebGPU ScatterND index mix-up (minimal graphs; see pages/train-parity.ts)", async () => {
    const page = browser!.page;
    const diffs = (await page.evaluate(() => (window as unknown as { diagnoseScatter(): Promise<unknown> }).diagnoseScatter())) as Record<string, Record<string, number>>;
    console.log(`wasm vs webgpu, max |diff| per output: ${JSON.stringify(diffs)}`);
    // The layout the step graph uses: index inputs of different shapes.
    expect(Object.values(diffs.sharedDyPos1).every((d) => d < 1e-5)).toBe(true);
    expect(Object.values(diffs.twoScattersIndicesAsInputs).every((d) => d < 1e-5)).toBe(true);
  });

  it("predict on WebGPU the spans WebAssembly predicts, long notes windowed the same way", async () => {
    await browser!.page.goto(`${url}infer-parity.html`);
    const page = browser!.page;
    await page.waitForFunction(() => "inferParity" in window);
    const parity = (await page.evaluate(() => (window as unknown as { inferParity(): Promise<unknown> }).inferParity())) as {
      wasm: { start: number; end: number; type: string; confidence?: number }[][];
      webgpu: { start: number; end: number; type: string; confidence?: number }[][];
      maxAbsProbability: number;
      kernelTypes: Record<string, number>;
    };
    console.log(`inference, wasm vs webgpu: max |Δp| ${parity.maxAbsProbability}, kernels ${JSON.stringify(parity.kernelTypes)}`);
    expect(parity.kernelTypes.MatMul).toBeGreaterThan(0);
    expect(parity.maxAbsProbability).toBeLessThan(1e-4);
    expect(parity.wasm.flat().length).toBeGreaterThan(0);
    const plain = (notes: typeof parity.wasm) => notes.map((spans) => spans.map(({ start, end, type }) => ({ start, end, type })));
    expect(plain(parity.webgpu)).toEqual(plain(parity.wasm));
  });
});
