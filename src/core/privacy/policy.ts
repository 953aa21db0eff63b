// Where the app may connect, and the Content-Security-Policy that makes the browser hold it
// to that. Pure: the page builds the policy at start-up (src/ui/csp.ts) from the settings
// saved in localStorage, and the Privacy panel lists the same destinations with the reason
// for each.
//
// The list is short on purpose: the app's own origin (the app, its demo files, its
// workers), the two hosts the user configured for WebLLM's files (weights, compiled model
// libraries), an on-premise endpoint only once the user allowed it, and a Hugging Face Hub
// (or a hospital's mirror of one) only once the user allowed model downloads from it.
// Offline mode leaves the app's own origin alone. A host the user changes takes effect at the next
// page load: a CSP can be tightened while a page runs but never loosened.

import { normalizeBaseUrl, PUBLIC_HOSTS, type ModelHosts } from "../annotate/models.ts";

/** What the Privacy panel saves (localStorage, PRIVACY_KEY). */
export interface PrivacySettings {
  /** Only the app's own origin: no model download, no endpoint. */
  offline: boolean;
  /** Base URL of an on-premise OpenAI-compatible endpoint the user allowed; null when none. */
  endpoint: string | null;
  /** Base URL of the Hub the Train step may download public models from; absent when not allowed. */
  hub?: string;
}

export const DEFAULT_SETTINGS: PrivacySettings = { offline: false, endpoint: null };

/** localStorage keys: ours, and the one the annotate step saves the model hosts under. */
export const PRIVACY_KEY = "privacy:settings";
export const MODEL_HOSTS_KEY = "annotate:model-hosts";

export type DestinationKind = "app" | "weights" | "libs" | "endpoint" | "hub" | "hub-storage";

/** Hugging Face itself: the address the privacy panel offers first for model downloads. */
export const HUGGING_FACE = "https://huggingface.co/";

/**
 * Where huggingface.co sends a browser that asks for a large file: `resolve` answers with a
 * 302 to one of these (LFS CDNs under both domains, the Xet bridge, the CDN edges), and a
 * Content-Security-Policy checks every hop of a redirect. Small files (config.json) come
 * from huggingface.co itself. Hugging Face's own list (2025-26 docs, /.well-known/meta.json);
 * names only, no wildcard, so the panel can show exactly what is contacted. A mirror gets none
 * of these: its files must come from its own origin.
 */
export const HUGGING_FACE_STORAGE: readonly string[] = [
  "https://cdn-lfs.hf.co",
  "https://cdn-lfs-us-1.hf.co",
  "https://cdn-lfs-eu-1.hf.co",
  "https://cdn-lfs.huggingface.co",
  "https://cdn-lfs-us-1.huggingface.co",
  "https://cdn-lfs-eu-1.huggingface.co",
  "https://cas-bridge.xethub.hf.co",
  "https://us.aws.cdn.hf.co",
  "https://us.gcp.cdn.hf.co",
];

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
  /** The Hub base URL model downloads may use (normalized, ends in "/"); null when not allowed or offline. */
  hub: string | null;
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
  const hub = typeof saved?.hub === "string" && saved.hub.trim() ? saved.hub.trim() : null;
  return {
    offline: saved?.offline === true,
    endpoint: typeof saved?.endpoint === "string" && saved.endpoint.trim() ? saved.endpoint.trim() : null,
    ...(hub ? { hub } : {}),
  };
}

/** The origins a model download from this Hub contacts: the Hub's, then (Hugging Face only) its file storage. */
export function hubOrigins(hubBaseUrl: string): string[] {
  const origin = new URL(normalizeBaseUrl(hubBaseUrl, "Hub address")).origin;
  return origin === new URL(HUGGING_FACE).origin ? [origin, ...HUGGING_FACE_STORAGE] : [origin];
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
  hub: "public model downloads (Train step, From Hugging Face): only a model id and file names are sent, never a note",
  "hub-storage": "Hugging Face's file storage: the Hub redirects each large model file here",
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
  let hub: string | null = null;
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
    if (settings.hub !== undefined) {
      try {
        const [origin, ...storage] = hubOrigins(settings.hub);
        hub = normalizeBaseUrl(settings.hub, "Hub address");
        add(origin, "hub");
        for (const host of storage) add(host, "hub-storage");
      } catch (error) {
        rejected.push({ kind: "hub", value: settings.hub, problem: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  return { destinations, rejected, offline: settings.offline, hub };
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
    JSON.stringify([plan.offline, plan.hub, plan.destinations.map((destination) => [destination.origin, [...destination.kinds].sort()])]);
  return key(a) === key(b);
}
