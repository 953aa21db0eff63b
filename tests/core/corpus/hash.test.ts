import { describe, expect, it } from "vitest";
import { contentHash } from "../../../src/core/corpus/hash.ts";

describe("contentHash", () => {
  it("is 16 hex digits and stable across runs", () => {
    expect(contentHash("患者は72歳男性。主訴は胸痛。")).toMatch(/^[0-9a-f]{16}$/);
    // Pinned: stored hashes must keep matching after an upgrade.
    expect(contentHash("")).toBe("488bdcb81aee8d83");
    expect(contentHash("Dolor lumbar.")).toBe("e62d752fea9b1136");
  });

  it.each([
    ["a trailing space", "Dolor lumbar.", "Dolor lumbar. "],
    ["CRLF against LF", "a\r\nb", "a\nb"],
    ["case", "Fiebre", "fiebre"],
    ["composed against decomposed accent", "años", "an\u0303os"],
    ["swapped characters", "ab", "ba"],
  ])("tells texts apart that differ by %s", (_, a, b) => {
    expect(contentHash(a)).not.toBe(contentHash(b));
  });

  it("has no collisions over 100,000 near-identical notes", () => {
    const hashes = new Set<string>();
    for (let i = 0; i < 100_000; i++) hashes.add(contentHash(`Paciente ${i}: dolor lumbar.`));
    expect(hashes.size).toBe(100_000);
  });

});
