// Headless Chromium driven by playwright-core: Debian's /usr/bin/chromium unless
// CHROMIUM_PATH names another. The flags keep it off the (closed) network and give it
// WebGPU on SwiftShader on localhost pages.
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { inject } from "vitest";

export const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const flags = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  "--enable-unsafe-webgpu",
  "--enable-unsafe-swiftshader",
];

export interface OpenBrowser {
  context: BrowserContext;
  page: Page;
  baseURL: string;
  /** Page errors and console errors seen so far: a test asserts there are none. */
  errors: string[];
  close(): Promise<void>;
}

/** A fresh profile (so IndexedDB starts empty) that survives reloads within the test. */
export async function openApp(path = ""): Promise<OpenBrowser> {
  const baseURL = inject("baseURL");
  const userDataDir = mkdtempSync(join(tmpdir(), "clinical-adapt-profile-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: flags,
    viewport: { width: 1280, height: 860 },
    acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  await page.goto(new URL(path, baseURL).href);
  return {
    context,
    page,
    baseURL,
    errors,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Every record of one object store of the app's IndexedDB database, read by the page itself. */
export async function storedRecords<T>(page: Page, store: string): Promise<T[]> {
  return page.evaluate(
    (store) =>
      new Promise<T[]>((resolve, reject) => {
        const request = indexedDB.open("clinical-adapt");
        request.onerror = () => reject(request.error);
        request.onsuccess = () => {
          const all = request.result.transaction(store).objectStore(store).getAll();
          all.onsuccess = () => {
            request.result.close();
            resolve(all.result as T[]);
          };
          all.onerror = () => reject(all.error);
        };
      }),
    store,
  );
}

/** Saves a screenshot under test-results/ for people to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync("test-results", { recursive: true });
  await page.screenshot({ path: join("test-results", `${name}.png`), fullPage: true });
}

export interface DroppedFile {
  name: string;
  /** Text (encoded as UTF-8) or raw bytes. */
  content: string | number[];
  type?: string;
}

/** A real drop: a DataTransfer holding File objects, dispatched as dragenter/dragover/drop. */
export async function dropFiles(page: Page, selector: string, files: DroppedFile[]): Promise<void> {
  const dataTransfer = await page.evaluateHandle((files) => {
    const transfer = new DataTransfer();
    for (const file of files) {
      const body = typeof file.content === "string" ? file.content : new Uint8Array(file.content);
      transfer.items.add(new File([body], file.name, { type: file.type ?? "" }));
    }
    return transfer;
  }, files);
  for (const type of ["dragenter", "dragover", "drop"]) {
    await page.dispatchEvent(selector, type, { dataTransfer });
  }
}
