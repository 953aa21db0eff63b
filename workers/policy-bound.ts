// Every same-origin worker starts from a one-line blob: module that imports the real
// script: same code, same import.meta.url, same name, and the Content-Security-Policy of
// whoever started it.
//
// Why: a dedicated worker loaded from a URL takes its policy from its own HTTP response,
// not from its creator (Chromium, CSP3), and a static host sends none, so such a worker
// could connect anywhere. A worker made from a blob: URL inherits its creator's policy.
// The page (src/ui/csp.ts) binds the workers it starts; each of the app's workers imports
// this module first, so the workers *they* start are bound too: onnxruntime-web's
// WebAssembly threads (Emscripten's `new Worker(new URL(import.meta.url), {name:
// "em-pthread"})`, started by the training and inference workers) would otherwise run
// outside the page's policy (tests/e2e/nested-workers.test.ts shows both).
//
// Only workers made with `new Worker` in a scope that ran this are bound: a SharedWorker,
// a service worker, or code that kept a reference to the native Worker before this ran is
// not (the app starts none of those).

/** Replaces globalThis.Worker (page or worker scope) by one that starts same-origin scripts from a blob: module. */
export function bindWorkersToPolicy(): void {
  const Native = globalThis.Worker;
  if (!Native || (Native as { policyBound?: boolean }).policyBound) return;
  // A page resolves relative script URLs against its base; a worker against its own URL,
  // which for a blob: worker resolves nothing (the native constructor then says why).
  const base = globalThis.document?.baseURI ?? globalThis.location.href;
  class PolicyBoundWorker extends Native {
    static policyBound = true;
    constructor(scriptUrl: string | URL, options?: WorkerOptions) {
      const url = URL.canParse(String(scriptUrl), base) ? new URL(String(scriptUrl), base) : null;
      if (!url || url.origin !== globalThis.location.origin) {
        super(scriptUrl, options);
        return;
      }
      const source = options?.type === "module" ? `import ${JSON.stringify(url.href)};` : `importScripts(${JSON.stringify(url.href)});`;
      const blobUrl = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
      // Not revoked: a few bytes per worker, and no race with the worker's own fetch of it.
      super(blobUrl, options);
    }
  }
  globalThis.Worker = PolicyBoundWorker;
}
