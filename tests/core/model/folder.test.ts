import { strToU8, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { ModelFormatError } from "../../../src/core/errors.ts";
import { createConfig, withLabels } from "../../../src/core/model/config.ts";
import { readModelFolder, readModelZip, writeModelFolder } from "../../../src/core/model/folder.ts";
import { listParams } from "../../../src/core/model/names.ts";
import { randomEncoderWeights } from "../../../src/core/model/random-init.ts";
import { readSafetensors, writeSafetensors } from "../../../src/core/model/safetensors.ts";
import { resolveWeights } from "../../../src/core/model/weights.ts";
import { thrownBy } from "../../helpers.ts";

const labels = ["O", "B-DRUG", "I-DRUG"];
const config = createConfig("bert", { vocabSize: 30, hiddenSize: 8, numLayers: 1, numHeads: 2, intermediateSize: 16, maxPositions: 16, labels });
// A stand-in tokenizer.json: the folder code only parses and carries it.
const tokenizerJson = { version: "1.0", model: { type: "WordPiece", vocab: { "[PAD]": 0, "[UNK]": 1 } } };
const tokenizer = { tokenizerJson, tokenizerConfig: { do_lower_case: false }, vocabTxt: "[PAD]\n[UNK]\n" };

const folder = () => writeModelFolder(config, labels, randomEncoderWeights(config, 7), tokenizer);

describe("writeModelFolder → readModelFolder", () => {
  it("round-trips config, tokenizer files and weights", () => {
    const weights = randomEncoderWeights(config, 7);
    const files = writeModelFolder(config, labels, weights, tokenizer);
    expect([...files.keys()].sort()).toEqual(["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]);

    const read = readModelFolder(files);
    expect(read.config.labels).toEqual(labels);
    expect(read.config.architectures).toEqual(["BertForTokenClassification"]);
    expect(read.tokenizerJson).toEqual(tokenizerJson);
    expect(read.tokenizerConfig).toEqual({ do_lower_case: false });
    expect(read.vocabTxt).toBe("[PAD]\n[UNK]\n");
    expect(read.weightsMetadata).toEqual({ format: "pt" });
    const resolved = resolveWeights(read.config, read.weights!);
    expect(resolved.newlyInitialised).toEqual([]);
    for (const [name, weight] of weights) expect(resolved.params.get(name)!.data).toEqual(weight.data);
  });

  it("writes model.safetensors with exactly the model's parameters, sorted by name", () => {
    const { tensors } = readSafetensors(folder().get("model.safetensors")!);
    const names = listParams(withLabels(config, labels)).map((s) => s.name);
    expect([...tensors.keys()]).toEqual([...names].sort());
  });

  it("refuses weights that do not match the model", () => {
    const weights = randomEncoderWeights(config, 7);
    weights.delete("classifier.bias");
    weights.set("extra.weight", { shape: [1], data: new Float32Array(1) });
    const error = thrownBy(ModelFormatError, () => writeModelFolder(config, labels, weights, tokenizer));
    expect(error.message).toMatch(/'classifier\.bias' is missing; 'extra\.weight' is not a parameter of the model/);
    expect(() => writeModelFolder(config, ["O"], randomEncoderWeights(config, 7), tokenizer)).toThrow(/'classifier\.weight' has shape \[3, 8\], expected \[1, 8\]/);
  });

  it("copies tokenizer files given as text unchanged", () => {
    const text = '{"version":"1.0"}';
    const files = writeModelFolder(config, labels, randomEncoderWeights(config, 7), { tokenizerJson: text });
    expect(new TextDecoder().decode(files.get("tokenizer.json"))).toBe(text);
  });
});

describe("readModelFolder", () => {
  it("accepts a folder dropped with its own top-level directory, ignoring macOS litter", () => {
    const files = new Map([...folder()].map(([path, bytes]) => [`my-model/${path}`, bytes]));
    files.set("__MACOSX/my-model/._config.json", new Uint8Array(3));
    files.set("my-model/.DS_Store", new Uint8Array(3));
    const read = readModelFolder(files);
    expect(read.config.numLabels).toBe(3);
    expect(read.files.has("config.json")).toBe(true);
  });

  it("accepts an ONNX-only folder", () => {
    const files = folder();
    files.delete("model.safetensors");
    files.set("onnx/model.onnx", new Uint8Array([8, 9]));
    const read = readModelFolder(files);
    expect(read.weights).toBeUndefined();
    expect(read.onnx).toEqual(new Uint8Array([8, 9]));
  });

  it("reads sharded safetensors through model.safetensors.index.json", () => {
    const files = folder();
    const { tensors } = readSafetensors(files.get("model.safetensors")!);
    files.delete("model.safetensors");
    const names = [...tensors.keys()];
    const shards = [names.slice(0, 5), names.slice(5)];
    const weightMap: Record<string, string> = {};
    shards.forEach((shard, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      files.set(file, writeSafetensors(shard.map((n) => [n, tensors.get(n)!] as const), { metadata: { format: "pt" } }));
      for (const n of shard) weightMap[n] = file;
    });
    files.set("model.safetensors.index.json", strToU8(JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap })));
    const read = readModelFolder(files);
    expect(read.weights!.size).toBe(names.length);

    files.delete("model-00002-of-00002.safetensors");
    expect(thrownBy(ModelFormatError, () => readModelFolder(files)).message).toMatch(/^model-00002-of-00002\.safetensors: missing/);
  });

  it.each(["config.json", "tokenizer.json"])("names a missing %s", (name) => {
    const files = folder();
    files.delete(name);
    const error = thrownBy(ModelFormatError, () => readModelFolder(files));
    expect(error.file).toBe(name);
    expect(error.message).toMatch(new RegExp(`^${name.replace(".", "\\.")}: missing`));
  });

  it("asks for safetensors when the folder has only pytorch_model.bin", () => {
    const files = folder();
    files.delete("model.safetensors");
    files.set("pytorch_model.bin", new Uint8Array(4));
    const error = thrownBy(ModelFormatError, () => readModelFolder(files));
    expect(error.file).toBe("model.safetensors");
    expect(error.message).toMatch(/only pytorch_model\.bin, which cannot be read in a browser/);
  });

  it("names the weights file when neither safetensors nor ONNX is there", () => {
    const files = folder();
    files.delete("model.safetensors");
    expect(thrownBy(ModelFormatError, () => readModelFolder(files)).message).toMatch(/model\.safetensors: missing; a model folder needs its weights as model\.safetensors or onnx\/model\.onnx/);
  });

  it("refuses a label map that disagrees with the classifier (5 labels, 9 rows)", () => {
    const nine = ["O", "B-A", "I-A", "B-B", "I-B", "B-C", "I-C", "B-D", "I-D"];
    const files = writeModelFolder(config, nine, randomEncoderWeights(withLabels(config, nine), 1), tokenizer);
    const five = JSON.parse(new TextDecoder().decode(files.get("config.json")));
    five.id2label = { "0": "O", "1": "B-A", "2": "I-A", "3": "B-B", "4": "I-B" };
    files.set("config.json", strToU8(JSON.stringify(five)));
    const error = thrownBy(ModelFormatError, () => readModelFolder(files));
    expect(error.file).toBe("config.json");
    expect(error.message).toMatch(/id2label has 5 labels but classifier\.weight in the weights has 9 rows/);
  });

  it("explains the mismatch when config.json has no id2label at all", () => {
    const files = folder();
    const raw = JSON.parse(new TextDecoder().decode(files.get("config.json")));
    delete raw.id2label;
    delete raw.label2id;
    files.set("config.json", strToU8(JSON.stringify(raw)));
    expect(thrownBy(ModelFormatError, () => readModelFolder(files)).message).toMatch(/no id2label, so transformers assumes 2 labels, but classifier\.weight in the weights has 3 rows/);
  });

  it("names invalid JSON in tokenizer.json", () => {
    const files = folder();
    files.set("tokenizer.json", strToU8("{ not json"));
    const error = thrownBy(ModelFormatError, () => readModelFolder(files));
    expect(error.file).toBe("tokenizer.json");
    expect(error.message).toMatch(/not valid JSON/);
  });

  it("checks the weights file itself", () => {
    const files = folder();
    files.set("model.safetensors", files.get("model.safetensors")!.subarray(0, 100));
    expect(thrownBy(ModelFormatError, () => readModelFolder(files)).file).toBe("model.safetensors");
  });
});

describe("readModelZip", () => {
  it("reads a zipped folder, with or without an enclosing directory", () => {
    const entries = Object.fromEntries(folder());
    const flat = readModelZip(zipSync(entries));
    expect(flat.config.labels).toEqual(labels);
    const nested = readModelZip(zipSync({ "adapted-model": entries }));
    expect(nested.config.labels).toEqual(labels);
    expect(nested.weights!.size).toBe(listParams(config).length);
  });

  it("names the archive when it is not a zip", () => {
    const error = thrownBy(ModelFormatError, () => readModelZip(new Uint8Array([1, 2, 3, 4, 5]), "upload.zip"));
    expect(error.file).toBe("upload.zip");
    expect(error.message).toMatch(/not a readable zip archive/);
  });
});
