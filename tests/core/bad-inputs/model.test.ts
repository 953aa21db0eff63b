// Every bad model file of the corpus: the typed error (ModelFormatError) names the file at
// fault and the problem, whether the user drops a zip, a weights file or a config.json.
import { strToU8, unzipSync, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { ModelFormatError, fromErrorData, toErrorData } from "../../../src/core/errors.ts";
import { parseConfig } from "../../../src/core/model/config.ts";
import { readModelZip } from "../../../src/core/model/folder.ts";
import { readSafetensors } from "../../../src/core/model/safetensors.ts";
import { resolveWeights } from "../../../src/core/model/weights.ts";
import { MODEL_CASES, type ModelCase } from "../../fixtures/bad/cases.ts";
import { expectTypedError, fixture } from "./helpers.ts";

/** What loading a dropped model does with each kind of file. */
function load(testCase: ModelCase): unknown {
  const bytes = fixture(`model/${testCase.file}`);
  switch (testCase.read) {
    case "zip": {
      const folder = readModelZip(bytes, testCase.file);
      return resolveWeights(folder.config, folder.weights!);
    }
    case "safetensors":
      return readSafetensors(bytes, testCase.file);
    case "config":
      return parseConfig(new TextDecoder().decode(bytes), testCase.file);
  }
}

describe("bad model files", () => {
  it.each(MODEL_CASES.map((c) => [c.kind, c] as const))("%s", async (_, testCase) => {
    const error = await expectTypedError(() => load(testCase), testCase.expect);
    expect(error).toBeInstanceOf(ModelFormatError);
    // Rebuilt on the far side of the worker boundary, it says the same.
    const rebuilt = fromErrorData(toErrorData(error));
    expect(rebuilt).toBeInstanceOf(ModelFormatError);
    expect([rebuilt.message, (rebuilt as ModelFormatError).file]).toEqual([error.message, error.file]);
  });

  it("the good model the corpus was made from loads: each file breaks one thing", () => {
    // no-tokenizer.zip with its tokenizer.json put back is the good folder.
    const files = unzipSync(fixture("model/no-tokenizer.zip"));
    files["tiny-bert/tokenizer.json"] = strToU8(JSON.stringify({ version: "1.0", model: { type: "WordPiece", vocab: { "[PAD]": 0, "[UNK]": 1 } } }));
    const folder = readModelZip(zipSync(files), "tiny-bert.zip");
    expect(folder.config.labels).toEqual(["O", "B-DISO", "I-DISO"]);
    expect(resolveWeights(folder.config, folder.weights!).newlyInitialised).toEqual([]);
  });
});
