// Shared by the store tests: a fresh database per test and a stand-in for contentHash.
import { afterEach } from "vitest";
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

/** FNV-1a: enough for tests; the app uses src/core/corpus/hash.ts. */
export function testHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0") + ":" + text.length;
}

export function hashed(externalId: string, text: string, sourceFile = "notes.txt", spans?: Span[]): HashedNote {
  const note: ParsedNote = { externalId, text, sourceFile };
  if (spans) note.spans = spans;
  return { note, hash: testHash(text) };
}
