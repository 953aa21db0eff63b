import { describe, expect, it } from "vitest";
import { UnparseableOutputError } from "../../../src/core/annotate/errors.ts";
import { FORMAT_NAMES, outputFormat } from "../../../src/core/annotate/format.ts";
import { parseOutput, repairJson } from "../../../src/core/annotate/parse.ts";
import type { Mention } from "../../../src/core/annotate/types.ts";

const TYPES = ["DISO", "CHEM", "PROC"];

describe("parseOutput", () => {
  it("reads back what each format writes, occurrence numbers included", () => {
    const mentions: Mention[] = [
      { text: "fiebre", type: "DISO" },
      { text: "tos; seca", type: "DISO" },
      { text: "dolor", type: "DISO", occurrence: 2 },
      { text: "dolor", type: "DISO", occurrence: 4 },
      { text: 'amoxicilina "500"', type: "CHEM" },
      { text: "TAC", type: "PROC" },
    ];
    for (const name of FORMAT_NAMES) {
      const written = outputFormat(name).serialize(mentions, TYPES);
      const { mentions: read, problems } = parseOutput(written, name, TYPES);
      const expected = name === "type-rows" ? mentions.map((m) => ({ ...m, text: m.text.replace(";", ",") })) : mentions;
      expect({ name, read }).toEqual({ name, read: expected });
      expect(problems).toEqual([]);
    }
    expect(outputFormat("grouped-json").serialize(mentions, TYPES)).toBe(
      '{"DISO":["fiebre","tos; seca","dolor #2 #4"],"CHEM":["amoxicilina \\"500\\""],"PROC":["TAC"]}',
    );
  });

  it("reads type names with spaces and signs in every format, a longer name before one it starts with", () => {
    const types = ["Drug", "Drug name", "Adverse event", "Dose/route", "Síntoma"];
    const mentions: Mention[] = [
      { text: "ibuprofen", type: "Drug" },
      { text: "aspirin", type: "Drug name" },
      { text: "rash", type: "Adverse event" },
      { text: "10 mg po", type: "Dose/route" },
      { text: "tos", type: "Síntoma" },
    ];
    for (const name of FORMAT_NAMES) {
      const { mentions: read, problems } = parseOutput(outputFormat(name).serialize(mentions, types), name, types);
      expect({ name, read, problems }).toEqual({ name, read: mentions, problems: [] });
    }
    // As a model may write them: other case, a space before the colon.
    expect(parseOutput("adverse EVENT : rash; itching\nDose/route:10 mg", "type-rows", types).mentions.map((m) => [m.type, m.text])).toEqual([
      ["Adverse event", "rash"],
      ["Adverse event", "itching"],
      ["Dose/route", "10 mg"],
    ]);
  });

  it("strips code fences and prose, and says it repaired", () => {
    const output = 'Here are the entities:\n```json\n{"DISO": ["fiebre"], "CHEM": ["paracetamol"]}\n```\nHope this helps.';
    const { mentions, problems } = parseOutput(output, "grouped-json", TYPES);
    expect(mentions).toEqual([
      { text: "fiebre", type: "DISO" },
      { text: "paracetamol", type: "CHEM" },
    ]);
    expect(problems).toHaveLength(1);
    expect(problems[0].kind).toBe("repaired");
    expect(problems[0].message).toMatch(/code fence/);
  });

  it("removes trailing commas but not commas inside words", () => {
    const output = '{"entities":[{"text":"dolor, fiebre","type":"DISO",},{"text":"TAC","type":"PROC"},],}';
    const { mentions, problems } = parseOutput(output, "entities-json", TYPES);
    expect(mentions).toEqual([
      { text: "dolor, fiebre", type: "DISO" },
      { text: "TAC", type: "PROC" },
    ]);
    expect(problems[0].message).toMatch(/trailing commas/);
  });

  it("keeps the complete items of an answer cut at max_tokens", () => {
    const cutObject = parseOutput('{"entities":[{"text":"fiebre","type":"DISO"},{"text":"amoxi', "entities-json", TYPES, { truncated: true });
    expect(cutObject.mentions).toEqual([{ text: "fiebre", type: "DISO" }]);
    expect(cutObject.problems[0].kind).toBe("truncated");
    expect(cutObject.problems[0].message).toMatch(/max_tokens/);

    const cutGrouped = parseOutput('{"DISO":["fiebre","tos"],"CHEM":["amoxicilina","parac', "grouped-json", TYPES, { truncated: true });
    expect(cutGrouped.mentions.map((m) => m.text)).toEqual(["fiebre", "tos", "amoxicilina"]);

    const cutAfterKey = parseOutput('{"DISO":["fiebre"],"CHEM":', "grouped-json", TYPES);
    expect(cutAfterKey.mentions.map((m) => m.text)).toEqual(["fiebre"]);

    const cutLines = parseOutput("DISO|fiebre\nCHEM|amoxi", "lines", TYPES, { truncated: true });
    expect(cutLines.mentions).toEqual([{ text: "fiebre", type: "DISO" }]);
    expect(cutLines.problems[0].kind).toBe("truncated");
  });

  it("rejects unknown types visibly and matches type names case-insensitively", () => {
    const { mentions, rejected, problems } = parseOutput('{"diso":["fiebre"],"Medication":["paracetamol"],"Dose":["1 g"]}', "grouped-json", TYPES);
    expect(mentions).toEqual([{ text: "fiebre", type: "DISO" }]);
    expect(rejected).toEqual([
      { text: "paracetamol", type: "Medication" },
      { text: "1 g", type: "Dose" },
    ]);
    expect(problems).toEqual([{ kind: "rejected-type", message: expect.stringMatching(/2 mention.*"Medication", "Dose"/) }]);
  });

  it("caps a looping answer of 10,000 mentions with a warning", () => {
    const output = JSON.stringify({ DISO: Array.from({ length: 10_000 }, (_, i) => `síntoma ${i}`) });
    const { mentions, problems } = parseOutput(output, "grouped-json", TYPES);
    expect(mentions).toHaveLength(1000);
    expect(mentions[999].text).toBe("síntoma 999");
    expect(problems).toEqual([{ kind: "too-many", message: expect.stringMatching(/10000 mentions; only the first 1000/) }]);
  });

  it("reports items of the wrong shape without failing the answer", () => {
    const { mentions, problems } = parseOutput('{"entities":[{"text":"fiebre","type":"DISO"},{"name":"x"},"tos"]}', "entities-json", TYPES);
    expect(mentions).toEqual([{ text: "fiebre", type: "DISO" }]);
    expect(problems.filter((p) => p.kind === "bad-item")).toHaveLength(2);
  });

  it("throws a typed error for an answer that is not JSON even after repair", () => {
    for (const output of ["I could not find any entities in this note.", '{"DISO":', "[1, 2"]) {
      expect(() => parseOutput(output, "grouped-json", TYPES)).toThrow(UnparseableOutputError);
    }
    expect(() => parseOutput("Sorry, no entities here.", "lines", TYPES)).toThrow(UnparseableOutputError);
    expect(parseOutput("", "lines", TYPES).mentions).toEqual([]);
  });
});

describe("repairJson", () => {
  it("closes nested structures after the last complete item", () => {
    expect(repairJson('{"a":[["x","y"],["z"')).toEqual({ text: '{"a":[["x","y"],["z"]]}', notes: ["cut after the last complete item (unfinished answer)"] });
  });
});
