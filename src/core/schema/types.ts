// A task schema: what the annotators (LLM, human) mark and what the model learns.
// Entity types now; attributes, relations and document labels are part of the type so
// projects made today keep working when those screens arrive.

export interface EntityType {
  name: string;
  /** CSS colour used to highlight spans of this type. */
  color: string;
  definition: string;
  examples: string[];
  attributes?: AttributeDef[];
}

export interface AttributeDef {
  name: string;
  values: string[];
  default?: string;
}

export interface RelationType {
  name: string;
  from: string[];
  to: string[];
  directed: boolean;
}

export interface DocumentLabelDef {
  name: string;
  values: string[];
  multiple: boolean;
}

export interface TaskSchema {
  entityTypes: EntityType[];
  relationTypes: RelationType[];
  documentLabels: DocumentLabelDef[];
  /** Free-text annotation guideline shown to annotators and put in the LLM prompt. */
  guideline: string;
}

const PALETTE = ["#f4a261", "#2a9d8f", "#e76f51", "#8ab17d", "#e9c46a", "#7aa6c2", "#b392ac", "#d4a5a5", "#90be6d"];

export function colorForIndex(index: number): string {
  return PALETTE[index % PALETTE.length];
}

export function emptySchema(): TaskSchema {
  return { entityTypes: [], relationTypes: [], documentLabels: [], guideline: "" };
}

/** A schema with the given type names, each with a default colour and no definition yet. */
export function schemaWithTypes(names: string[]): TaskSchema {
  return {
    ...emptySchema(),
    entityTypes: names.map((name, index) => ({ name, color: colorForIndex(index), definition: "", examples: [] })),
  };
}
