// A schema with attributes (one with a default, one without), two directed relation types
// and a single- and a multiple-choice document label, for the annotation tests.
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
