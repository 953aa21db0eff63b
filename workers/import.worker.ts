// Import off the main thread: files in, notes stored, progress out.
import "./bind-policy.ts";
import { decodeText } from "../src/core/corpus/encoding.ts";
import { inspectDelimited } from "../src/core/corpus/delimited.ts";
import { extensionOf } from "../src/core/corpus/file-names.ts";
import { InputFileError } from "../src/core/errors.ts";
import { openDatabase } from "../src/core/store/db.ts";
import { importFiles, type FileSource } from "../src/core/store/import-files.ts";
import { serve } from "./protocol.ts";
import type { ImportRequest, InspectRequest, DelimitedPreview } from "./import-api.ts";

function source({ name, file }: { name: string; file: File }): FileSource {
  return { name, size: file.size, read: async () => new Uint8Array(await file.arrayBuffer()) };
}

serve({
  async inspect({ files }: InspectRequest): Promise<DelimitedPreview[]> {
    const previews: DelimitedPreview[] = [];
    for (const { name, file } of files) {
      if (!["csv", "tsv"].includes(extensionOf(name))) continue;
      try {
        const { text } = decodeText(name, new Uint8Array(await file.arrayBuffer()));
        previews.push({ file: name, inspection: inspectDelimited(name, text) });
      } catch (error) {
        // The import reports the same problem for this file; here it only has no columns.
        if (!(error instanceof InputFileError)) throw error;
      }
    }
    return previews;
  },

  import({ databaseName, projectId, files, delimited, split }: ImportRequest, { progress, signal }) {
    const db = openDatabase(databaseName);
    return importFiles(db, projectId, files.map(source), { delimited, split, signal, onProgress: progress }).finally(
      () => db.close(),
    );
  },
});
