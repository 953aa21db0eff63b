// The GPU lost in the middle of training: the run goes on on WebAssembly from its last
// checkpoint, and the user reads what happened.
//
// A real loss, not a stand-in: training runs on this Chromium's WebGPU (SwiftShader, a
// software adapter; the user picks WebGPU by hand, since the automatic choice prefers
// WebAssembly over a software GPU), and the GPU process is crashed through CDP
// (Browser.crashGpuProcess), as a driver reset or a GPU process crash would do on a
// hospital machine. Every GPUDevice then reports `lost` (reason "unknown"), the device
// onnxruntime-web holds in the training worker is gone with its buffers, and that
// onnxruntime is stuck (its session run never settles); the app goes on in a fresh
// training worker, on WebAssembly, from the run's last checkpoint.
import { afterEach, describe, expect, it } from "vitest";
import { openApp, screenshot, type OpenBrowser } from "./browser.ts";
import { annotateWithTerms } from "./demo-steps.ts";


interface StoredProgress {
  step: number;
  totalSteps: number;
  backend: string;
  resumedFrom: number | null;
  losses: { step: number }[];
  fallbacks: { from: string; to: string; lostAfterStep: number; resumedFrom: number; message: string }[];
}

let open: OpenBrowser | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

describe("the GPU lost during training", () => {
  it("goes on on WebAssembly from the last checkpoint and says so", async () => {
    open = await openApp();
    const { page, context } = open;
    await expect.poll(() => page.getByTestId("project-name").textContent(), { timeout: 30_000 }).toContain("Demo");
    await annotateWithTerms(page);
    await expect.poll(() => page.getByTestId("start-run").isEnabled(), { timeout: 60_000 }).toBe(true);

    await page.getByTestId("step-train").click();
    await expect.poll(() => page.getByTestId("train-note-count").textContent(), { timeout: 60_000 }).not.toBe("0");
    await page.getByTestId("backend-choice").selectOption("webgpu");
    expect(await page.getByTestId("backend-shown").textContent()).toBe("WebGPU");
    for (const [testId, value] of [["hp-epochs", 30], ["hp-batch", 2], ["hp-checkpoint-every", 2], ["hp-patience", 0], ["hp-max-steps", 40]] as const) {
      await page.getByTestId(testId).fill(String(value));
    }
    await page.getByTestId("start-training").click();
    await expect.poll(async () => Number(await page.getByTestId("checkpoint-step").textContent().catch(() => "0")), { timeout: 150_000, interval: 20 }).toBeGreaterThanOrEqual(4);
    expect(await page.getByTestId("train-progress").textContent()).toContain("on WebGPU");
    const total = Number(await page.getByTestId("train-total").textContent());

    const cdp = await context.newCDPSession(page);
    await cdp.send("Browser.crashGpuProcess");

    const fallback = page.getByTestId("train-fallback");
    const notice = async () => (await fallback.textContent())?.replace(/\s+/g, " ").trim();
    await expect.poll(notice, { timeout: 60_000 }).toMatch(/^The GPU stopped \(device lost\) after step \d+; training continues on WebAssembly from step \d+, its last checkpoint\.$/);
    expect(await page.getByTestId("train-progress").textContent()).toContain("on WebAssembly");
    await screenshot(page, "gpu-lost-continues-on-wasm");
    const row = page.getByTestId("train-runs").locator("tbody tr[data-run-id]").first();
    await expect.poll(() => row.getAttribute("data-status"), { timeout: 150_000 }).toBe("done");
    expect(await page.getByTestId("train-step").textContent()).toBe(String(total));
    expect(Number(await page.getByTestId("loss-chart").getAttribute("data-points"))).toBe(total);
    expect(await page.getByTestId("train-progress").textContent()).toContain("on WebAssembly");
    // The next run goes to WebAssembly too, unless the user picks the GPU again.
    expect(await page.getByTestId("backend-choice").inputValue()).toBe("wasm");

    const runId = (await row.getAttribute("data-run-id"))!;
    const progress = await page.evaluate(
      (runId) =>
        new Promise<StoredProgress>((resolve, reject) => {
          const request = indexedDB.open("clinical-adapt");
          request.onerror = () => reject(request.error);
          request.onsuccess = () => {
            const get = request.result.transaction("runs").objectStore("runs").get(runId);
            get.onsuccess = () => resolve(get.result.progress);
            get.onerror = () => reject(get.error);
          };
        }),
      runId,
    );
    console.log(`GPU lost: ${JSON.stringify(progress.fallbacks)}`);
    expect(progress.fallbacks).toHaveLength(1);
    const [event] = progress.fallbacks;
    expect(event).toMatchObject({ from: "webgpu", to: "wasm" });
    expect(event.message).toMatch(/^The GPU stopped \(device lost, reason "unknown"\): .*[^.]\.$/);
    expect(event.resumedFrom).toBeGreaterThanOrEqual(4);
    expect(event.lostAfterStep).toBeGreaterThanOrEqual(event.resumedFrom);
    expect(progress).toMatchObject({ step: total, backend: "wasm", resumedFrom: event.resumedFrom });
    expect(progress.losses.map((point) => point.step)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(await notice()).toContain(`after step ${event.lostAfterStep}; training went on on WebAssembly from step ${event.resumedFrom}`);
    // Expected noise: onnxruntime's note that shape ops run on the CPU, and the lost device's failed reads.
    expect(open.errors.filter((error) => !/VerifyEachNodeIsAssignedToAnEp|device|GPU|WebGPU/i.test(error))).toEqual([]);
  });
});
