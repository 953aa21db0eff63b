// Proof of egress: every request the page and its workers make during a day's work on the
// demo (drop notes in, annotate them with an on-premise server the user allowed and
// consented to, export annotations and the project) goes to the app's own origin, except
// the chat completions to that server; no other request carries any piece of any note.
// And the Content-Security-Policy refuses everything else, for the page and its workers.
import { readFileSync } from "node:fs";
import type { Page, Request } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { dropFiles, openApp, screenshot, type OpenBrowser } from "./browser.ts";
import { startTracker, type Tracker } from "./fixtures/tracker.ts";
import { startFakeLlmServer, type FakeLlmServer } from "./fixtures/openai-server.ts";

const demo = (file: string) =>
  readFileSync(`public/demo/${file}`, "utf8").trim().split("\n").map((line) => (JSON.parse(line) as { text: string }).text);

/** Notes a user drops in: their text must go nowhere but the consented server. */
const DROPPED = [
  { name: "ward7-001.txt", content: "Mrs Tanaka, 81, admitted with community-acquired pneumonia; started ceftriaxone 2 g daily." },
  { name: "ward7-002.txt", content: "Known atrial fibrillation on apixaban. New onset confusion overnight, CT head unremarkable." },
  { name: "ward7-003.txt", content: "Discharge: metformin restarted, eGFR 54. Follow-up with Dr Okafor in the diabetes clinic." },
];
const NOTES = [...demo("notes-pool.jsonl"), ...demo("notes-gold.jsonl"), ...DROPPED.map((file) => file.content)];
const WINDOW = 12;

const LEXICON = { pneumonia: "Disease", ceftriaxone: "Chemical", apixaban: "Chemical", metformin: "Chemical", myalgia: "Disease" };

interface Seen {
  url: string;
  method: string;
  body: string;
  from: string;
}

/** Every 12-character window of every note: a text holding any 12+ character piece of a note holds one of these. */
const windows = new Set(NOTES.flatMap((note) => Array.from({ length: Math.max(0, note.length - WINDOW + 1) }, (_, i) => note.slice(i, i + WINDOW))));

/** The text and the forms an encoder would give it (URL, JSON escapes), so an encoded note is still found. */
function readings(text: string): string[] {
  const forms = [text];
  try {
    forms.push(decodeURIComponent(text.replace(/\+/g, " ")));
  } catch {
    // Not URL-encoded.
  }
  forms.push(text.replace(/\\n/g, "\n").replace(/\\r/g, "\r").replace(/\\t/g, "\t").replace(/\\"/g, '"').replace(/\\u([0-9a-f]{4})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))));
  return forms;
}

function notePieceIn(text: string): string | null {
  for (const form of readings(text)) {
    for (let i = 0; i + WINDOW <= form.length; i++) {
      if (windows.has(form.slice(i, i + WINDOW))) return form.slice(i, i + WINDOW);
    }
  }
  return null;
}

async function record(open: OpenBrowser): Promise<Seen[]> {
  const seen: Seen[] = [];
  // Routing everything as well: a request Playwright routes but does not report still counts.
  await open.context.route("**/*", async (route) => {
    add(route.request(), "route");
    await route.continue();
  });
  function add(request: Request, from: string) {
    const buffer = request.postDataBuffer();
    seen.push({ url: request.url(), method: request.method(), body: buffer ? buffer.toString("utf8") : "", from });
  }
  // Requests of the page and of its dedicated workers (Playwright reports both here).
  open.context.on("request", (request) => {
    add(request, "event");
  });
  open.context.on("page", (page) => page.on("websocket", (socket) => seen.push({ url: socket.url(), method: "WS", body: "", from: "websocket" })));
  open.page.on("websocket", (socket) => seen.push({ url: socket.url(), method: "WS", body: "", from: "websocket" }));
  return seen;
}


async function waitForDemo(page: Page) {
  await expect.poll(() => page.getByTestId("project-name").textContent(), { timeout: 30_000 }).toContain("Demo");
}

/** Allows the server in the Privacy panel; the page reloads under the new policy. */
async function allowEndpoint(page: Page, baseUrl: string) {
  await page.getByTestId("privacy-open").click();
  await page.getByTestId("endpoint-address").fill(baseUrl);
  await Promise.all([page.waitForEvent("load"), page.getByTestId("endpoint-allow").click()]);
  await waitForDemo(page);
}

/** Asks WebLLM's worker to load the chosen model (the stand-in hosts have none: it fails). */
async function loadModel(page: Page) {
  await page.getByTestId("step-annotate").click();
  // The build is known once WebLLM's catalogue and the GPU check are in.
  await page.getByTestId("model-build").waitFor({ timeout: 30_000 });
  await page.getByTestId("load-model").click();
  await page.getByTestId("annotate-error").waitFor({ timeout: 60_000 });
}

async function chooseServer(page: Page, url: string) {
  await page.getByTestId("step-annotate").click();
  await page.getByTestId("annotate-panel").waitFor();
  await page.getByTestId("backend-endpoint").check();
  await page.getByTestId("endpoint-enabled").check();
  await page.getByTestId("endpoint-url").fill(url);
  await page.getByTestId("endpoint-model").fill("lexicon-7b");
}

async function importDropped(page: Page) {
  await page.getByTestId("step-notes").click();
  await dropFiles(page, "[data-testid=dropzone]", DROPPED);
  await page.getByTestId("import-report").waitFor({ timeout: 60_000 });
  expect(await page.getByTestId("notes-added").textContent()).toBe(String(DROPPED.length));
}

async function exportEverything(page: Page, origin: string) {
  await page.getByTestId("step-export").click();
  await page.getByLabel("Origin").selectOption(origin);
  const [annotations] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-annotations").click()]);
  const [project] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-project").click()]);
  return [annotations.suggestedFilename(), project.suggestedFilename()];
}

/**
 * Train and Evaluate are being built (ProjectView): when their steps are there and a base
 * model is available, three training steps and an evaluation run here, so their requests
 * (the training and inference workers' included) are recorded too. Says what it did.
 */
async function trainAndEvaluateIfPresent(page: Page): Promise<string> {
  if ((await page.getByTestId("step-train").count()) === 0) return "Train: no such step yet";
  await page.getByTestId("step-train").click();
  await page.getByTestId("train-panel").waitFor();
  const start = page.getByTestId("start-training");
  const startable = await expect
    .poll(async () => (await start.count()) > 0 && (await start.isEnabled()), { timeout: 15_000 })
    .toBe(true)
    .then(() => true, () => false);
  if (!startable) return `Train: present but not startable here (${(await page.getByTestId("train-panel").textContent())?.slice(0, 200)})`;
  await page.getByTestId("hp-max-steps").fill("3");
  await start.click();
  const run = page.getByTestId("train-runs").locator("tbody tr[data-run-id]").first();
  const trained = await expect
    .poll(() => run.getAttribute("data-status").catch(() => null), { timeout: 150_000 })
    .toMatch(/done|failed|cancelled/)
    .then(async () => `Train: ${await run.getAttribute("data-status")}`, () => "Train: not finished within 150 s");
  if ((await page.getByTestId("step-evaluate").count()) === 0) return `${trained}; no Evaluate step`;
  await page.getByTestId("step-evaluate").click();
  const evaluate = page.getByTestId("run-evaluation");
  await evaluate.waitFor({ timeout: 15_000 });
  if (!(await evaluate.isEnabled())) return `${trained}; Evaluate: nothing to evaluate`;
  await evaluate.click();
  const evaluated = await expect
    .poll(async () => (await page.getByTestId("evaluate-scores").count()) + (await page.getByTestId("evaluate-error").count()), { timeout: 150_000 })
    .toBeGreaterThan(0)
    .then(async () => ((await page.getByTestId("evaluate-scores").count()) > 0 ? "Evaluate: scores shown" : `Evaluate: ${await page.getByTestId("evaluate-error").textContent()}`), () => "Evaluate: no result within 150 s");
  return `${trained}; ${evaluated}`;
}

let open: OpenBrowser | undefined;
let server: FakeLlmServer | undefined;
let tracker: Tracker | undefined;
let mirror: Tracker | undefined;
afterEach(async () => {
  await open?.close();
  await server?.close();
  await tracker?.close();
  await mirror?.close();
  open = server = tracker = mirror = undefined;
});

describe("what leaves the browser", () => {
  it("sends notes only to the consented server, and nothing anywhere else but the app's origin", async () => {
    server = await startFakeLlmServer(LEXICON, ["Chemical", "Disease"]);
    // Recording starts before the app's first load: a blank page first.
    open = await openApp("about:blank");
    const { page } = open;
    const seen = await record(open);
    await page.goto(open.baseURL);
    const appOrigin = new URL(open.baseURL).origin;
    await waitForDemo(page);

    await importDropped(page);
    await allowEndpoint(page, server.baseUrl);
    // The count is read after the reload that let the server in.
    await expect.poll(() => page.getByTestId("note-count").textContent()).toBe(`${16 + DROPPED.length} notes`);
    await chooseServer(page, server.baseUrl);
    await page.getByTestId("consent-checkbox").check();
    await page.getByTestId("start-run").click();
    const total = Number(await page.getByTestId("notes-total").textContent());
    await expect.poll(() => page.getByTestId("notes-done").textContent(), { timeout: 60_000 }).toBe(String(total));
    expect(await page.getByTestId("failed-count").textContent()).toBe("0");
    const files = await exportEverything(page, "llm");
    expect(files[0]).toMatch(/\.jsonl$/);
    console.log(await trainAndEvaluateIfPresent(page));
    await screenshot(page, "egress-workflow");

    const endpointOrigin = new URL(server.baseUrl).origin;
    const outside = seen.filter((request) => !request.url.startsWith(`${appOrigin}/`) && !/^(blob|data):/.test(request.url));
    expect(outside.map((request) => request.url).filter((url) => !url.startsWith(`${endpointOrigin}/`)), "requests to anywhere but the app and the consented server").toEqual([]);
    expect(new Set(outside.map((request) => `${request.method} ${new URL(request.url).pathname}`))).toEqual(new Set(["POST /v1/chat/completions"]));
    expect(seen.filter((request) => request.method === "WS")).toEqual([]);

    // No request but those to the consented server carries a piece of a note, in its URL or its body.
    const leaks = seen
      .filter((request) => !request.url.startsWith(`${endpointOrigin}/`))
      .flatMap((request) => {
        const piece = notePieceIn(request.url) ?? notePieceIn(request.body);
        return piece ? [`${request.method} ${request.url} (${request.from}) holds "${piece}"`] : [];
      });
    expect(leaks).toEqual([]);
    // The check finds notes where they are: in what the consented server received.
    const completions = seen.filter((request) => request.url.startsWith(`${endpointOrigin}/`) && request.method === "POST" && request.from === "event");
    expect(completions.length).toBe(server.notes().length);
    expect(completions.every((request) => notePieceIn(request.body) !== null)).toBe(true);
    // The server got the pool notes (the demo's and the dropped ones), never a gold note.
    expect(server.notes()).toHaveLength(total);
    expect(server.notes()).toEqual(expect.arrayContaining(DROPPED.map((file) => file.content)));
    expect(seen.length).toBeGreaterThan(10);
    console.log(`${seen.length / 2} requests (each seen by the request event and the route): ${(seen.length - outside.length) / 2} to ${appOrigin}, ${outside.length / 2} to the consented server`);
    const urls = (from: string) => seen.filter((request) => request.from === from).map((request) => `${request.method} ${request.url}`).sort();
    expect(urls("event")).toEqual(urls("route"));
    expect(open.errors).toEqual([]);
  });

  it("sends nothing to an allowed server before consent, with the rest of the work done by term lists", async () => {
    server = await startFakeLlmServer(LEXICON, ["Chemical", "Disease"]);
    // Recording starts before the app's first load: a blank page first.
    open = await openApp("about:blank");
    const { page } = open;
    const seen = await record(open);
    await page.goto(open.baseURL);
    await waitForDemo(page);
    await importDropped(page);
    await allowEndpoint(page, server.baseUrl);
    await chooseServer(page, server.baseUrl);
    expect(await page.getByTestId("consent-checkbox").isChecked()).toBe(false);
    expect(await page.getByTestId("start-run").isDisabled()).toBe(true);

    await page.getByTestId("backend-terms").check();
    await page.getByTestId("terms-Chemical").fill("ceftriaxone\napixaban");
    await page.getByTestId("start-run").click();
    const row = page.getByTestId("run-list").locator("tbody tr[data-run-id]").first();
    await expect.poll(() => row.getAttribute("data-status"), { timeout: 30_000 }).toBe("done");
    await exportEverything(page, "llm");
    await page.waitForTimeout(500);

    expect(server.requests, "the server must hear nothing without consent").toEqual([]);
    expect(seen.filter((request) => request.url.startsWith(new URL(server!.baseUrl).origin))).toEqual([]);
    const appOrigin = new URL(open.baseURL).origin;
    expect(seen.filter((request) => !request.url.startsWith(`${appOrigin}/`) && !/^(blob|data):/.test(request.url))).toEqual([]);
    expect(open.errors).toEqual([]);
  });

  it("refuses every other address, from the page and from its workers, and offline mode refuses the model hosts too", async () => {
    tracker = await startTracker();
    mirror = await startTracker();
    open = await openApp();
    const { page, context } = open;
    await waitForDemo(page);
    const appOrigin = new URL(open.baseURL).origin;
    // A same-origin worker script served without any CSP header of its own.
    const probe = `${appOrigin}/csp-probe.worker.js`;
    const targets = { tracker: `${tracker.url}/from-worker`, mirror: `${mirror.url}/mirror/from-worker` };
    await context.route(probe, (route) =>
      route.fulfill({
        contentType: "text/javascript",
        body: `const tries = {};
for (const [name, url] of Object.entries(${JSON.stringify(targets)})) {
  try { tries[name] = (await fetch(url)).type; } catch (error) { tries[name] = "refused"; }
}
postMessage(tries);`,
      }),
    );

    const attempts = (trackerUrl: string, probeUrl: string) =>
      page.evaluate(
        async ({ trackerUrl, probeUrl }) => {
          const result: Record<string, unknown> = {};
          const settle = (promise: Promise<unknown>) => promise.then(() => "sent", () => "refused");
          result.fetch = await settle(fetch(`${trackerUrl}/fetch`));
          // sendBeacon answers "queued" before the policy is checked: the tracker's hits tell.
          navigator.sendBeacon(`${trackerUrl}/beacon`, "x");
          result.xhr = await new Promise((resolve) => {
            const xhr = new XMLHttpRequest();
            xhr.open("POST", `${trackerUrl}/xhr`);
            xhr.onload = () => resolve("sent");
            xhr.onerror = () => resolve("refused");
            xhr.send("x");
          });
          result.socket = await new Promise((resolve) => {
            try {
              const socket = new WebSocket(`${trackerUrl.replace("http", "ws")}/socket`);
              socket.onopen = () => resolve("sent");
              socket.onerror = () => resolve("refused");
            } catch {
              resolve("refused");
            }
          });
          result.image = await new Promise((resolve) => {
            const image = new Image();
            image.onload = () => resolve("sent");
            image.onerror = () => resolve("refused");
            image.src = `${trackerUrl}/pixel.gif`;
          });
          result.worker = await new Promise((resolve) => {
            const worker = new Worker(probeUrl, { type: "module" });
            worker.onmessage = (event) => resolve(event.data);
            worker.onerror = (event) => resolve(`worker error ${event.message}`);
          });
          await new Promise((resolve) => setTimeout(resolve, 300));
          return result;
        },
        { trackerUrl, probeUrl },
      );
    const refusedAll = { fetch: "refused", xhr: "refused", socket: "refused", image: "refused" };

    // The default hosts: the mirror is not one of them yet.
    expect(await attempts(tracker.url, probe)).toEqual({ ...refusedAll, worker: { tracker: "refused", mirror: "refused" } });
    expect(mirror.hits).toEqual([]);

    // The user points the model hosts at the hospital's mirror; the page reloads to apply the new policy.
    await page.getByTestId("step-annotate").click();
    await page.getByText("Where the model files come from").click();
    await page.getByTestId("weights-host").fill(`${mirror.url}/mirror/`);
    await page.getByTestId("libs-host").fill(`${mirror.url}/libs/`);
    await Promise.all([page.waitForEvent("load"), page.getByRole("button", { name: "Use these addresses" }).click()]);
    await waitForDemo(page);

    expect(await attempts(tracker.url, probe)).toEqual({ ...refusedAll, worker: { tracker: "refused", mirror: "cors" } });
    expect(mirror.hits).toEqual(["GET /mirror/from-worker"]);
    expect(tracker.hits, "the tracker must hear nothing").toEqual([]);
    // WebLLM's own worker (started through the same policy-bound path) reaches the mirror.
    await loadModel(page);
    const modelFiles = mirror.hits.filter((hit) => /^GET \/mirror\/[^/]+\/resolve\/main\//.test(hit));
    expect(modelFiles.length).toBeGreaterThan(0);

    // The panel lists exactly what the policy allows, with the reasons.
    await page.getByTestId("privacy-open").click();
    const listed = page.getByTestId("destination");
    expect(await listed.evaluateAll((items) => items.map((item) => [item.getAttribute("data-origin"), item.getAttribute("data-kinds")]))).toEqual([
      [appOrigin, "app"],
      [mirror.url, "weights libs"],
    ]);
    expect(await page.getByTestId("policy").textContent()).toContain(`connect-src 'self' data: blob: ${mirror.url};`);
    expect(await page.getByTestId("needs-reload").count()).toBe(0);
    await screenshot(page, "privacy-panel");

    // Offline: only the app's origin; the mirror is refused too, from the page and from workers.
    await Promise.all([page.waitForEvent("load"), page.getByTestId("offline-mode").click()]);
    await waitForDemo(page);
    expect(await page.getByTestId("privacy-open").textContent()).toContain("offline");
    expect(await attempts(mirror.url, probe)).toEqual({ ...refusedAll, worker: { tracker: "refused", mirror: "refused" } });
    const hitsOnline = mirror.hits.length;
    await loadModel(page);
    expect(mirror.hits.length, "offline: WebLLM's worker must not reach the mirror").toBe(hitsOnline);
    await page.getByTestId("privacy-open").click();
    expect(await listed.evaluateAll((items) => items.map((item) => item.getAttribute("data-origin")))).toEqual([appOrigin]);
    expect(await page.getByTestId("offline-on").count()).toBe(1);
    await screenshot(page, "privacy-offline");
    expect(mirror.hits).toHaveLength(hitsOnline);
    expect(tracker.hits).toEqual([]);
    // The app still works offline: the demo's notes are there.
    await page.getByRole("button", { name: "Close" }).click();
    await page.getByTestId("step-notes").click();
    await expect.poll(() => page.getByTestId("note-count").textContent()).toBe("16 notes");
    // What was refused is refused loudly (CSP reports), and nothing else went wrong.
    expect(open.errors.filter((error) => !/Content Security Policy|violates|Refused to connect|Failed to load resource|ERR_/.test(error))).toEqual([]);
  });
});
