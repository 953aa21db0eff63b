// A model from a Hugging Face Hub, the way a person gets one: allow the Hub in the Privacy
// panel (here a stand-in Hub on 127.0.0.1 serving the demo model's files, as a hospital
// mirror would), type the model id in the Train step, download it, train from it. And
// with downloads not allowed, or offline mode on, nothing reaches the Hub.
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { openApp, screenshot, type OpenBrowser } from "./browser.ts";
import { startHubServer, type HubServer } from "./fixtures/hub-server.ts";

const MODEL_ID = "hospital-nlp/bc5cdr-tiny";
/** Its weights stop half way: the user cancels. */
const STALLED_ID = "hospital-nlp/stalls";
/** Its weights redirect to another port, which the policy does not allow for a mirror. */
const ELSEWHERE_ID = "hospital-nlp/cdn-elsewhere";

function demoModelFiles(): Map<string, Uint8Array> {
  const names = ["config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"];
  return new Map(names.map((name) => [name, new Uint8Array(readFileSync(`public/demo/model/${name}`))]));
}

async function waitForDemo(page: Page) {
  await expect.poll(() => page.getByTestId("project-name").textContent(), { timeout: 30_000 }).toContain("Demo");
}

async function openTrain(page: Page) {
  await page.getByTestId("step-train").click();
  await page.getByTestId("hub-download").waitFor();
}

async function annotateWithTerms(page: Page) {
  await page.getByTestId("step-annotate").click();
  await page.getByTestId("annotate-panel").waitFor();
  await page.getByTestId("backend-terms").check();
  await page.getByTestId("terms-Chemical").fill("sertraline\nmethotrexate\natorvastatin\nmorphine");
  await page.getByTestId("start-run").click();
  const row = page.getByTestId("run-list").locator("tbody tr[data-run-id]").first();
  await expect.poll(() => row.getAttribute("data-status"), { timeout: 30_000 }).toBe("done");
}

/** Every request the page or its workers send to the Hub's or its storage's origin. */
function watchRequests(open: OpenBrowser, server: HubServer): string[] {
  const origins = [new URL(server.baseUrl).origin, server.storageOrigin].filter(Boolean);
  const seen: string[] = [];
  open.context.on("request", (request) => {
    if (origins.some((origin) => request.url().startsWith(`${origin}/`))) seen.push(request.url());
  });
  return seen;
}

let open: OpenBrowser | undefined;
let server: HubServer | undefined;
afterEach(async () => {
  await open?.close();
  await server?.close();
  open = server = undefined;
});

describe("a base model from a Hugging Face Hub", () => {
  it("is downloaded once the Hub is allowed in the Privacy panel, and trains", async () => {
    const files = demoModelFiles();
    server = await startHubServer({
      models: { [MODEL_ID]: files, [ELSEWHERE_ID]: files, [STALLED_ID]: files },
      storage: "same-origin",
      stalled: [STALLED_ID],
      storageFor: { [ELSEWHERE_ID]: "other-port" },
    });
    const hubOrigin = new URL(server.baseUrl).origin;
    open = await openApp();
    const { page } = open;
    await waitForDemo(page);

    // Off by default: the field says where to allow it.
    await openTrain(page);
    expect(await page.getByTestId("hub-model-id").isDisabled()).toBe(true);
    expect(await page.getByTestId("hub-not-allowed").textContent()).toMatch(/off\. Allow it in the Privacy panel/);

    // The panel names the hosts before anything is allowed: Hugging Face and its storage, or only the mirror.
    await page.getByTestId("privacy-open").click();
    const hosts = () => page.getByTestId("hub-hosts").locator("code").allTextContents();
    expect(await hosts()).toEqual(expect.arrayContaining(["https://huggingface.co", "https://cas-bridge.xethub.hf.co", "https://cdn-lfs.hf.co"]));
    await page.getByTestId("hub-address").fill(server.baseUrl);
    expect(await hosts()).toEqual([hubOrigin]);
    await Promise.all([page.waitForEvent("load"), page.getByTestId("hub-allow").click()]);
    await waitForDemo(page);
    await page.getByTestId("privacy-open").click();
    expect(await page.getByTestId("hub-allowed").textContent()).toContain(server.baseUrl);
    expect(await page.locator(`[data-testid=destination][data-origin="${hubOrigin}"]`).getAttribute("data-kinds")).toBe("hub");
    expect(await page.getByTestId("policy").textContent()).toContain(hubOrigin);
    await screenshot(page, "hub-privacy");
    await page.getByRole("button", { name: "Close" }).click();
    expect(server.requests, "allowing the Hub sends nothing to it").toEqual([]);

    // Download: the id typed in the Train step; the weights come after the Hub's 302.
    await openTrain(page);
    await page.getByTestId("hub-model-id").fill(MODEL_ID);
    await page.getByTestId("hub-download-start").click();
    const base = page.getByTestId("base-model");
    await expect.poll(async () => (await base.locator("option:checked").textContent()) ?? "", { timeout: 60_000 }).toContain(MODEL_ID);
    expect(await page.getByTestId("hub-error").count()).toBe(0);
    expect(await page.getByTestId("hub-notice").count()).toBe(0);
    expect(server.requests.map((request) => `${request.server} ${request.path}`)).toEqual([
      `hub /${MODEL_ID}/resolve/main/config.json`,
      `hub /${MODEL_ID}/resolve/main/tokenizer.json`,
      `hub /${MODEL_ID}/resolve/main/tokenizer_config.json`,
      `hub /${MODEL_ID}/resolve/main/special_tokens_map.json`,
      `hub /${MODEL_ID}/resolve/main/model.safetensors`,
      "storage /blobs/0",
    ]);
    expect(server.requests.filter((request) => request.referer || request.cookie), "no referrer, no cookie").toEqual([]);
    await screenshot(page, "hub-downloaded");

    // Usable: a short training run from it finishes (on notes annotated by a term list).
    await annotateWithTerms(page);
    await openTrain(page);
    expect(await base.locator("option:checked").textContent()).toContain(MODEL_ID);
    await expect.poll(async () => Number(await page.getByTestId("train-note-count").textContent())).toBeGreaterThan(0);
    await page.getByTestId("hp-max-steps").fill("2");
    await page.getByTestId("start-training").click();
    const run = page.getByTestId("train-runs").locator("tbody tr[data-run-id]").first();
    await expect.poll(() => run.getAttribute("data-status").catch(() => null), { timeout: 150_000 }).toBe("done");

    // A download that stalls half way shows its progress, and Cancel stops it: no error, no model.
    await page.getByTestId("hub-model-id").fill(STALLED_ID);
    await page.getByTestId("hub-download-start").click();
    const progress = page.getByTestId("hub-progress");
    await expect.poll(() => progress.textContent(), { timeout: 30_000 }).toMatch(/model\.safetensors: \d+\.\d MB of \d+\.\d MB/);
    const percent = Number(await progress.getByRole("progressbar").getAttribute("aria-valuenow"));
    expect(percent).toBeGreaterThan(0);
    expect(percent).toBeLessThan(100);
    await page.getByTestId("hub-download-cancel").click();
    await expect.poll(() => progress.count()).toBe(0);
    expect(await page.getByTestId("hub-error").count()).toBe(0);
    expect(await base.locator("option").allTextContents()).not.toContainEqual(expect.stringContaining(STALLED_ID));
    expect(await page.getByTestId("hub-model-id").isEnabled()).toBe(true);

    // A mirror whose weights redirect to a host the policy does not allow: the browser refuses, and the error says why.
    const before = server.requests.length;
    await page.getByTestId("hub-model-id").fill(`${server.baseUrl}${ELSEWHERE_ID}/tree/main`);
    await page.getByTestId("hub-download-start").click();
    const error = page.getByTestId("hub-error");
    await error.waitFor({ timeout: 60_000 });
    expect(await error.textContent()).toMatch(new RegExp(`^${ELSEWHERE_ID}, model\\.safetensors: could not be fetched .*redirected to a host the privacy settings do not allow`));
    expect(server.requests.slice(before).map((request) => request.server)).toEqual(["hub", "hub", "hub", "hub", "hub"]);
    expect(open.errors.filter((message) => !/Content Security Policy|violates|Refused to connect|Failed to load resource|ERR_/.test(message))).toEqual([]);
  });

  it("sends nothing to the Hub while downloads are not allowed, or while offline mode is on", async () => {
    server = await startHubServer({ models: { [MODEL_ID]: demoModelFiles() }, storage: "same-origin" });
    open = await openApp("about:blank");
    const seen = watchRequests(open, server);
    const { page } = open;
    await page.goto(open.baseURL);
    await waitForDemo(page);

    // Not allowed: the field is disabled; forcing the form open and submitting it sends nothing.
    await openTrain(page);
    const tryAnyway = async () => {
      await page.evaluate(() => document.querySelectorAll("[data-testid=hub-download] [disabled]").forEach((element) => element.removeAttribute("disabled")));
      await page.getByTestId("hub-model-id").fill(`${MODEL_ID}`);
      await page.getByTestId("hub-model-id").press("Enter");
      await page.getByTestId("hub-download-start").click();
    };
    await tryAnyway();
    expect(await page.getByTestId("hub-progress").count()).toBe(0);

    // Allowed, then offline mode: only the app's origin is reachable, and the field says so.
    await page.getByTestId("privacy-open").click();
    await page.getByTestId("hub-address").fill(server.baseUrl);
    await Promise.all([page.waitForEvent("load"), page.getByTestId("hub-allow").click()]);
    await waitForDemo(page);
    await page.getByTestId("privacy-open").click();
    await Promise.all([page.waitForEvent("load"), page.getByTestId("offline-mode").click()]);
    await waitForDemo(page);
    await page.getByTestId("privacy-open").click();
    expect(await page.getByTestId("hub-allowed").textContent()).toContain("blocked while offline mode is on");
    expect(await page.getByTestId("destination").evaluateAll((items) => items.map((item) => item.getAttribute("data-origin")))).toEqual([new URL(open.baseURL).origin]);
    await page.getByRole("button", { name: "Close" }).click();
    await openTrain(page);
    expect(await page.getByTestId("hub-not-allowed").textContent()).toMatch(/Offline mode is on/);
    await tryAnyway();
    // Even a request the page itself makes is refused by the policy.
    const directUrl = `${server.baseUrl}${MODEL_ID}/resolve/main/config.json`;
    expect(await page.evaluate((url) => fetch(url).then(() => "sent", () => "refused"), directUrl)).toBe("refused");

    expect(server.requests, "the Hub must hear nothing").toEqual([]);
    expect(seen.filter((url) => url !== directUrl), "nor did the page or a worker try to reach it").toEqual([]);
  });
});
