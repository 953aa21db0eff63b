// Typed errors of the annotation step. Each names what was expected, what came and what
// to do; the run loop records them per note (`saveFailure`) so a failed note can be retried.

import { AppError, type ErrorData } from "../errors.ts";

/** The chat endpoint answered with an HTTP error status. */
export class ChatHttpError extends AppError {
  override name = "ChatHttpError";
  constructor(
    readonly url: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(
      `${url} answered HTTP ${status}${body ? `: ${body.slice(0, 300)}` : ""}. ` +
        `Check that the server is running, the model name is right and the API key (if any) is valid.`,
    );
  }
  override toData(): ErrorData {
    return { name: this.name, message: this.message, file: this.url };
  }
}

/** The chat endpoint could not be reached or gave no answer in time. */
export class ChatUnavailableError extends AppError {
  override name = "ChatUnavailableError";
  constructor(
    readonly url: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${url}: ${problem}`, options);
  }
  override toData(): ErrorData {
    return { name: this.name, message: this.message, file: this.url };
  }
}

/** The engine answered, but not in the shape of an OpenAI chat completion. */
export class ChatResponseError extends AppError {
  override name = "ChatResponseError";
}

/** The model's answer is not readable as the requested format, even after repair. */
export class UnparseableOutputError extends AppError {
  override name = "UnparseableOutputError";
  constructor(
    readonly problem: string,
    readonly output: string,
  ) {
    super(
      `The model's answer could not be read (${problem}). It began: ${JSON.stringify(output.slice(0, 120))}. ` +
        `The note is marked failed and can be retried.`,
    );
  }
}

/** A few-shot example is one of the notes that must not be shown to the model (evaluation notes). */
export class ExampleLeakError extends AppError {
  override name = "ExampleLeakError";
  constructor(
    readonly noteId: string,
    readonly split: "gold" | "dev" = "gold",
  ) {
    super(
      `Few-shot example "${noteId}" is a ${split} note: ${split === "gold" ? "gold notes are the evaluation set" : "dev notes decide early stopping"}, ` +
        `and showing it to the model would inflate the scores. Pick examples from the annotated pool notes.`,
    );
  }
}

/**
 * The annotator cannot answer any more note: the local model was unloaded (WebLLM unloads
 * it when the GPU device is lost). A run stops on it instead of failing every note left,
 * and resumes once the model is loaded again.
 */
export class EngineLostError extends AppError {
  override name = "EngineLostError";
}

/** The prompt (schema, guideline, examples, note) does not fit the model's context. */
export class PromptTooLongError extends AppError {
  override name = "PromptTooLongError";
}

/**
 * How engines say a prompt did not fit: WebLLM ("Prompt tokens exceed context window
 * size"), vLLM ("This model's maximum context length is 4096 tokens"), llama.cpp ("the
 * request exceeds the available context size"), OpenAI ("context_length_exceeded").
 */
export const CONTEXT_OVERFLOW = /exceed[s]? (?:the )?(?:available )?context|context window size|maximum context length|context_length_exceeded|prompt is too long/i;

/** A term list cannot be used as given (a cue naming an attribute or value the schema lacks). */
export class TermListError extends AppError {
  override name = "TermListError";
  constructor(
    readonly type: string,
    readonly problem: string,
  ) {
    super(`Term list for ${type}: ${problem}`);
  }
}
