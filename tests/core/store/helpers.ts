// Shared by the store tests: a fresh database per test, and notes hashed as an import hashes them.
import { afterEach } from "vitest";
import { contentHash } from "../../../src/core/corpus/hash.ts";
import type { ParsedNote, Span } from "../../../src/core/corpus/types.ts";
import { AppDatabase } from "../../../src/core/store/db.ts";
import type { HashedNote } from "../../../src/core/store/notes.ts";

const opened: AppDatabase[] = [];

afterEach(async () => {
  for (const db of opened.splice(0)) await db.delete();
});

/** A new, empty database with a unique name; deleted after the test. `setup` runs before it opens. */
export function freshDatabase(setup?: (db: AppDatabase) => void): AppDatabase {
  const db = new AppDatabase(`test-${crypto.randomUUID()}`);
  setup?.(db);
  opened.push(db);
  return db;
}

export function hashed(externalId: string, text: string, sourceFile = "notes.txt", spans?: Span[]): HashedNote {
  const note: ParsedNote = { externalId, text, sourceFile };
  if (spans) note.spans = spans;
  return { note, hash: contentHash(text) };
}
