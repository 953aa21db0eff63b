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
  /** Attribute name -> value, only values other than the attribute's default (schema names, checked). */
  attributes?: Record<string, string>;
}

/** A relation as the model wrote it: between two items of its answer, by position (from 1). */
export interface ItemRelation {
  type: string;
  from: number;
  to: number;
}

/** A relation to write (few-shot examples, benchmark): between two mentions, by index into the mention list. */
export interface MentionRelation {
  type: string;
  from: number;
  to: number;
}

/** A span with the evidence for it. */
export interface AnnotatedSpan extends Span {
  /** How the words were found in the note. */
  match: "exact" | "normalized" | "fuzzy" | "term" | "model";
  /** Similarity of the note's words to the mention's, 1 for exact and normalized matches. */
  score: number;
  /** Per attribute in `attributes`: the fraction of samples that gave that value (self-consistency). */
  attributeConfidence?: Record<string, number>;
}

export interface UnplacedMention {
  mention: Mention;
  reason: string;
}

/** A relation the model gave that is not in the result: what it named, and why it was not kept. */
export interface UnplacedRelation {
  type: string;
  /** Its two ends as the model wrote them, e.g. `aspirin (Chemical)`, or `item 7` when there is no such item. */
  from: string;
  to: string;
  reason: string;
}

/** Something that went wrong without failing the note: shown to the user, kept in the run record. */
export interface Problem {
  kind:
    | "repaired"
    | "rejected-type"
    | "rejected-attribute"
    | "rejected-relation"
    | "rejected-label"
    | "truncated"
    | "too-many"
    | "bad-item"
    | "unplaced"
    | "unplaced-relation"
    | "retried"
    | "rechunked"
    | "sample-failed";
  message: string;
}
