// File names as the import sees them: "folder/sub/note.txt", folder path kept, because two
// folders may each hold a "note1.txt" and the ids must stay apart.

/** The name without its last extension: "ward3/note1.txt" -> "ward3/note1". */
export function stripExtension(name: string): string {
  const dot = name.lastIndexOf(".");
  const slash = Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\"));
  return dot > slash + 1 ? name.slice(0, dot) : name;
}

/** The last extension, lower-cased, without the dot: "A.TSV" -> "tsv"; "" when none. */
export function extensionOf(name: string): string {
  const stem = stripExtension(name);
  return stem === name ? "" : name.slice(stem.length + 1).toLowerCase();
}
