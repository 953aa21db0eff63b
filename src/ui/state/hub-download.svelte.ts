// The Train step's "From Hugging Face" field: a model id or URL, downloaded by the training
// worker (so the page stays responsive) into the store, with progress and cancel. Only
// when the policy this page runs under allows the Hub; otherwise the field says where to
// allow it (the Privacy panel, which reloads the page with the new policy).
import type { ConnectionPlan } from "../../core/privacy/policy.ts";
import { DEFAULT_DATABASE_NAME } from "../../core/store/index.ts";
import type { DownloadModelCall, HubProgress, StoredModelReply } from "../../../workers/train-api.ts";
import { policyInForce } from "../csp.ts";
import { trainWorker } from "../workers.ts";
import { attempt } from "./attempt.ts";

export type HubAvailability = { allowed: true; base: string } | { allowed: false; why: string };

/** Whether this page may download from a Hub, and the sentence to show when it may not. */
export function hubAvailability(plan: ConnectionPlan): HubAvailability {
  if (plan.offline) return { allowed: false, why: "Offline mode is on, so nothing is downloaded. Turn it off in the Privacy panel (top right) to download a model." };
  if (plan.hub === null) {
    return {
      allowed: false,
      why: "Downloading models from Hugging Face is off. Allow it in the Privacy panel (top right), which names the hosts that will be contacted.",
    };
  }
  return { allowed: true, base: plan.hub };
}

export class HubDownloadState {
  readonly availability: HubAvailability = hubAvailability(policyInForce.plan);
  input = $state("");
  downloading = $state(false);
  progress = $state.raw<HubProgress | null>(null);
  error = $state<string | null>(null);
  /** What happened to the last model stored, when it is not simply the new base model. */
  notice = $state<string | null>(null);

  private controller: AbortController | null = null;

  /** `use` makes the stored model the base model; false when it cannot be trained from. */
  constructor(private readonly use: (modelId: string) => Promise<boolean>) {}

  canDownload = $derived(this.availability.allowed && !this.downloading && this.input.trim() !== "");

  async download(): Promise<void> {
    if (!this.canDownload) return;
    const reference = this.input.trim();
    this.controller = new AbortController();
    this.downloading = true;
    this.progress = null;
    this.notice = null;
    await attempt(this, async () => {
      const call: DownloadModelCall = { databaseName: DEFAULT_DATABASE_NAME, reference, plan: policyInForce.plan };
      const stored = await trainWorker().call<StoredModelReply, HubProgress>("downloadModel", call, {
        signal: this.controller!.signal,
        onProgress: (progress) => (this.progress = progress),
      });
      if (!(await this.use(stored.modelId))) {
        this.notice = `${reference} was stored, but it has no model.safetensors, so it can run but cannot be trained from.`;
      } else if (!stored.runnable && stored.reason) this.notice = `${reference} is the base model; ${stored.reason}`;
    });
    this.downloading = false;
    this.progress = null;
    this.controller = null;
  }

  cancel(): void {
    this.controller?.abort();
  }
}
