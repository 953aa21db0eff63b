// Typed errors. Each says what was expected, what came, and what to do, and carries the
// data a screen needs to show it (which file, which line). They cross worker boundaries
// as plain objects (`toErrorData`) and are rebuilt on the other side (`fromErrorData`).

export interface ErrorData {
  name: string;
  message: string;
  file?: string;
  line?: number;
  /** The message without the file and line, for errors that name a file. */
  problem?: string;
  /** A Hub download's model id and what went wrong (HubError). */
  modelId?: string;
  reason?: string;
}

export class AppError extends Error {
  override name = "AppError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
  toData(): ErrorData {
    return { name: this.name, message: this.message };
  }
}

/** A file the user gave us cannot be read: names the file and, where known, the line. */
export class InputFileError extends AppError {
  override name = "InputFileError";
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly line?: number,
  ) {
    super(`${file}${line !== undefined ? `, line ${line}` : ""}: ${problem}`);
  }
  override toData(): ErrorData {
    return { name: this.name, message: this.message, file: this.file, line: this.line, problem: this.problem };
  }
}

/** The browser refused to store more data (IndexedDB quota). */
export class StorageFullError extends AppError {
  override name = "StorageFullError";
  constructor(what: string, options?: { cause?: unknown }) {
    super(
      `Storage is full: ${what} was not saved and nothing else was changed. ` +
        `Free space by deleting old projects or models, or allow the site more storage.`,
      options,
    );
  }
}

/** A graph value has the wrong shape or dtype for an op: names the op, expected and actual. */
export class ShapeError extends AppError {
  override name = "ShapeError";
}

/** A model folder, config or weights file is not what we can use. */
export class ModelFormatError extends AppError {
  override name = "ModelFormatError";
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
  override toData(): ErrorData {
    return { name: this.name, message: this.message, file: this.file, problem: this.problem };
  }
}

/** Something the caller asked for does not exist (a project, a note, a model). */
export class NotFoundError extends AppError {
  override name = "NotFoundError";
}

/** Why a model could not be downloaded from a Hugging Face Hub (or a mirror of one). */
export type HubProblem =
  | "offline"
  | "not-allowed"
  | "bad-reference"
  | "unauthorized"
  | "not-found"
  | "not-token-classification"
  | "http"
  | "unreachable"
  | "truncated"
  | "bad-file";

/** A model download from the Hub failed: names the model id, the file (when one) and the problem. */
export class HubError extends AppError {
  override name = "HubError";
  constructor(
    readonly modelId: string,
    readonly file: string | undefined,
    readonly reason: HubProblem,
    readonly problem: string,
  ) {
    super(`${modelId}${file ? `, ${file}` : ""}: ${problem}`);
  }
  override toData(): ErrorData {
    return { name: this.name, message: this.message, file: this.file, problem: this.problem, modelId: this.modelId, reason: this.reason };
  }
}

/** The user cancelled a long operation. */
export class CancelledError extends AppError {
  override name = "CancelledError";
  constructor(what = "operation") {
    super(`The ${what} was cancelled.`);
  }
}

/** A value the user set is not usable: names the setting and what is wrong with it. */
export class SettingError extends AppError {
  override name = "SettingError";
  constructor(
    readonly setting: string,
    readonly problem: string,
  ) {
    super(`${setting}: ${problem}`);
  }
}

/**
 * The GPU device a computation ran on was lost: a driver reset, the GPU process crashed,
 * another tab took the GPU, or the device was destroyed. Its buffers are gone; work can
 * only go on from data on the host (a checkpoint) or on another backend.
 */
export class DeviceLostError extends AppError {
  override name = "DeviceLostError";
  constructor(
    /** GPUDeviceLostInfo.reason ("destroyed" or "unknown"), "" when not known. */
    readonly reason: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`The GPU stopped (device lost${reason ? `, reason "${reason}"` : ""})${detail ? `: ${detail.replace(/\.$/, "")}` : ""}.`, options);
  }
}

/**
 * A task schema is not usable: names where (`entity type "DISO", attribute "certainty"`)
 * and what is wrong, so the schema editor can point at the field.
 */
export class SchemaError extends AppError {
  override name = "SchemaError";
  constructor(
    readonly where: string,
    readonly problem: string,
  ) {
    super(`${where}: ${problem}`);
  }
}

export function toErrorData(error: unknown): ErrorData {
  if (error instanceof AppError) return error.toData();
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}

/** Rebuild a typed error from its data on the far side of a worker boundary. */
export function fromErrorData(data: ErrorData): Error {
  switch (data.name) {
    case "InputFileError":
      return new InputFileError(data.file ?? "?", data.problem ?? data.message, data.line);
    case "ModelFormatError":
      return new ModelFormatError(data.file ?? "?", data.problem ?? data.message);
    case "StorageFullError": {
      const error = new StorageFullError("data");
      error.message = data.message;
      return error;
    }
    case "ShapeError":
      return new ShapeError(data.message);
    case "NotFoundError":
      return new NotFoundError(data.message);
    case "HubError":
      return new HubError(data.modelId ?? "?", data.file, (data.reason ?? "http") as HubProblem, data.problem ?? data.message);
    case "DeviceLostError": {
      const error = new DeviceLostError("", "");
      error.message = data.message;
      return error;
    }
    case "CancelledError": {
      const error = new CancelledError();
      error.message = data.message;
      return error;
    }
    default: {
      const error = new AppError(data.message);
      error.name = data.name;
      return error;
    }
  }
}
