import { describe, expect, it } from "vitest";
import { requestPersistence, storageEstimate } from "../../../src/core/store/usage.ts";

describe("storage usage", () => {
  it("asks for persistence only when not yet granted", async () => {
    let asked = 0;
    const persist = async () => {
      asked++;
      return true;
    };
    expect(await requestPersistence({ persist, persisted: async () => false })).toBe(true);
    expect(asked).toBe(1);
    expect(await requestPersistence({ persist, persisted: async () => true })).toBe(true);
    expect(asked).toBe(1);
    expect(await requestPersistence({ persist: async () => false })).toBe(false);
  });

  it("says unsupported where the browser has no StorageManager", async () => {
    expect(await requestPersistence({})).toBe("unsupported");
    expect(await requestPersistence(undefined)).toBe("unsupported");
    expect(await storageEstimate({})).toBe("unsupported");
    expect(await storageEstimate({ estimate: async () => ({}) })).toBe("unsupported");
  });

  it("reports usage and quota", async () => {
    expect(await storageEstimate({ estimate: async () => ({ usage: 10, quota: 100 }) })).toEqual({ usage: 10, quota: 100 });
  });
});
