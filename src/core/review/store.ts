// Reviews in the store: what a review session starts from, where it is saved, which notes
// come next, and the agreement of the saved reviews.
//
// Choices:
// - A review is the human row (noteId, "human", `review:<reviewer>`): the spans (with their
//   attributes), relations and labels the reviewer kept; meta.review names the reviewer,
//   each span's sources, the rejected candidate spans and relations. A human row written
//   before reviews existed (runId "", no meta) reads as the unnamed reviewer "".
// - A session's candidates are the latest row of each machine origin (llm, model, import)
//   on the note. Other people's reviews are NOT shown: human-vs-human agreement needs two
//   independent readings.
// - The queue holds the project's notes (every split: gold notes need a review too) that
//   this reviewer has not reviewed, ranked by rank.ts.

import type { Span } from "../corpus/types.ts";
import { AppError } from "../errors.ts";
import { agreementReport, type AgreementReport, type ReviewRecord } from "../eval/review-agreement.ts";
import { annotationsForNote, listAnnotations, putAnnotation } from "../store/annotations.ts";
import type { AnnotationRow, AppDatabase, NoteRow } from "../store/db.ts";
import { findNotes, getNote, listNoteIds } from "../store/notes.ts";
import { rankNotes, type RankedNote } from "./rank.ts";
import type { CandidateSet, ReviewResult, SavedReview } from "./session.ts";

const REVIEW_PREFIX = "review:";
const CANDIDATE_ORIGINS = ["llm", "model", "import"] as const;

export class ReviewerNameError extends AppError {
  override name = "ReviewerNameError";
  constructor() {
    super("Enter your name as reviewer first: each review is saved under its reviewer, so two people's reviews of a note can be compared.");
  }
}

/** The runId of a reviewer's rows. Throws for a blank name. */
export function reviewRunId(reviewer: string): string {
  const name = reviewer.trim();
  if (name === "") throw new ReviewerNameError();
  return `${REVIEW_PREFIX}${name}`;
}

/** Who wrote a human row: the reviewer it names, or "" for rows from before reviews. */
export function reviewerOf(row: AnnotationRow): string {
  if (row.meta?.review) return row.meta.review.reviewer;
  return row.runId.startsWith(REVIEW_PREFIX) ? row.runId.slice(REVIEW_PREFIX.length) : "";
}

function latest(rows: readonly AnnotationRow[]): AnnotationRow | undefined {
  return rows.reduce<AnnotationRow | undefined>((best, row) => (!best || row.updatedAt > best.updatedAt || (row.updatedAt === best.updatedAt && row.id > best.id) ? row : best), undefined);
}

function latestPerNote(rows: readonly AnnotationRow[]): Map<number, AnnotationRow> {
  const byNote = new Map<number, AnnotationRow[]>();
  for (const row of rows) byNote.set(row.noteId, [...(byNote.get(row.noteId) ?? []), row]);
  return new Map([...byNote].map(([noteId, noteRows]) => [noteId, latest(noteRows)!]));
}

export interface NoteReview {
  note: NoteRow;
  candidates: CandidateSet[];
  /** This reviewer's earlier review of the note. */
  saved?: SavedReview;
  /** When this reviewer last saved it. */
  savedAt?: number;
  /** Others who reviewed the note ("" for an unnamed one). */
  otherReviewers: string[];
}

export async function loadNoteReview(db: AppDatabase, noteId: number, reviewer: string): Promise<NoteReview> {
  const runId = reviewRunId(reviewer);
  const [note, rows] = await Promise.all([getNote(db, noteId), annotationsForNote(db, noteId)]);
  const candidates: CandidateSet[] = [];
  for (const origin of CANDIDATE_ORIGINS) {
    const row = latest(rows.filter((r) => r.origin === origin));
    if (row) candidates.push({ origin, runId: row.runId, spans: row.spans, ...(row.relations ? { relations: row.relations } : {}), ...(row.labels ? { labels: row.labels } : {}) });
  }
  const human = rows.filter((row) => row.origin === "human");
  const mine = human.find((row) => row.runId === runId);
  return {
    note,
    candidates,
    ...(mine ? { saved: savedReviewOf(mine), savedAt: mine.updatedAt } : {}),
    otherReviewers: [...new Set(human.filter((row) => row !== mine).map(reviewerOf))],
  };
}

/**
 * Stores a session's result as the reviewer's row for the note (replacing their earlier one):
 * spans with their attributes, the relations and labels the reviewer kept. Relations, labels
 * and rejected relations are left out when there are none, so a schema without them writes
 * the rows it wrote before.
 */
export async function saveNoteReview(db: AppDatabase, noteId: number, reviewer: string, result: ReviewResult): Promise<AnnotationRow> {
  const runId = reviewRunId(reviewer);
  return putAnnotation(db, {
    noteId,
    origin: "human",
    runId,
    spans: result.spans,
    ...(result.relations.length > 0 ? { relations: result.relations } : {}),
    ...(Object.keys(result.labels).length > 0 ? { labels: result.labels } : {}),
    meta: {
      review: {
        reviewer: reviewer.trim(),
        provenance: result.provenance,
        rejected: result.rejected,
        ...(result.rejectedRelations.length > 0 ? { rejectedRelations: result.rejectedRelations } : {}),
      },
    },
  });
}

function savedReviewOf(row: AnnotationRow): SavedReview {
  return {
    spans: row.spans,
    ...(row.relations ? { relations: row.relations } : {}),
    ...(row.labels ? { labels: row.labels } : {}),
    ...(row.meta?.review ? { meta: row.meta.review } : {}),
  };
}

/** Notes this reviewer has not reviewed, most useful first, each with its reason. */
export async function reviewQueue(db: AppDatabase, projectId: string, reviewer: string): Promise<RankedNote[]> {
  const runId = reviewRunId(reviewer);
  const [noteIds, llmRows, modelRows, humanRows] = await Promise.all([
    listNoteIds(db, projectId),
    listAnnotations(db, projectId, "llm"),
    listAnnotations(db, projectId, "model"),
    listAnnotations(db, projectId, "human"),
  ]);
  const reviewed = new Set(humanRows.filter((row) => row.runId === runId).map((row) => row.noteId));
  const llm = latestPerNote(llmRows);
  const model = latestPerNote(modelRows);
  return rankNotes(
    noteIds
      .filter((noteId) => !reviewed.has(noteId))
      .map((noteId) => ({
        noteId,
        ...(llm.has(noteId) ? { llm: llm.get(noteId)!.spans } : {}),
        ...(model.has(noteId) ? { model: model.get(noteId)!.spans } : {}),
      })),
  );
}

/** LLM vs human and human vs human agreement over the project's reviews, in total and by day. */
export async function projectAgreement(db: AppDatabase, projectId: string): Promise<AgreementReport> {
  const [humanRows, llmRows] = await Promise.all([listAnnotations(db, projectId, "human"), listAnnotations(db, projectId, "llm")]);
  const notes = await findNotes(db, [...new Set(humanRows.map((row) => row.noteId))]);
  const textOf = new Map(notes.map((note) => [note.id, note.text]));
  const reviews: ReviewRecord[] = humanRows
    .filter((row) => textOf.has(row.noteId))
    .map((row) => ({ noteId: row.noteId, text: textOf.get(row.noteId)!, reviewer: reviewerOf(row), reviewedAt: row.updatedAt, spans: row.spans }));
  const llm = latestPerNote(llmRows);
  return agreementReport(reviews, (noteId): readonly Span[] | undefined => llm.get(noteId)?.spans);
}
