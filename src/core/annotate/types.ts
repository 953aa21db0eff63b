// Shapes shared by the parts of the annotation step.

import type { Span } from "../corpus/types.ts";

/** One entity as the model (or a gold serializer) wrote it: words and a type, no offsets. */
export interface Mention {
  text: string;
  type: string;
  /**
   * Which occurrence of `text` in the note is meant, from 1 (see align.ts for how
   * occurrences are counted). Absent: every occurrence.
   */
  occurrence?: number;
}

/** A span with the evidence for it. */
export interface AnnotatedSpan extends Span {
  /** How the words were found in the note. */
  match: "exact" | "normalized" | "fuzzy" | "term" | "model";
  /** Similarity of the note's words to the mention's, 1 for exact and normalized matches. */
  score: number;
}

export interface UnplacedMention {
  mention: Mention;
  reason: string;
}

/** Something that went wrong without failing the note: shown to the user, kept in the run record. */
export interface Problem {
  kind: "repaired" | "rejected-type" | "truncated" | "too-many" | "bad-item" | "unplaced" | "retried" | "sample-failed";
  message: string;
}
