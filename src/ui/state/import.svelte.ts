// One import at a time: inspect the dropped files, let the user choose CSV columns, run
// the import in the worker, and keep its report on screen.
import type { DelimitedColumns } from "../../core/corpus/delimited.ts";
import { CancelledError } from "../../core/errors.ts";
import { DEFAULT_DATABASE_NAME } from "../../core/store/index.ts";
import type {
  DelimitedPreview,
  ImportProgress,
  ImportReport,
  ImportRequest,
  NamedFile,
} from "../../../workers/import-api.ts";
import { importWorker } from "../workers.ts";

type Phase = "idle" | "inspecting" | "columns" | "importing" | "done";

export class ImportState {
  phase = $state<Phase>("idle");
  files = $state.raw<NamedFile[]>([]);
  previews = $state.raw<DelimitedPreview[]>([]);
  /** The user's column choices per CSV/TSV file, starting from the suggestions. */
  columns = $state<Record<string, DelimitedColumns>>({});
  progress = $state.raw<ImportProgress | null>(null);
  report = $state.raw<ImportReport | null>(null);
  failure = $state<string | null>(null);
  private controller: AbortController | null = null;

  constructor(
    private readonly projectId: () => string,
    private readonly onStored: () => void,
  ) {}

  async start(files: NamedFile[]): Promise<void> {
    if (files.length === 0 || this.phase === "importing") return;
    this.files = files;
    this.report = null;
    this.failure = null;
    this.phase = "inspecting";
    this.previews = await importWorker().call<DelimitedPreview[]>("inspect", { files });
    this.columns = Object.fromEntries(
      this.previews.map(({ file, inspection }) => [
        file,
        { textColumn: inspection.suggestedText, idColumn: inspection.suggestedId, delimiter: inspection.delimiter },
      ]),
    );
    if (this.previews.length > 0) this.phase = "columns";
    else await this.run();
  }

  async run(): Promise<void> {
    this.phase = "importing";
    this.progress = null;
    this.controller = new AbortController();
    const request: ImportRequest = {
      databaseName: DEFAULT_DATABASE_NAME,
      projectId: this.projectId(),
      files: this.files,
      delimited: $state.snapshot(this.columns),
    };
    try {
      this.report = await importWorker().call<ImportReport, ImportProgress>("import", request, {
        signal: this.controller.signal,
        onProgress: (progress) => {
          this.progress = progress;
          this.onStored();
        },
      });
    } catch (error) {
      this.failure =
        error instanceof CancelledError
          ? "Import cancelled; the files stored before it stopped are kept."
          : error instanceof Error
            ? error.message
            : String(error);
    } finally {
      this.phase = "done";
      this.controller = null;
      this.onStored();
    }
  }

  cancel(): void {
    this.controller?.abort();
  }

  dismiss(): void {
    this.phase = "idle";
    this.report = null;
    this.failure = null;
  }
}
