import { describe, expect, it } from "vitest";
import { InputFileError, StorageFullError, fromErrorData, toErrorData } from "../../src/core/errors.ts";

describe("errors across a worker boundary", () => {
  it("rebuilds an InputFileError with its file and line", () => {
    const original = new InputFileError("notes.csv", "unclosed quote", 12);
    const rebuilt = fromErrorData(structuredClone(toErrorData(original)));
    expect(rebuilt).toBeInstanceOf(InputFileError);
    expect(rebuilt.message).toBe("notes.csv, line 12: unclosed quote");
    expect((rebuilt as InputFileError).file).toBe("notes.csv");
    expect((rebuilt as InputFileError).line).toBe(12);
  });

  it("keeps the class and message of a StorageFullError", () => {
    const original = new StorageFullError("notes.txt");
    const rebuilt = fromErrorData(toErrorData(original));
    expect(rebuilt).toBeInstanceOf(StorageFullError);
    expect(rebuilt.message).toBe(original.message);
  });

  it("keeps the name of an unknown error", () => {
    const rebuilt = fromErrorData(toErrorData(new RangeError("too far")));
    expect(rebuilt.name).toBe("RangeError");
    expect(rebuilt.message).toBe("too far");
  });
});
