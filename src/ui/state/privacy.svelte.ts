// What the Privacy panel shows and does: which hosts the app may contact and why (the
// policy in force since this page loaded, src/ui/csp.ts), offline mode, the on-premise
// endpoint the user allowed, what the browser blocked, and wiping everything.
//
// Every change is saved and then the page reloads: a Content-Security-Policy cannot be
// loosened while a page runs, so a new host is reachable only from the next load. The
// wipe also runs on a fresh load, when no worker or database connection is open that
// could block a deletion or write into a database just deleted.
import { normalizeBaseUrl } from "../../core/annotate/models.ts";
import {
  HUGGING_FACE,
  hubOrigins,
  PRIVACY_KEY,
  readSettings,
  samePlan,
  type ConnectionPlan,
  type PrivacySettings,
} from "../../core/privacy/policy.ts";
import { browserTargets, listStored, wipeEverything, type StoredThings, type WipeReport } from "../../core/store/wipe.ts";
import { policyInForce, savedPlan } from "../csp.ts";

/** Set in sessionStorage (this tab only) by the confirmed button; read on the next load. */
const WIPE_REQUEST_KEY = "privacy:wipe-requested";
const WIPE_REQUEST_MAX_AGE_MS = 60_000;

export interface BlockedRequest {
  url: string;
  directive: string;
}

function local(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
}

function session(): Storage | undefined {
  try {
    return globalThis.sessionStorage;
  } catch {
    return undefined;
  }
}

/**
 * Saves `baseUrl` as the allowed endpoint; it is in the policy from the next load. For a
 * step that takes the user's consent itself (Annotate): save, then reload.
 */
export function allowEndpointForNextLoad(baseUrl: string): void {
  const endpoint = normalizeBaseUrl(baseUrl, "endpoint address");
  local()?.setItem(PRIVACY_KEY, JSON.stringify({ ...readSettings(local()), endpoint }));
}

/** True once per confirmed wipe: the request is consumed by reading it. */
function takeWipeRequest(): boolean {
  const store = session();
  const requestedAt = Number(store?.getItem(WIPE_REQUEST_KEY));
  store?.removeItem(WIPE_REQUEST_KEY);
  return Number.isFinite(requestedAt) && requestedAt > 0 && Date.now() - requestedAt < WIPE_REQUEST_MAX_AGE_MS;
}

export class PrivacyState {
  open = $state(false);
  /** The plan the page runs under; fixed for the page's life. */
  readonly inForce: ConnectionPlan = policyInForce.plan;
  readonly policy: string = policyInForce.policy;
  settings = $state<PrivacySettings>(readSettings(local()));
  /** The plan the saved settings (including the annotate step's model hosts) give now. */
  saved = $state.raw<ConnectionPlan>(policyInForce.plan);
  endpointDraft = $state("");
  /** The Hub address being typed; Hugging Face until the user names a mirror. */
  hubDraft = $state(HUGGING_FACE);
  blocked = $state.raw<BlockedRequest[]>([]);
  /** The last refused connection, until dismissed: a user who just typed a new host learns why it fails. */
  lastBlocked = $state.raw<BlockedRequest | null>(null);
  error = $state<string | null>(null);

  /** This load was asked to wipe: the app must not open its database. */
  readonly wiping: boolean = takeWipeRequest();
  confirmingWipe = $state(false);
  wipeReport = $state.raw<WipeReport | null>(null);
  stored = $state.raw<StoredThings | null>(null);

  needsReload = $derived(!samePlan(this.inForce, this.saved));

  constructor(private readonly reload: () => void = () => location.reload()) {
    this.endpointDraft = this.settings.endpoint ?? "";
    this.hubDraft = this.settings.hub ?? HUGGING_FACE;
    // Violations in the page; a worker's are reported in the worker (and in the console).
    document.addEventListener("securitypolicyviolation", (event) => {
      const blocked = { url: event.blockedURI, directive: event.effectiveDirective };
      this.lastBlocked = blocked;
      if (this.blocked.length < 50) this.blocked = [...this.blocked, blocked];
    });
  }

  show(): void {
    this.refresh();
    this.lastBlocked = null;
    this.open = true;
  }

  /** Opens the panel ready to allow the server a refused request went to. */
  showForBlocked(): void {
    const url = this.lastBlocked?.url;
    this.show();
    if (url && /^https?:/.test(url) && !this.settings.endpoint) this.endpointDraft = new URL(url).origin;
  }

  hide(): void {
    this.open = false;
    this.confirmingWipe = false;
  }

  /** Re-reads the saved settings: the annotate step may have saved new model hosts. */
  refresh(): void {
    this.settings = readSettings(local());
    this.saved = savedPlan();
  }

  private save(settings: PrivacySettings): void {
    try {
      local()?.setItem(PRIVACY_KEY, JSON.stringify(settings));
    } catch (error) {
      this.error = `The setting could not be saved (${error instanceof Error ? error.message : String(error)}), so it would not survive the reload.`;
      return;
    }
    this.reload();
  }

  setOffline(offline: boolean): void {
    this.save({ ...$state.snapshot(this.settings), offline });
  }

  allowEndpoint(): void {
    let endpoint: string;
    try {
      endpoint = normalizeBaseUrl(this.endpointDraft, "endpoint address");
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
      return;
    }
    this.error = null;
    this.save({ ...$state.snapshot(this.settings), endpoint });
  }

  removeEndpoint(): void {
    this.save({ ...$state.snapshot(this.settings), endpoint: null });
  }

  /** The hosts a download from `hubAddress` would contact; empty while the address is not a URL. */
  hubHosts(hubAddress: string): string[] {
    try {
      return hubOrigins(hubAddress);
    } catch {
      return [];
    }
  }

  /** Allows public model downloads from the Hub address typed (the page reloads). */
  allowHub(): void {
    let hub: string;
    try {
      hub = normalizeBaseUrl(this.hubDraft, "Hub address");
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
      return;
    }
    this.error = null;
    this.save({ ...$state.snapshot(this.settings), hub });
  }

  removeHub(): void {
    const { hub: _removed, ...rest } = $state.snapshot(this.settings);
    this.save(rest);
  }

  applySaved(): void {
    this.reload();
  }

  /** After the user confirmed: reload, and wipe on the fresh page before anything opens. */
  requestWipe(): void {
    try {
      session()?.setItem(WIPE_REQUEST_KEY, String(Date.now()));
    } catch (error) {
      this.error = `Could not start the wipe (${error instanceof Error ? error.message : String(error)}).`;
      return;
    }
    this.reload();
  }

  async wipe(): Promise<void> {
    try {
      this.wipeReport = await wipeEverything(browserTargets());
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
      this.stored = await listStored(browserTargets()).catch(() => null);
    }
  }

  /** Opens the app again, which starts with the demo project only. */
  startAgain(): void {
    this.reload();
  }
}
