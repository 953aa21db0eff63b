// What the page sends to the import worker and gets back.
import type { DelimitedColumns, DelimitedInspection } from "../src/core/corpus/delimited.ts";
import type { Split } from "../src/core/store/db.ts";

export interface NamedFile {
  /** The name with its folder path when the file came from a dropped folder. */
  name: string;
  file: File;
}

export interface InspectRequest {
  files: NamedFile[];
}

export interface DelimitedPreview {
  file: string;
  inspection: DelimitedInspection;
}

export interface ImportRequest {
  databaseName: string;
  projectId: string;
  files: NamedFile[];
  delimited: Record<string, Partial<DelimitedColumns>>;
  split?: Split;
}

export type { ImportProgress, ImportReport } from "../src/core/store/import-files.ts";
