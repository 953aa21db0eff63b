// Where the app may connect, and the Content-Security-Policy that makes the browser hold it
// to that. Pure: the page builds the policy at start-up (src/ui/csp.ts) from the settings
// saved in localStorage, and the Privacy panel lists the same destinations with the reason
// for each.
//
// The list is short on purpose: the app's own origin (the app, its demo files, its
// workers), the two hosts the user configured for WebLLM's files (weights, compiled model
// libraries), and an on-premise endpoint only once the user allowed it. Offline mode
// leaves the app's own origin alone. A host the user changes takes effect at the next
// page load: a CSP can be tightened while a page runs but never loosened.

import { normalizeBaseUrl, PUBLIC_HOSTS, type ModelHosts } from "../annotate/models.ts";

/** What the Privacy panel saves (localStorage, PRIVACY_KEY). */
export interface PrivacySettings {
  /** Only the app's own origin: no model download, no endpoint. */
  offline: boolean;
  /** Base URL of an on-premise OpenAI-compatible endpoint the user allowed; null when none. */
  endpoint: string | null;
}

export const DEFAULT_SETTINGS: PrivacySettings = { offline: false, endpoint: null };

/** localStorage keys: ours, and the one the annotate step saves the model hosts under. */
export const PRIVACY_KEY = "privacy:settings";
export const MODEL_HOSTS_KEY = "annotate:model-hosts";

export type DestinationKind = "app" | "weights" | "libs" | "endpoint";

export interface Destination {
  origin: string;
  kinds: DestinationKind[];
  /** Why the app may contact it, in words. */
  reasons: string[];
}

/** A configured address that is not an absolute http(s) URL: left out of the policy, and said so. */
export interface RejectedAddress {
  kind: DestinationKind;
  value: string;
  problem: string;
}

export interface ConnectionPlan {
  destinations: Destination[];
  rejected: RejectedAddress[];
  offline: boolean;
}

/** The part of Storage we read; a test passes a Map-backed one. */
export interface KeyValueStore {
  getItem(key: string): string | null;
}

function readObject(store: KeyValueStore | undefined, key: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(store?.getItem(key) ?? "null");
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The saved settings; anything unreadable falls back to the defaults (online, no endpoint). */
export function readSettings(store: KeyValueStore | undefined): PrivacySettings {
  const saved = readObject(store, PRIVACY_KEY);
  return {
    offline: saved?.offline === true,
    endpoint: typeof saved?.endpoint === "string" && saved.endpoint.trim() ? saved.endpoint.trim() : null,
  };
}

/** The model hosts the annotate step saved, over WebLLM's public defaults (as annotate reads them). */
export function readModelHosts(store: KeyValueStore | undefined): ModelHosts {
  const saved = readObject(store, MODEL_HOSTS_KEY);
  return {
    weightsBaseUrl: typeof saved?.weightsBaseUrl === "string" ? saved.weightsBaseUrl : PUBLIC_HOSTS.weightsBaseUrl,
    libsBaseUrl: typeof saved?.libsBaseUrl === "string" ? saved.libsBaseUrl : PUBLIC_HOSTS.libsBaseUrl,
  };
}

const REASONS: Record<DestinationKind, string> = {
  app: "this app: its pages, scripts, workers and demo files",
  weights: "local model weights (WebLLM), downloaded once and kept in this browser's cache",
  libs: "local model libraries (WebLLM's compiled .wasm), downloaded once and cached",
  endpoint: "your on-premise model server: note text is sent there, and only for runs you consent to",
};

/** The origins the app may reach, each with its reasons; the app's own origin first. */
export function connectionPlan(appOrigin: string, hosts: ModelHosts, settings: PrivacySettings): ConnectionPlan {
  const destinations: Destination[] = [];
  const rejected: RejectedAddress[] = [];
  const add = (origin: string, kind: DestinationKind) => {
    const found = destinations.find((destination) => destination.origin === origin);
    if (found) {
      found.kinds.push(kind);
      found.reasons.push(REASONS[kind]);
    } else destinations.push({ origin, kinds: [kind], reasons: [REASONS[kind]] });
  };
  add(new URL(appOrigin).origin, "app");
  if (!settings.offline) {
    const configured: [DestinationKind, string, string][] = [
      ["weights", hosts.weightsBaseUrl, "weights address"],
      ["libs", hosts.libsBaseUrl, "model library address"],
    ];
    if (settings.endpoint !== null) configured.push(["endpoint", settings.endpoint, "endpoint address"]);
    for (const [kind, value, what] of configured) {
      try {
        add(new URL(normalizeBaseUrl(value, what)).origin, kind);
      } catch (error) {
        rejected.push({ kind, value, problem: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  return { destinations, rejected, offline: settings.offline };
}

/**
 * The policy text. `connect-src` is the one that matters for egress (fetch, XHR,
 * WebSocket, EventSource, sendBeacon); the rest keeps every other way out (images, fonts,
 * frames, forms, plugins) on the app's own origin. 'wasm-unsafe-eval' lets WebAssembly
 * compile (onnxruntime-web, WebLLM) without allowing eval. blob: workers are how the page
 * hands this policy to its workers (src/ui/csp.ts). Inline styles stay allowed: Svelte
 * and Vite's dev server set them, and a style cannot send anything when img-src and
 * font-src are closed. 'self' also covers ws(s) to the same host, which Vite's dev server
 * uses for hot reload.
 */
export function contentSecurityPolicy(plan: ConnectionPlan): string {
  const outside = plan.destinations.filter((destination) => !destination.kinds.includes("app")).map((destination) => destination.origin);
  const directives: [string, ...string[]][] = [
    ["default-src", "'self'"],
    ["script-src", "'self'", "'wasm-unsafe-eval'"],
    ["style-src", "'self'", "'unsafe-inline'"],
    ["img-src", "'self'", "data:", "blob:"],
    ["font-src", "'self'"],
    ["media-src", "'self'"],
    ["connect-src", "'self'", "data:", "blob:", ...outside],
    ["worker-src", "'self'", "blob:"],
    ["frame-src", "'none'"],
    ["object-src", "'none'"],
    ["base-uri", "'self'"],
    ["form-action", "'none'"],
  ];
  return directives.map((parts) => parts.join(" ")).join("; ");
}

/** Whether a URL is on one of the plan's origins (what the policy's connect-src lets through). */
export function planAllows(plan: ConnectionPlan, url: string): boolean {
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    return false;
  }
  return plan.destinations.some((destination) => destination.origin === origin);
}

/** The same plan with the same destinations: nothing to reload for. */
export function samePlan(a: ConnectionPlan, b: ConnectionPlan): boolean {
  const key = (plan: ConnectionPlan) =>
    JSON.stringify([plan.offline, plan.destinations.map((destination) => [destination.origin, [...destination.kinds].sort()])]);
  return key(a) === key(b);
}
