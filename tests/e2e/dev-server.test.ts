// The README's first command: `npm start` serves the app from Vite's dev server, where
// modules and assets have other URLs than in the build the other e2e tests serve. The
// demo must work there too: its model runs in the inference worker (a blob: module that
// loads onnxruntime-web's WebAssembly; a root-relative asset URL once broke exactly this).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type ViteDevServer } from "vite";
import { openApp, type OpenBrowser } from "./browser.ts";
import { GOLD, toStep, waitForDemo } from "./demo-steps.ts";

let server: ViteDevServer;
let open: OpenBrowser | undefined;

beforeAll(async () => {
  server = await createServer({ server: { port: 0, host: "127.0.0.1", strictPort: false }, logLevel: "warn" });
  await server.listen();
});

afterAll(async () => {
  await open?.close();
  await server?.close();
});

describe("the app on the dev server (npm start)", () => {
  it("loads the demo and runs its model over the gold notes", async () => {
    const url = server.resolvedUrls?.local[0];
    if (!url) throw new Error("The dev server did not report its address");
    open = await openApp(url);
    const { page } = open;
    // The first load optimizes dependencies: give it time.
    await expect.poll(() => page.getByTestId("project-name").textContent(), { timeout: 90_000 }).toContain("Demo");
    await waitForDemo(page);
    await toStep(page, "extract", "extract-panel");
    await expect.poll(() => page.getByTestId("extract-model").locator("option").count(), { timeout: 60_000 }).toBeGreaterThan(0);
    await page.getByTestId("extract-notes").selectOption("gold");
    await page.getByTestId("run-extract").click();
    await expect.poll(() => page.getByTestId("extract-summary").textContent(), { timeout: 90_000 }).toMatch(new RegExp(`^\\d+ spans in ${GOLD.length} notes$`));
    expect(open.errors.filter((error) => !/\[vite\]/.test(error))).toEqual([]);
  });
});
