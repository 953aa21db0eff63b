// "Delete everything": after a user imported notes, set things up and reloaded, one button
// (confirmed) leaves nothing of the app in the browser: no IndexedDB database (ours or
// WebLLM's), no Cache Storage (where WebLLM keeps weights), no file in the origin private
// file system, no setting. Then the app starts as on a first visit: the demo project only.
import type { Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { dropFiles, openApp, screenshot, type OpenBrowser } from "./browser.ts";

let open: OpenBrowser | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

/** Everything the origin holds, as the page sees it. */
function storedState(page: Page) {
  return page.evaluate(async () => {
    const files: string[] = [];
    const root = (await navigator.storage.getDirectory()) as FileSystemDirectoryHandle & { keys(): AsyncIterable<string> };
    for await (const name of root.keys()) files.push(name);
    return {
      databases: (await indexedDB.databases()).map((info) => info.name).sort(),
      caches: (await caches.keys()).sort(),
      files,
      localStorage: Object.keys(localStorage).sort(),
      sessionStorage: Object.keys(sessionStorage).length,
    };
  });
}

async function projectNames(page: Page): Promise<string[]> {
  return page.getByTestId("projects").locator("button.open").allTextContents();
}

describe("delete everything", () => {
  it("leaves no database, cache, file or setting, and the app starts again with only the demo", async () => {
    open = await openApp();
    const { page } = open;
    await expect.poll(() => page.getByTestId("note-count").textContent(), { timeout: 30_000 }).toBe("16 notes");
    await page.getByRole("textbox", { name: "New project name" }).fill("Ward 7");
    await page.getByRole("button", { name: "Create" }).click();
    await expect.poll(() => page.getByTestId("project-name").textContent()).toBe("Ward 7");
    await dropFiles(page, "[data-testid=dropzone]", [
      { name: "a.txt", content: "Pt admitted with pneumonia. Started ceftriaxone." },
      { name: "b.txt", content: "Known AF on apixaban; new confusion overnight." },
    ]);
    await page.getByTestId("import-report").waitFor({ timeout: 60_000 });
    // Settings of several kinds: term lists (annotate), an allowed server (privacy, reloads).
    await page.getByRole("button", { name: /^Demo/ }).click();
    await page.getByTestId("step-annotate").click();
    await page.getByTestId("backend-terms").check();
    await page.getByTestId("terms-Chemical").fill("apixaban");
    await page.getByTestId("privacy-open").click();
    await page.getByTestId("endpoint-address").fill("http://llm.hospital.local:8000/v1");
    await Promise.all([page.waitForEvent("load"), page.getByTestId("endpoint-allow").click()]);
    await page.getByRole("button", { name: "Ward 7", exact: true }).click();
    await expect.poll(() => page.getByTestId("note-count").textContent()).toBe("2 notes");

    // What WebLLM keeps once a model is downloaded (no model can be downloaded here): weights
    // in Cache Storage, or in IndexedDB with cacheBackend "indexeddb"; and a file in OPFS.
    await page.evaluate(async () => {
      const cache = await caches.open("webllm/model");
      await cache.put("https://huggingface.co/mlc-ai/Qwen2.5-3B-Instruct-q4f16_1-MLC/resolve/main/params_shard_0.bin", new Response(new Uint8Array(1 << 16)));
      await (await caches.open("webllm/wasm")).put("https://raw.githubusercontent.com/x.wasm", new Response("wasm"));
      await new Promise<void>((resolve, reject) => {
        const request = indexedDB.open("webllm/config");
        request.onupgradeneeded = () => request.result.createObjectStore("urls");
        request.onsuccess = () => (request.result.close(), resolve());
        request.onerror = () => reject(request.error);
      });
      const root = await navigator.storage.getDirectory();
      const file = await root.getFileHandle("checkpoint.bin", { create: true });
      const writable = await file.createWritable();
      await writable.write(new Uint8Array(1024));
      await writable.close();
      await root.getDirectoryHandle("models", { create: true });
    });
    await page.reload();
    await expect.poll(() => page.getByTestId("note-count").textContent(), { timeout: 30_000 }).toMatch(/notes$/);
    const before = await storedState(page);
    expect(before.databases).toEqual(["clinical-adapt", "webllm/config"]);
    expect(before.caches).toEqual(["webllm/model", "webllm/wasm"]);
    expect(before.files.sort()).toEqual(["checkpoint.bin", "models"]);
    expect(before.localStorage).toContain("privacy:settings");
    expect(before.localStorage.some((key) => key.startsWith("annotate:terms:"))).toBe(true);

    // Cancel keeps everything.
    await page.getByTestId("privacy-open").click();
    await page.getByTestId("wipe").click();
    await screenshot(page, "wipe-confirm");
    await page.getByRole("button", { name: "Cancel" }).click();
    expect((await storedState(page)).databases).toEqual(before.databases);

    await page.getByTestId("wipe").click();
    await Promise.all([page.waitForEvent("load"), page.getByTestId("wipe-confirmed").click()]);
    await page.getByTestId("wipe-done").waitFor({ timeout: 30_000 });
    expect(await page.getByTestId("wipe-done").textContent()).toContain("Everything this app stored in this browser has been deleted.");
    await screenshot(page, "wipe-done");
    expect(await storedState(page)).toEqual({ databases: [], caches: [], files: [], localStorage: [], sessionStorage: 0 });
    // "Start again" is a plain reload: the request to wipe was used up, so the app starts.
    await Promise.all([page.waitForEvent("load"), page.getByTestId("start-again").click()]);
    await expect.poll(() => page.getByTestId("note-count").textContent(), { timeout: 30_000 }).toBe("16 notes");
    expect(await projectNames(page)).toEqual([expect.stringContaining("Demo")]);
    expect((await storedState(page)).databases).toEqual(["clinical-adapt"]);
    await page.getByTestId("privacy-open").click();
    expect(await page.getByTestId("endpoint-allowed").count()).toBe(0);
    await page.getByRole("button", { name: "Close" }).click();
    await page.getByTestId("step-annotate").click();
    await page.getByTestId("backend-terms").check();
    expect(await page.getByTestId("terms-Chemical").inputValue()).toBe("");
    expect(open.errors).toEqual([]);
  });
});
