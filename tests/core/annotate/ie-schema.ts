// A schema with attributes (one with a default, one without), two directed relation types
// and a single- and a multiple-choice document label, for the annotation tests; and an
// answer that uses all of them.
import type { Mention } from "../../../src/core/annotate/types.ts";
import type { TaskSchema } from "../../../src/core/schema/types.ts";

export const IE_SCHEMA: TaskSchema = {
  entityTypes: [
    {
      name: "DISO",
      color: "#f00",
      definition: "Enfermedades.",
      examples: [],
      attributes: [
        { name: "certainty", values: ["affirmed", "negated", "suspected"], default: "affirmed" },
        { name: "temporality", values: ["current", "past"] },
      ],
    },
    { name: "CHEM", color: "#0f0", definition: "Fármacos.", examples: [] },
    { name: "DOSE", color: "#00f", definition: "Dosis.", examples: [] },
  ],
  relationTypes: [
    { name: "has_dose", from: ["CHEM"], to: ["DOSE"], directed: true },
    { name: "treats", from: ["CHEM"], to: ["DISO"], directed: true },
  ],
  documentLabels: [
    { name: "smoking", values: ["current", "former", "never"], multiple: false },
    { name: "services", values: ["urgencias", "cardiología"], multiple: true },
  ],
  guideline: "",
};

/** An answer for IE_SCHEMA: attributes (one non-default, one two-valued), an occurrence, relations between positions, both labels. */
export const MENTIONS: Mention[] = [
  { text: "fiebre", type: "DISO", attributes: { certainty: "negated" } },
  { text: "tos", type: "DISO" },
  { text: "dolor", type: "DISO", occurrence: 2, attributes: { certainty: "suspected", temporality: "past" } },
  { text: "paracetamol", type: "CHEM" },
  { text: "1 g", type: "DOSE" },
];
export const RELATIONS = [
  { type: "has_dose", from: 3, to: 4 },
  { type: "treats", from: 3, to: 0 },
];
export const LABELS = { smoking: ["former"], services: ["urgencias", "cardiología"] };
