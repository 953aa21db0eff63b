// Deletes everything the app stored in this browser: every IndexedDB database of the
// origin (ours, `clinical-adapt`, and WebLLM's when it caches there), Cache Storage
// (where WebLLM keeps model weights by default), the origin private file system, and
// localStorage / sessionStorage (settings, term lists, model hosts). The browser APIs come
// in as arguments, so a test passes fakes; the page passes its globals.
//
// Run it on a page that has nothing open: a connection that stays open blocks the deletion
// of its database (the page reloads before it wipes, see src/ui/state/privacy.svelte.ts).

import { DEFAULT_DATABASE_NAME } from "./db.ts";

/** Names WebLLM uses (Cache Storage, or IndexedDB with cacheBackend "indexeddb"). */
const KNOWN_DATABASES = [DEFAULT_DATABASE_NAME, "webllm/model", "webllm/config", "webllm/wasm"];

export interface DirectoryLike {
  keys(): AsyncIterable<string>;
  removeEntry(name: string, options?: { recursive?: boolean }): Promise<void>;
}

export interface WipeTargets {
  indexedDB?: IDBFactory;
  caches?: Pick<CacheStorage, "keys" | "delete">;
  /** navigator.storage: getDirectory() is the origin private file system. */
  storage?: { getDirectory?: () => Promise<unknown> };
  /** localStorage and sessionStorage. */
  keyValue?: Pick<Storage, "clear" | "length">[];
  /** How long to wait for a database another tab keeps open. */
  blockedTimeoutMs?: number;
}

export interface StoredThings {
  databases: string[];
  caches: string[];
  files: string[];
  settings: number;
}

export interface WipeReport {
  deleted: StoredThings;
  /** What is still there afterwards (empty lists and 0 when the wipe was complete). */
  left: StoredThings;
  /** Problems, in words: a database another tab kept open, an API that failed. */
  problems: string[];
}

/** The globals of a page or worker. */
export function browserTargets(): WipeTargets {
  const scope = globalThis as {
    indexedDB?: IDBFactory;
    caches?: CacheStorage;
    navigator?: { storage?: { getDirectory?: () => Promise<unknown> } };
    localStorage?: Storage;
    sessionStorage?: Storage;
  };
  const keyValue: Storage[] = [];
  for (const name of ["localStorage", "sessionStorage"] as const) {
    try {
      const store = scope[name];
      if (store) keyValue.push(store);
    } catch {
      // Storage disabled for this site: nothing is stored there either.
    }
  }
  return { indexedDB: scope.indexedDB, caches: scope.caches, storage: scope.navigator?.storage, keyValue };
}

async function databaseNames(factory: IDBFactory | undefined): Promise<string[]> {
  if (!factory) return [];
  if (typeof factory.databases !== "function") return KNOWN_DATABASES;
  const listed = await factory.databases();
  return listed.flatMap((info) => (info.name ? [info.name] : []));
}

function deleteDatabase(factory: IDBFactory, name: string, timeoutMs: number): Promise<"deleted" | "blocked"> {
  return new Promise((resolve, reject) => {
    const request = factory.deleteDatabase(name);
    let timer: ReturnType<typeof setTimeout> | undefined;
    request.onsuccess = () => {
      clearTimeout(timer);
      resolve("deleted");
    };
    request.onerror = () => {
      clearTimeout(timer);
      reject(request.error ?? new Error(`Could not delete the database ${name}.`));
    };
    // Another tab holds it open; it closes on the versionchange event if it is this app.
    request.onblocked = () => {
      timer ??= setTimeout(() => resolve("blocked"), timeoutMs);
    };
  });
}

async function directory(targets: WipeTargets): Promise<DirectoryLike | undefined> {
  try {
    return (await targets.storage?.getDirectory?.()) as DirectoryLike | undefined;
  } catch {
    // No OPFS here (older browser, private mode): nothing stored in it.
    return undefined;
  }
}

async function fileNames(root: DirectoryLike | undefined): Promise<string[]> {
  const names: string[] = [];
  if (root) for await (const name of root.keys()) names.push(name);
  return names;
}

/** What the app has stored, without changing anything. */
export async function listStored(targets: WipeTargets): Promise<StoredThings> {
  const databases = await databaseNames(targets.indexedDB);
  return {
    // Without databases() the known names are only guesses: report none rather than all.
    databases: typeof targets.indexedDB?.databases === "function" ? databases : [],
    caches: targets.caches ? await targets.caches.keys() : [],
    files: await fileNames(await directory(targets)),
    settings: (targets.keyValue ?? []).reduce((sum, store) => sum + store.length, 0),
  };
}

export async function wipeEverything(targets: WipeTargets): Promise<WipeReport> {
  const deleted: StoredThings = { databases: [], caches: [], files: [], settings: 0 };
  const problems: string[] = [];
  const attempt = async (what: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  await attempt("IndexedDB", async () => {
    const factory = targets.indexedDB;
    if (!factory) return;
    for (const name of await databaseNames(factory)) {
      await attempt(`database ${name}`, async () => {
        const outcome = await deleteDatabase(factory, name, targets.blockedTimeoutMs ?? 10_000);
        if (outcome === "deleted") deleted.databases.push(name);
        else problems.push(`The database ${name} is open in another tab of this app: close it and wipe again.`);
      });
    }
  });
  await attempt("Cache Storage", async () => {
    const caches = targets.caches;
    if (!caches) return;
    for (const name of await caches.keys()) {
      if (await caches.delete(name)) deleted.caches.push(name);
    }
  });
  await attempt("origin private file system", async () => {
    const root = await directory(targets);
    for (const name of await fileNames(root)) {
      await root!.removeEntry(name, { recursive: true });
      deleted.files.push(name);
    }
  });
  for (const store of targets.keyValue ?? []) {
    deleted.settings += store.length;
    store.clear();
  }

  return { deleted, left: await listStored(targets), problems };
}
