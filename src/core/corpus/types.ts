// The shapes every file format turns into, and every exporter reads.

/** A character span in a note's text: [start, end) in UTF-16 code units, as JS strings index. */
export interface Span {
  start: number;
  end: number;
  type: string;
  /** Confidence in [0, 1] where the annotator gives one (LLM, model). */
  confidence?: number;
  /** Entity attributes, e.g. { certainty: "negated" } (schema attributes, later). */
  attributes?: Record<string, string>;
}

/**
 * A relation between two spans of one note's annotation: `from` and `to` index that
 * annotation's span list (as brat's R lines name T ids). An undirected relation type still
 * stores an order; comparisons ignore it.
 */
export interface Relation {
  type: string;
  from: number;
  to: number;
  confidence?: number;
}

/** Document-level labels of a note: label name → the chosen value(s) (one for single choice). */
export type DocumentLabels = Record<string, string[]>;

/** One note as a parser produced it, before it is stored. */
export interface ParsedNote {
  /** The id the source gave (file name, CSV id column, JSONL id), unique within an import. */
  externalId: string;
  /** The text exactly as decoded: every offset depends on it. */
  text: string;
  /** Annotations that came with the file (JSONL entities, brat .ann, CoNLL tags). */
  spans?: Span[];
  /** Relations between those spans (brat R lines, JSONL `relations`). */
  relations?: Relation[];
  /** Document labels (JSONL `labels`). */
  labels?: DocumentLabels;
  /** The file the note came from, for messages. */
  sourceFile: string;
}

/** A file as the import sees it: a name (with its folder path, if any) and its bytes. */
export interface InputFile {
  name: string;
  bytes: Uint8Array;
}
