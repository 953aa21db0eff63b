// The store's public surface: import from here, not from dexie.
export * from "./db.ts";
export * from "./projects.ts";
export * from "./imports.ts";
export * from "./notes.ts";
export * from "./annotations.ts";
export * from "./models.ts";
export * from "./runs.ts";
export * from "./usage.ts";
export * from "./project-file.ts";
