// Storage the browser grants us. Without persistence a browser may evict the whole
// database under storage pressure, so the app asks once it holds data worth keeping.

/** The part of StorageManager we use; a test passes its own. */
export interface StorageLike {
  persist?: () => Promise<boolean>;
  persisted?: () => Promise<boolean>;
  estimate?: () => Promise<{ usage?: number; quota?: number }>;
}

function defaultStorage(): StorageLike | undefined {
  return (globalThis as { navigator?: { storage?: StorageLike } }).navigator?.storage;
}

/** Asks the browser to keep our data under storage pressure; true when it agreed. */
export async function requestPersistence(storage = defaultStorage()): Promise<boolean | "unsupported"> {
  if (!storage?.persist) return "unsupported";
  if (storage.persisted && (await storage.persisted())) return true;
  return storage.persist();
}

export interface StorageEstimate {
  /** Bytes used by this origin. */
  usage: number;
  /** Bytes this origin may use. */
  quota: number;
}

export async function storageEstimate(storage = defaultStorage()): Promise<StorageEstimate | "unsupported"> {
  if (!storage?.estimate) return "unsupported";
  const { usage, quota } = await storage.estimate();
  if (usage === undefined || quota === undefined) return "unsupported";
  return { usage, quota };
}
