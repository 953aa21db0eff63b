import { describe, expect, it } from "vitest";
import { ExampleLeakError } from "../../../src/core/annotate/errors.ts";
import { buildPrompt, promptHash, type PromptContext } from "../../../src/core/annotate/prompt.ts";
import type { TaskSchema } from "../../../src/core/schema/types.ts";

const schema: TaskSchema = {
  entityTypes: [
    { name: "DISO", color: "#f00", definition: "Enfermedades, signos y síntomas.", examples: ["fiebre", "EPOC"] },
    { name: "CHEM", color: "#0f0", definition: "Fármacos y sustancias.", examples: ["paracetamol"] },
  ],
  relationTypes: [],
  documentLabels: [],
  guideline: "Marque las entidades negadas también.",
};
const example = { id: "train-7", text: "tos y fiebre; la tos cede.", spans: [{ start: 17, end: 20, type: "DISO" }, { start: 6, end: 12, type: "DISO" }] };
const context: PromptContext = { schema, examples: [example], format: "grouped-json" };

describe("buildPrompt", () => {
  it("puts definitions, examples, guideline, format and JSON request in the system turn, and the examples as turns", () => {
    const prompt = buildPrompt("Paciente con disnea.", context);
    const [system, exampleUser, exampleAnswer, user] = prompt.messages;
    expect(system.role).toBe("system");
    for (const piece of ["DISO: Enfermedades, signos y síntomas.", '"fiebre", "EPOC"', "CHEM: Fármacos", "Marque las entidades negadas", "Answer with JSON only"]) {
      expect(system.content).toContain(piece);
    }
    expect(exampleUser).toEqual({ role: "user", content: 'Note:\n"""\ntos y fiebre; la tos cede.\n"""' });
    // "tos" occurs twice but only the second is gold: it is written with its occurrence number.
    expect(exampleAnswer).toEqual({ role: "assistant", content: '{"DISO":["fiebre","tos #2"]}' });
    expect(user).toEqual({ role: "user", content: 'Note:\n"""\nPaciente con disnea.\n"""' });
    expect(prompt.responseFormat).toEqual({
      type: "json_schema",
      json_schema: {
        name: "entities",
        strict: true,
        schema: {
          type: "object",
          properties: { DISO: { type: "array", items: { type: "string" } }, CHEM: { type: "array", items: { type: "string" } } },
          additionalProperties: false,
        },
      },
    });
  });

  it("gives entities-json a type enum", () => {
    const prompt = buildPrompt("x", { ...context, format: "entities-json" });
    const schemaOut = prompt.responseFormat!.type === "json_schema" ? prompt.responseFormat!.json_schema.schema : {};
    expect(JSON.stringify(schemaOut)).toContain('"enum":["DISO","CHEM"]');
  });

  it("does not let $ patterns in a note change it", () => {
    expect(buildPrompt("cost $& and $1", context).messages.at(-1)!.content).toContain("cost $& and $1");
  });

  it("refuses an evaluation note as an example", () => {
    expect(() => buildPrompt("x", { ...context, forbiddenIds: new Set(["train-7"]) })).toThrow(ExampleLeakError);
    expect(() => buildPrompt("x", { ...context, forbiddenIds: new Set(["test-1"]) })).not.toThrow();
  });

  it("hashes the template stably: the same for every note, different when schema, examples or format change", () => {
    const hash = promptHash(context);
    expect(buildPrompt("una nota", context).hash).toBe(hash);
    expect(buildPrompt("otra nota", context).hash).toBe(hash);
    expect(promptHash({ ...context })).toBe(hash);
    expect(promptHash({ ...context, examples: [] })).not.toBe(hash);
    expect(promptHash({ ...context, format: "lines" })).not.toBe(hash);
    expect(promptHash({ ...context, guideline: "Otra guía." })).not.toBe(hash);
    const changed = { ...schema, entityTypes: [{ ...schema.entityTypes[0], definition: "Otra." }, schema.entityTypes[1]] };
    expect(promptHash({ ...context, schema: changed })).not.toBe(hash);
  });

  it("writes entity-only prompts byte for byte as before attributes, relations and labels existed (hashes taken before that change)", () => {
    const plain: TaskSchema = {
      entityTypes: [
        { name: "DISO", color: "#f00", definition: "Enf.", examples: ["fiebre"] },
        { name: "CHEM", color: "#0f0", definition: "", examples: [] },
      ],
      relationTypes: [],
      documentLabels: [],
      guideline: "Guía.",
    };
    const shown = { id: "e", text: "tos y fiebre; la tos cede. tos", spans: [{ start: 17, end: 20, type: "DISO" }, { start: 6, end: 12, type: "DISO" }, { start: 27, end: 30, type: "DISO" }] };
    const hashes = Object.fromEntries(
      (["entities-json", "grouped-json", "lines", "grouped-lines", "type-rows"] as const).map((format) => [format, buildPrompt("Nota con fiebre.", { schema: plain, examples: [shown], format }).hash]),
    );
    expect(hashes).toEqual({
      "entities-json": "ed1d9eeca35a6c69",
      "grouped-json": "cbf4bb1fe4991abe",
      lines: "d003009be7a0ad37",
      "grouped-lines": "243fcd9e564c82a5",
      "type-rows": "cd92ad8c46ef0f71",
    });
  });
});
