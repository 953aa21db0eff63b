// A stored model run over a project's notes: the "infer" run. Notes are read and predicted
// a chunk at a time, and each note's spans are saved (origin "model", the run's id) as soon
// as its windows are done, so a reload resumes where the last saved note left off: a run
// given its own id again skips the notes it already wrote.
//
// A second, task model may label what the entity model found: an attribute model sets each
// span's attributes, a relation model relates the spans, and a document-label model labels
// each note (it needs no entity model). Then a chunk's notes are saved together once the task
// model has seen them, so a reload redoes at most that chunk.

import type { Span } from "../corpus/types.ts";
import { CancelledError, ModelFormatError, SettingError, NotFoundError, toErrorData } from "../errors.ts";
import type { SessionOptions } from "../onnx/run.ts";
import { type AnnotationInput, noteIdsDoneByRun, putAnnotation, putAnnotations } from "../store/annotations.ts";
import type { AppDatabase, RunRow, Split } from "../store/db.ts";
import { ONNX_FILES, getModel, getModelFile } from "../store/models.ts";
import { getNotes, listNoteIds } from "../store/notes.ts";
import { createRun, getRun, updateRun } from "../store/runs.ts";
import { loadTokenizer } from "../text/tokenizer.ts";
import { type StoredTaskPredictor, loadStoredTaskPredictor, storedTaskOf } from "../train/task-predict.ts";
import type { TaskPrediction } from "../train/task-train.ts";
import { parseConfig } from "./config.ts";
import { type PredictOptions, type Predictor, createPredictor } from "./predict.ts";


/** A predictor for a model stored in the database (config.json, tokenizer.json, onnx/model.onnx). */
export async function loadStoredPredictor(db: AppDatabase, modelId: string, session?: SessionOptions): Promise<Predictor> {
  const model = await getModel(db, modelId);
  const text = async (name: string) => new TextDecoder().decode(await getModelFile(db, modelId, name));
  const onnxFile = ONNX_FILES.find((name) => name in model.files);
  if (!onnxFile) {
    throw new ModelFormatError(
      "onnx/model.onnx",
      `model "${model.name}" has no ONNX graph (it has ${Object.keys(model.files).join(", ") || "no files"}); export or train it to ONNX first.`,
    );
  }
  const config = parseConfig(await text("config.json"));
  const tokenizerConfig = "tokenizer_config.json" in model.files ? JSON.parse(await text("tokenizer_config.json")) : {};
  // Offsets are checked against the library in tests; here the second tokenization would double the cost.
  const tokenizer = loadTokenizer(JSON.parse(await text("tokenizer.json")), tokenizerConfig, { verify: false });
  return createPredictor({ onnx: await getModelFile(db, modelId, onnxFile), config, tokenizer, session });
}

export interface InferRunRequest {
  projectId: string;
  /** The entity model; absent only when a document-label model labels the notes alone. */
  modelId?: string;
  /** An attribute, relation or document-label model that labels what the entity model found. */
  taskModelId?: string;
  /** Resume this run (its saved notes are skipped); a new run is created when absent. */
  runId?: string;
  /** Only the notes of this split (default all of the project's notes). */
  split?: Split;
  /** Only these notes (overrides split). */
  noteIds?: number[];
  batchSize?: number;
  maxLength?: number;
  stride?: number;
  /** Notes read and predicted together (default 64): windows are sorted by length within it. */
  notesPerChunk?: number;
  session?: SessionOptions;
}

export interface InferProgress {
  runId: string;
  /** Notes saved, found done included. */
  done: number;
  total: number;
  /** Notes found done from an earlier attempt of this run. */
  skipped: number;
  notesPerSecond: number;
  etaSeconds?: number;
}

export interface InferSummary {
  runId: string;
  done: number;
  total: number;
  skipped: number;
  spans: number;
  /** Attributes set, relations found and document labels given by the task model. */
  attributes: number;
  relations: number;
  labels: number;
  cancelled: boolean;
}

export interface InferRunOptions {
  signal?: AbortSignal;
  onProgress?: (progress: InferProgress) => void;
  /** A predictor to use instead of loading the stored entity model (tests). */
  predictor?: Predictor;
}

/** What one note's run saves: the entity model's spans (with attributes) and the task model's relations or labels. */
type NoteResult = Pick<AnnotationInput, "spans" | "relations" | "labels">;

export async function runInference(db: AppDatabase, request: InferRunRequest, options: InferRunOptions = {}): Promise<InferSummary> {
  const run = await startRun(db, request);
  const noteIds = request.noteIds ?? (await listNoteIds(db, request.projectId, request.split));
  const alreadyDone = await noteIdsDoneByRun(db, run.id);
  const todo = noteIds.filter((id) => !alreadyDone.has(id));
  const summary: InferSummary = { runId: run.id, done: noteIds.length - todo.length, total: noteIds.length, skipped: noteIds.length - todo.length, spans: 0, attributes: 0, relations: 0, labels: 0, cancelled: false };
  const started = performance.now();
  const progress = (): InferProgress => {
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? (summary.done - summary.skipped) / seconds : 0;
    return {
      runId: run.id,
      done: summary.done,
      total: summary.total,
      skipped: summary.skipped,
      notesPerSecond: rate,
      etaSeconds: rate > 0 ? (summary.total - summary.done) / rate : undefined,
    };
  };
  await updateRun(db, run.id, { status: "running", progress: progress() });

  let predictor: Predictor | undefined;
  let taskPredictor: StoredTaskPredictor | undefined;
  const predictOptions: PredictOptions = { batchSize: request.batchSize, maxLength: request.maxLength, stride: request.stride, signal: options.signal };
  const chunkSize = request.notesPerChunk ?? 64;
  try {
    taskPredictor = request.taskModelId === undefined ? undefined : await loadTaskPredictor(db, request.taskModelId, request);
    if (request.modelId !== undefined) predictor = options.predictor ?? (await loadStoredPredictor(db, request.modelId, request.session));
    if (!predictor && !taskPredictor) throw new SettingError("Model", "no model was chosen: choose an entity model or a document-label model to run.");
    options.onProgress?.(progress());
    const saved = (result: NoteResult) => {
      summary.done++;
      summary.spans += result.spans.length;
      summary.attributes += result.spans.reduce((sum, span) => sum + Object.keys(span.attributes ?? {}).length, 0);
      summary.relations += result.relations?.length ?? 0;
      summary.labels += Object.keys(result.labels ?? {}).length;
      options.onProgress?.(progress());
    };
    for (let start = 0; start < todo.length; start += chunkSize) {
      if (options.signal?.aborted) throw new CancelledError("prediction");
      const notes = await getNotes(db, todo.slice(start, start + chunkSize));
      const texts = notes.map((note) => note.text);
      if (!taskPredictor) {
        // Entity spans alone: each note is saved as soon as its windows are done.
        await predictor!.predict(texts, {
          ...predictOptions,
          onResult: async (index: number, spans: Span[]) => {
            await putAnnotation(db, { noteId: notes[index].id, origin: "model", runId: run.id, spans });
            saved({ spans });
          },
        });
      } else {
        const found = predictor ? await predictor.predict(texts, predictOptions) : texts.map((): Span[] => []);
        if (options.signal?.aborted) throw new CancelledError("prediction");
        const onFound = texts.map((text, i) => ({ text, spans: found[i] }));
        const results = withTaskPrediction(found, await taskPredictor.predict(onFound));
        await putAnnotations(db, results.map((result, i) => ({ noteId: notes[i].id, origin: "model", runId: run.id, ...result })));
        results.forEach(saved);
      }
      await updateRun(db, run.id, { progress: progress() });
    }
    await updateRun(db, run.id, { status: "done", progress: progress() });
  } catch (error) {
    const cancelled = error instanceof CancelledError || options.signal?.aborted === true;
    await updateRun(db, run.id, { status: cancelled ? "cancelled" : "failed", progress: { ...progress(), error: cancelled ? undefined : toErrorData(error) } });
    if (!cancelled) throw error;
    summary.cancelled = true;
  } finally {
    if (!options.predictor) await predictor?.release();
    await taskPredictor?.release();
  }
  return summary;
}

/** The stored task model, refused when it has no task head or needs entities no entity model gives. */
async function loadTaskPredictor(db: AppDatabase, taskModelId: string, request: InferRunRequest): Promise<StoredTaskPredictor> {
  const adaptation = await storedTaskOf(db, taskModelId);
  const name = (await getModel(db, taskModelId)).name;
  if (!adaptation) {
    throw new ModelFormatError("adaptation.json", `model "${name}" has no attribute, relation or document-label head that this app trained; choose a model trained for such a task.`);
  }
  if (adaptation.task.kind !== "document" && request.modelId === undefined) {
    throw new SettingError("Entity model", `model "${name}" labels entities (${adaptation.task.kind}): choose an entity model to find them first.`);
  }
  return loadStoredTaskPredictor(db, taskModelId, adaptation, request.session);
}

/** Each note's spans with the task model's attributes set, or its relations or labels beside them. */
function withTaskPrediction(found: readonly Span[][], prediction: TaskPrediction): NoteResult[] {
  return found.map((spans, i) => {
    if (prediction.kind === "attributes") {
      const attributes = prediction.attributes[i];
      return { spans: spans.map((span, j) => (attributes.has(j) ? { ...span, attributes: attributes.get(j) } : span)) };
    }
    if (prediction.kind === "relations") return { spans, relations: prediction.relations[i] };
    const labels = prediction.labels[i];
    return labels ? { spans, labels } : { spans };
  });
}

async function startRun(db: AppDatabase, request: InferRunRequest): Promise<RunRow> {
  const { runId, session: _, ...config } = request;
  if (runId === undefined) return createRun(db, { projectId: request.projectId, kind: "infer", config });
  const run = await getRun(db, runId);
  if (run.kind !== "infer" || run.projectId !== request.projectId) {
    throw new NotFoundError(`Run ${runId} is not an inference run of this project; start a new run instead.`);
  }
  return run;
}
