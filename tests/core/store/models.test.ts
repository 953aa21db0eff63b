import { describe, expect, it } from "vitest";
import { NotFoundError } from "../../../src/core/errors.ts";
import {
  DEFAULT_CHUNK_BYTES,
  createModel,
  deleteModel,
  deleteModelFile,
  getModel,
  getModelFile,
  listModels,
  putModelFile,
} from "../../../src/core/store/models.ts";
import { freshDatabase } from "./helpers.ts";

function bytesOf(length: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
}

describe("model files in chunks", () => {
  it("uses 32 MB chunks by default", () => {
    expect(DEFAULT_CHUNK_BYTES).toBe(32 * 1024 * 1024);
  });

  for (const length of [0, 1, 6, 7, 8, 50]) {
    it(`round-trips a file of ${length} bytes through chunks of 7`, async () => {
      const db = freshDatabase();
      const model = await createModel(db, { name: "m", kind: "uploaded", config: { hidden_size: 8 }, labels: ["O", "B-X"] });
      const bytes = bytesOf(length);
      const stored = await putModelFile(db, model.id, "model.onnx", bytes, { chunkBytes: 7 });
      expect(stored.files["model.onnx"]).toEqual({ byteLength: length, chunkCount: Math.ceil(length / 7) });
      expect(await db.modelChunks.count()).toBe(Math.ceil(length / 7));
      expect(await getModelFile(db, model.id, "model.onnx")).toEqual(bytes);
    });
  }

  it("stores only each chunk's bytes when given a view into a larger buffer", async () => {
    const db = freshDatabase();
    const model = await createModel(db, { name: "m", kind: "uploaded", config: {}, labels: [] });
    const big = bytesOf(1000);
    const view = big.subarray(100, 120);
    await putModelFile(db, model.id, "w.bin", view, { chunkBytes: 8 });
    const chunks = await db.modelChunks.toArray();
    expect(chunks.map((chunk) => [chunk.index, chunk.bytes.byteLength, chunk.bytes.buffer.byteLength])).toEqual([
      [0, 8, 8],
      [1, 8, 8],
      [2, 4, 4],
    ]);
    expect(await getModelFile(db, model.id, "w.bin")).toEqual(view);
  });

  it("keeps files apart, replaces a file, and totals sizes on the model", async () => {
    const db = freshDatabase();
    const model = await createModel(db, { name: "m", kind: "trained", config: {}, labels: [] });
    const other = await createModel(db, { name: "other", kind: "trained", config: {}, labels: [] });
    await putModelFile(db, model.id, "model.onnx", bytesOf(30), { chunkBytes: 7 });
    await putModelFile(db, model.id, "tokenizer.json", bytesOf(10, 5), { chunkBytes: 7 });
    await putModelFile(db, other.id, "model.onnx", bytesOf(9, 9), { chunkBytes: 7 });
    // Replacing with a smaller file must not leave the old tail chunks behind.
    const replaced = await putModelFile(db, model.id, "model.onnx", bytesOf(8, 3), { chunkBytes: 7 });
    expect(replaced).toMatchObject({ byteLength: 18, chunkCount: 4 });
    expect(await getModelFile(db, model.id, "model.onnx")).toEqual(bytesOf(8, 3));
    expect(await getModelFile(db, model.id, "tokenizer.json")).toEqual(bytesOf(10, 5));
    expect(await getModelFile(db, other.id, "model.onnx")).toEqual(bytesOf(9, 9));
    expect(await db.modelChunks.count()).toBe(6);

    const withoutTokenizer = await deleteModelFile(db, model.id, "tokenizer.json");
    expect(withoutTokenizer).toMatchObject({ byteLength: 8, chunkCount: 2 });
    await expect(getModelFile(db, model.id, "tokenizer.json")).rejects.toBeInstanceOf(NotFoundError);

    await deleteModel(db, model.id);
    await expect(getModel(db, model.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await db.modelChunks.count()).toBe(2);
    expect(await getModelFile(db, other.id, "model.onnx")).toEqual(bytesOf(9, 9));
  });

  it("refuses files for a model that does not exist", async () => {
    const db = freshDatabase();
    await expect(putModelFile(db, "missing", "model.onnx", bytesOf(3))).rejects.toBeInstanceOf(NotFoundError);
    expect(await db.modelChunks.count()).toBe(0);
  });

  it("reports a damaged file instead of returning wrong bytes", async () => {
    const db = freshDatabase();
    const model = await createModel(db, { name: "m", kind: "trained", config: {}, labels: [] });
    await putModelFile(db, model.id, "model.onnx", bytesOf(20), { chunkBytes: 7 });
    await db.modelChunks.delete([model.id, "model.onnx", 1]);
    await expect(getModelFile(db, model.id, "model.onnx")).rejects.toThrow(/damaged|incomplete/);
  });

  it("lists a project's models together with those that belong to no project", async () => {
    const db = freshDatabase();
    await createModel(db, { name: "demo", kind: "demo", config: {}, labels: [] });
    await createModel(db, { projectId: "p1", name: "p1 model", kind: "trained", config: {}, labels: [] });
    await createModel(db, { projectId: "p2", name: "p2 model", kind: "trained", config: {}, labels: [] });
    expect((await listModels(db, "p1")).map((model) => model.name).sort()).toEqual(["demo", "p1 model"]);
    expect(await listModels(db)).toHaveLength(3);
  });
});
