import { describe, expect, it } from "vitest";
import { AppDatabase } from "../../../src/core/store/db.ts";
import { listStored, wipeEverything, type DirectoryLike } from "../../../src/core/store/wipe.ts";

class FakeCaches {
  names = new Set<string>();
  async keys() {
    return [...this.names];
  }
  async delete(name: string) {
    return this.names.delete(name);
  }
}

class FakeDirectory implements DirectoryLike {
  entries = new Set<string>();
  async *keys() {
    yield* [...this.entries];
  }
  async removeEntry(name: string) {
    if (!this.entries.delete(name)) throw new DOMException(name, "NotFoundError");
  }
}

class FakeStorage {
  items = new Map<string, string>();
  get length() {
    return this.items.size;
  }
  clear() {
    this.items.clear();
  }
}

async function ourDatabases(): Promise<string[]> {
  return (await indexedDB.databases()).flatMap((info) => (info.name?.startsWith("wipe-") ? [info.name] : []));
}

describe("wipe everything", () => {
  it("deletes every database, cache, file and setting, and reports what went", async () => {
    const db = new AppDatabase(`wipe-${crypto.randomUUID()}`);
    await db.projects.add({ id: "p", name: "p", language: "en", schema: { entityTypes: [] } as never, createdAt: 0, updatedAt: 0 });
    db.close();
    const webllm = indexedDB.open("wipe-webllm/model");
    await new Promise((resolve) => (webllm.onsuccess = resolve));
    webllm.result.close();
    const caches = new FakeCaches();
    caches.names = new Set(["webllm/model", "webllm/wasm"]);
    const root = new FakeDirectory();
    root.entries = new Set(["checkpoint.bin"]);
    const local = new FakeStorage();
    local.items.set("annotate:model-hosts", "{}");
    local.items.set("privacy:settings", "{}");
    const session = new FakeStorage();
    const targets = { indexedDB, caches, storage: { getDirectory: async () => root }, keyValue: [local, session] };

    expect(await ourDatabases()).toHaveLength(2);
    const report = await wipeEverything(targets);
    expect(report.problems).toEqual([]);
    expect(report.deleted.databases).toEqual(expect.arrayContaining([db.name, "wipe-webllm/model"]));
    expect(report.deleted.caches.sort()).toEqual(["webllm/model", "webllm/wasm"]);
    expect(report.deleted.files).toEqual(["checkpoint.bin"]);
    expect(report.deleted.settings).toBe(2);
    expect(await ourDatabases()).toEqual([]);
    expect(report.left).toEqual({ databases: (await indexedDB.databases()).map((info) => info.name), caches: [], files: [], settings: 0 });
    expect(await listStored(targets)).toEqual(report.left);
  });

  it("says which database another tab keeps open instead of waiting for ever", async () => {
    const name = `wipe-held-${crypto.randomUUID()}`;
    const open = indexedDB.open(name);
    await new Promise((resolve) => (open.onsuccess = resolve));
    // A tab that ignores versionchange: the deletion stays blocked.
    const report = await wipeEverything({ indexedDB, blockedTimeoutMs: 50 });
    expect(report.problems.some((problem) => problem.includes(name) && /another tab/.test(problem))).toBe(true);
    expect(report.deleted.databases).not.toContain(name);
    open.result.close();
  });

  it("works where a browser lacks Cache Storage and OPFS", async () => {
    const report = await wipeEverything({ storage: { getDirectory: () => Promise.reject(new DOMException("no", "SecurityError")) } });
    expect(report).toEqual({ deleted: { databases: [], caches: [], files: [], settings: 0 }, left: { databases: [], caches: [], files: [], settings: 0 }, problems: [] });
  });
});
