import { describe, expect, it } from "vitest";
import { PUBLIC_HOSTS } from "../../../src/core/annotate/models.ts";
import {
  connectionPlan,
  contentSecurityPolicy,
  HUGGING_FACE_STORAGE,
  hubOrigins,
  MODEL_HOSTS_KEY,
  planAllows,
  PRIVACY_KEY,
  readModelHosts,
  readSettings,
  samePlan,
  type KeyValueStore,
} from "../../../src/core/privacy/policy.ts";

const APP = "http://127.0.0.1:4173";
const MIRROR = { weightsBaseUrl: "https://models.hospital.example/webllm/", libsBaseUrl: "https://models.hospital.example/libs" };

function store(entries: Record<string, string>): KeyValueStore {
  return { getItem: (key) => entries[key] ?? null };
}

function directive(policy: string, name: string): string[] {
  const found = policy.split(";").map((part) => part.trim().split(/\s+/)).find(([first]) => first === name);
  if (!found) throw new Error(`no ${name} in ${policy}`);
  return found.slice(1);
}

describe("connection plan", () => {
  it("lists the app, then each configured model host once, with the reasons", () => {
    const plan = connectionPlan(`${APP}/index.html`, MIRROR, { offline: false, endpoint: null });
    expect(plan.destinations.map((destination) => [destination.origin, destination.kinds])).toEqual([
      [APP, ["app"]],
      ["https://models.hospital.example", ["weights", "libs"]],
    ]);
    expect(plan.destinations[1].reasons).toHaveLength(2);
    expect(plan.rejected).toEqual([]);
  });

  it("adds the endpoint only when allowed, and nothing but the app when offline", () => {
    const settings = { offline: false, endpoint: "http://llm.hospital.local:8000/v1" };
    expect(connectionPlan(APP, PUBLIC_HOSTS, settings).destinations.map((destination) => destination.origin)).toEqual([
      APP,
      "https://huggingface.co",
      "https://raw.githubusercontent.com",
      "http://llm.hospital.local:8000",
    ]);
    const offline = connectionPlan(APP, PUBLIC_HOSTS, { ...settings, offline: true });
    expect(offline.destinations.map((destination) => destination.origin)).toEqual([APP]);
    expect(directive(contentSecurityPolicy(offline), "connect-src")).toEqual(["'self'", "data:", "blob:"]);
  });

  it("leaves out an address that is not an absolute http(s) URL, and says why", () => {
    const plan = connectionPlan(APP, { weightsBaseUrl: "models/", libsBaseUrl: "ftp://x.example/" }, { offline: false, endpoint: "javascript:alert(1)" });
    expect(plan.destinations.map((destination) => destination.origin)).toEqual([APP]);
    expect(plan.rejected.map((rejected) => rejected.kind)).toEqual(["weights", "libs", "endpoint"]);
    expect(plan.rejected[0].problem).toMatch(/not an absolute URL/);
  });

  it("allows a URL only on a listed origin", () => {
    const plan = connectionPlan(APP, MIRROR, { offline: false, endpoint: null });
    expect(planAllows(plan, `${APP}/demo/project.json`)).toBe(true);
    expect(planAllows(plan, "https://models.hospital.example/webllm/x/resolve/main/a.bin")).toBe(true);
    expect(planAllows(plan, "https://huggingface.co/mlc-ai/x")).toBe(false);
    expect(planAllows(plan, "http://127.0.0.1:4174/")).toBe(false);
    expect(planAllows(plan, "not a url")).toBe(false);
  });

  it("tells when the saved settings give another plan", () => {
    const before = connectionPlan(APP, PUBLIC_HOSTS, { offline: false, endpoint: null });
    expect(samePlan(before, connectionPlan(APP, { ...PUBLIC_HOSTS }, { offline: false, endpoint: null }))).toBe(true);
    expect(samePlan(before, connectionPlan(APP, MIRROR, { offline: false, endpoint: null }))).toBe(false);
    expect(samePlan(before, connectionPlan(APP, PUBLIC_HOSTS, { offline: true, endpoint: null }))).toBe(false);
  });
});

describe("model downloads from a Hub", () => {
  const off = { offline: false, endpoint: null };

  it("are off by default: no Hub in the plan, though WebLLM's weights host is huggingface.co too", () => {
    const plan = connectionPlan(APP, PUBLIC_HOSTS, readSettings(store({})));
    expect(plan.hub).toBeNull();
    expect(plan.destinations.flatMap((destination) => destination.kinds)).not.toContain("hub");
    expect(plan.destinations.flatMap((destination) => destination.kinds)).not.toContain("hub-storage");
  });

  it("add huggingface.co and the storage hosts its redirects go to, each with its reason, and nothing else", () => {
    const plan = connectionPlan(APP, MIRROR, { ...off, hub: "https://huggingface.co" });
    expect(plan.hub).toBe("https://huggingface.co/");
    expect(plan.destinations.map((destination) => [destination.origin, destination.kinds.join(" ")])).toEqual([
      [APP, "app"],
      ["https://models.hospital.example", "weights libs"],
      ["https://huggingface.co", "hub"],
      ...HUGGING_FACE_STORAGE.map((origin) => [origin, "hub-storage"]),
    ]);
    expect(HUGGING_FACE_STORAGE).toEqual(expect.arrayContaining(["https://cas-bridge.xethub.hf.co", "https://cdn-lfs.huggingface.co", "https://cdn-lfs-us-1.hf.co"]));
    expect(plan.destinations.find((destination) => destination.origin === "https://huggingface.co")!.reasons[0]).toMatch(/only a model id and file names are sent, never a note/);
    const connect = directive(contentSecurityPolicy(plan), "connect-src");
    expect(connect.slice(-1 - HUGGING_FACE_STORAGE.length)).toEqual(["https://huggingface.co", ...HUGGING_FACE_STORAGE]);
    expect(planAllows(plan, "https://cas-bridge.xethub.hf.co/xet-bridge-us/abc")).toBe(true);
    expect(planAllows(plan, "https://evil.hf.co/x")).toBe(false);
  });

  it("add only a mirror's own origin, share it with the weights host, and none while offline", () => {
    expect(hubOrigins("https://models.hospital.example/hf")).toEqual(["https://models.hospital.example"]);
    expect(hubOrigins("https://huggingface.co/")).toEqual(["https://huggingface.co", ...HUGGING_FACE_STORAGE]);
    const plan = connectionPlan(APP, MIRROR, { ...off, hub: "https://models.hospital.example/hf" });
    expect(plan.hub).toBe("https://models.hospital.example/hf/");
    expect(plan.destinations.map((destination) => [destination.origin, destination.kinds.join(" ")])).toEqual([
      [APP, "app"],
      ["https://models.hospital.example", "weights libs hub"],
    ]);
    const offline = connectionPlan(APP, MIRROR, { offline: true, endpoint: null, hub: "https://huggingface.co" });
    expect(offline.hub).toBeNull();
    expect(offline.destinations.map((destination) => destination.origin)).toEqual([APP]);
  });

  it("leave out a Hub address that is not an absolute http(s) URL, and say why", () => {
    const plan = connectionPlan(APP, MIRROR, { ...off, hub: "huggingface.co" });
    expect(plan.hub).toBeNull();
    expect(plan.rejected).toEqual([{ kind: "hub", value: "huggingface.co", problem: expect.stringMatching(/Hub address "huggingface\.co" is not an absolute URL/) }]);
  });

  it("are saved with the other settings, and a change of Hub is a change of plan", () => {
    expect(readSettings(store({ [PRIVACY_KEY]: JSON.stringify({ offline: false, endpoint: null, hub: " https://huggingface.co/ " }) }))).toEqual({
      offline: false,
      endpoint: null,
      hub: "https://huggingface.co/",
    });
    const before = connectionPlan(APP, MIRROR, off);
    expect(samePlan(before, connectionPlan(APP, MIRROR, { ...off, hub: "https://huggingface.co/" }))).toBe(false);
    // Same origin as the weights host, other path: the CSP is the same, the download addresses are not.
    expect(samePlan(before, connectionPlan(APP, MIRROR, { ...off, hub: "https://models.hospital.example/hf/" }))).toBe(false);
  });
});

describe("content security policy", () => {
  const policy = contentSecurityPolicy(connectionPlan(APP, MIRROR, { offline: false, endpoint: "http://10.0.0.5:8000/v1/" }));

  it("connects only to the app and the listed hosts", () => {
    expect(directive(policy, "connect-src")).toEqual(["'self'", "data:", "blob:", "https://models.hospital.example", "http://10.0.0.5:8000"]);
  });

  it("loads scripts, fonts, images and workers only from the app, and allows WebAssembly but not eval", () => {
    expect(directive(policy, "default-src")).toEqual(["'self'"]);
    expect(directive(policy, "script-src")).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    expect(directive(policy, "font-src")).toEqual(["'self'"]);
    expect(directive(policy, "img-src")).toEqual(["'self'", "data:", "blob:"]);
    expect(directive(policy, "worker-src")).toEqual(["'self'", "blob:"]);
    expect(directive(policy, "object-src")).toEqual(["'none'"]);
    expect(directive(policy, "form-action")).toEqual(["'none'"]);
    expect(directive(policy, "frame-src")).toEqual(["'none'"]);
    expect(policy).not.toMatch(/unsafe-eval'(?<!wasm-unsafe-eval')|\*|https:(?!\/\/)/);
  });
});

describe("saved settings", () => {
  it("reads what the panel and the annotate step saved", () => {
    const saved = store({
      [PRIVACY_KEY]: JSON.stringify({ offline: true, endpoint: " http://llm:8000/v1 " }),
      [MODEL_HOSTS_KEY]: JSON.stringify(MIRROR),
    });
    expect(readSettings(saved)).toEqual({ offline: true, endpoint: "http://llm:8000/v1" });
    expect(readModelHosts(saved)).toEqual(MIRROR);
  });

  it("falls back to online, no endpoint and WebLLM's public hosts on anything unreadable", () => {
    for (const broken of ["{", "null", "[1]", '"text"', JSON.stringify({ offline: "yes", endpoint: 3, weightsBaseUrl: 1 })]) {
      const saved = store({ [PRIVACY_KEY]: broken, [MODEL_HOSTS_KEY]: broken });
      expect(readSettings(saved)).toEqual({ offline: false, endpoint: null });
      expect(readModelHosts(saved)).toEqual(PUBLIC_HOSTS);
    }
    expect(readSettings(undefined)).toEqual({ offline: false, endpoint: null });
  });
});
