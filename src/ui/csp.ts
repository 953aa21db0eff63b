// The page's Content-Security-Policy, put in place before the app's own code runs:
// index.html loads this module first. The hosts come from the user's settings, so no
// static header can name them; a <meta http-equiv="Content-Security-Policy"> inserted by
// script is enforced by Chromium for every fetch after it (checked: fetch, XHR,
// WebSocket, images).
//
// Workers: a dedicated worker loaded from a URL takes its policy from its own response
// headers, not from the page (Chromium, CSP3), so a worker script served without a CSP
// header could connect anywhere. A worker made from a blob: URL inherits the page's
// policy. So every same-origin worker the page starts is started as a one-line blob:
// module that imports the real script (workers/policy-bound.ts), and every worker of the
// app does the same for the workers it starts (onnxruntime's threads).
import { bindWorkersToPolicy } from "../../workers/policy-bound.ts";
import { connectionPlan, contentSecurityPolicy, planAllows, readModelHosts, readSettings, type ConnectionPlan } from "../core/privacy/policy.ts";

export interface PolicyInForce {
  plan: ConnectionPlan;
  policy: string;
}

function storage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
}

/** The plan the saved settings give now (they may differ from the one in force). */
export function savedPlan(): ConnectionPlan {
  const saved = storage();
  return connectionPlan(location.origin, readModelHosts(saved), readSettings(saved));
}

function applyPolicy(): PolicyInForce {
  const plan = savedPlan();
  const policy = contentSecurityPolicy(plan);
  const meta = document.createElement("meta");
  meta.httpEquiv = "Content-Security-Policy";
  meta.content = policy;
  meta.dataset.source = "privacy";
  document.head.prepend(meta);
  return { plan, policy };
}

export const policyInForce: PolicyInForce = applyPolicy();
bindWorkersToPolicy();

/**
 * Whether this page may connect to `url`. A step that is about to use a new host (a model
 * mirror just typed, an endpoint just consented to) asks this first: when it says no, the
 * host must be saved and the page reloaded before any request can reach it.
 */
export function policyAllows(url: string): boolean {
  return planAllows(policyInForce.plan, url);
}
