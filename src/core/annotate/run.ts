// The resumable loop over a project's notes. Storage-agnostic: the caller says which notes
// are done (`isDone`) and where results and failures go (`save`, `saveFailure`), so a
// reload, a crash or a closed lid loses at most the note in flight: a new run with the
// same `isDone` skips what was saved and does the rest. A note that fails (an unreadable
// answer after its repair turn, a time-out, an HTTP error) is recorded and the run goes
// on; `retryFailed` runs those again. Cancel with the signal; pause with a PauseControl
// (the note in flight finishes first). An EngineLostError (the local model is gone) stops
// the loop and is thrown: every note left would fail the same way.

import { CancelledError, toErrorData, type ErrorData } from "../errors.ts";
import type { NoteInput } from "./annotator.ts";
import { EngineLostError } from "./errors.ts";

export interface RunProgress {
  /** Notes finished: saved in this run or found done. */
  done: number;
  /** Undefined when the notes come from an iterable of unknown length and no total was given. */
  total?: number;
  failed: number;
  /** Generated tokens per second of active (unpaused) time in this run. */
  tokensPerSecond: number;
  /** Seconds left at this run's pace; undefined until a note was annotated or without a total. */
  etaSeconds?: number;
  /** The note that just finished. */
  noteId?: string;
}

export interface RunSummary {
  done: number;
  failed: number;
  /** Notes found done before they were started (resumed runs). */
  skipped: number;
  cancelled: boolean;
}

export interface RunOptions<R> {
  notes: AsyncIterable<NoteInput> | Iterable<NoteInput>;
  total?: number;
  annotate: (note: NoteInput, signal?: AbortSignal) => Promise<R>;
  isDone: (id: string) => boolean | Promise<boolean>;
  save: (id: string, result: R) => void | Promise<void>;
  saveFailure: (id: string, error: ErrorData) => void | Promise<void>;
  /** Generated tokens of a result, for tokens per second. */
  tokensOf?: (result: R) => number;
  signal?: AbortSignal;
  pause?: PauseControl;
  onProgress?: (progress: RunProgress) => void;
}

/** Pause and resume a run between notes. */
export class PauseControl {
  private resumeWaiters: (() => void)[] = [];
  private isPaused = false;

  get paused(): boolean {
    return this.isPaused;
  }

  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    this.isPaused = false;
    const waiters = this.resumeWaiters;
    this.resumeWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves at once when not paused; otherwise on resume or when `signal` aborts. */
  whenResumed(signal?: AbortSignal): Promise<void> {
    if (!this.isPaused || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener("abort", done);
        resolve();
      };
      this.resumeWaiters.push(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}

export async function runAnnotation<R>(options: RunOptions<R>): Promise<RunSummary> {
  const total = options.total ?? (Array.isArray(options.notes) ? options.notes.length : undefined);
  const summary: RunSummary = { done: 0, failed: 0, skipped: 0, cancelled: false };
  let activeMs = 0;
  let tokens = 0;
  let annotated = 0;
  const progress = (noteId?: string): RunProgress => {
    const seconds = activeMs / 1000;
    const remaining = total !== undefined ? Math.max(0, total - summary.done - summary.failed) : undefined;
    return {
      done: summary.done,
      total,
      failed: summary.failed,
      tokensPerSecond: seconds > 0 ? tokens / seconds : 0,
      etaSeconds: remaining !== undefined && annotated > 0 ? (remaining * seconds) / annotated : undefined,
      noteId,
    };
  };

  for await (const note of options.notes) {
    await options.pause?.whenResumed(options.signal);
    if (options.signal?.aborted) {
      summary.cancelled = true;
      break;
    }
    if (await options.isDone(note.id)) {
      summary.done++;
      summary.skipped++;
      continue;
    }
    const started = performance.now();
    try {
      const result = await options.annotate(note, options.signal);
      if (options.signal?.aborted) throw new CancelledError("annotation");
      await options.save(note.id, result);
      summary.done++;
      tokens += options.tokensOf?.(result) ?? 0;
    } catch (error) {
      if (options.signal?.aborted || error instanceof CancelledError) {
        // The note in flight is neither saved nor failed: the next run does it again.
        summary.cancelled = true;
        break;
      }
      // Every note left would fail the same way: stop, and leave this note to the resumed run.
      if (error instanceof EngineLostError) throw error;
      await options.saveFailure(note.id, toErrorData(error));
      summary.failed++;
    }
    annotated++;
    activeMs += performance.now() - started;
    options.onProgress?.(progress(note.id));
  }
  return summary;
}

/** Runs again the notes whose ids are in `failedIds` (a failure record is replaced by `save` or a new `saveFailure`). */
export function retryFailed<R>(options: RunOptions<R>, failedIds: ReadonlySet<string>): Promise<RunSummary> {
  const source = options.notes;
  async function* onlyFailed(): AsyncIterable<NoteInput> {
    for await (const note of source) if (failedIds.has(note.id)) yield note;
  }
  return runAnnotation({ ...options, notes: onlyFailed(), total: failedIds.size });
}
