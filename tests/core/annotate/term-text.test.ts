// Term lists as typed in the Annotate step, read into the lists the terms backend runs:
// cue words per attribute value with a window, checked against the schema before a run.
import { describe, expect, it } from "vitest";
import { TermListError } from "../../../src/core/annotate/errors.ts";
import { cueWords, staleCues, termListsFromText, withCue, type TermText } from "../../../src/core/annotate/term-text.ts";
import { termMatcher } from "../../../src/core/annotate/terms.ts";
import { IE_SCHEMA } from "./ie-schema.ts";

const empty: TermText = { terms: "", patterns: "" };

describe("term lists from typed text", () => {
  it("reads terms, patterns and cues (comma or line separated, window or the default) for every type", () => {
    let diso: TermText = { terms: "fiebre\n tos \n", patterns: "dolor \\w+" };
    diso = withCue(diso, "certainty", "negated", { words: "no, niega,\nsin , " });
    diso = withCue(diso, "certainty", "negated", { window: "3" });
    diso = withCue(diso, "temporality", "past", { words: "antecedentes de" });
    const lists = termListsFromText(IE_SCHEMA, { DISO: diso, CHEM: { terms: "aspirina", patterns: "" } });
    expect(lists).toEqual([
      {
        type: "DISO",
        terms: ["fiebre", "tos"],
        patterns: ["dolor \\w+"],
        cues: [
          { attribute: "certainty", value: "negated", words: ["no", "niega", "sin"], window: 3 },
          { attribute: "temporality", value: "past", words: ["antecedentes de"] },
        ],
      },
      { type: "CHEM", terms: ["aspirina"], patterns: [] },
      { type: "DOSE", terms: [], patterns: [] },
    ]);
    // The lists run: the cue negates what follows it within the window, not what is beyond it.
    const text = "Niega fiebre. Sin dolor de cabeza ni nada de tos. Aspirina.";
    const spans = termMatcher(lists)(text).map((span) => [text.slice(span.start, span.end), span.attributes?.certainty ?? "-"]);
    expect(spans).toEqual([["fiebre", "negated"], ["dolor de", "negated"], ["tos", "-"], ["Aspirina", "-"]]);
  });

  it("lists cues in the schema's value order, whatever order they were typed in", () => {
    let diso = withCue(empty, "certainty", "suspected", { words: "posible" });
    diso = withCue(diso, "certainty", "negated", { words: "no" });
    expect(termListsFromText(IE_SCHEMA, { DISO: diso })[0].cues!.map((cue) => cue.value)).toEqual(["negated", "suspected"]);
  });

  it("drops a cue emptied of words and window, and ignores one with a window but no words", () => {
    let diso = withCue(empty, "certainty", "negated", { words: "no" });
    diso = withCue(diso, "certainty", "negated", { words: " " });
    expect(diso.cues).toEqual([{ attribute: "certainty", value: "negated", words: " ", window: "" }]);
    expect(withCue(diso, "certainty", "negated", { words: "" }).cues).toEqual([]);
    const windowOnly = withCue(empty, "certainty", "negated", { window: "2" });
    expect(termListsFromText(IE_SCHEMA, { DISO: windowOnly })[0].cues).toBeUndefined();
  });

  it("refuses a cue the schema does not allow, a bad window and a bad pattern, naming the type and the cue", () => {
    const oldValue = withCue(empty, "certainty", "refuted", { words: "descarta" });
    expect(() => termListsFromText(IE_SCHEMA, { DISO: oldValue })).toThrow(TermListError);
    expect(() => termListsFromText(IE_SCHEMA, { DISO: oldValue })).toThrow('Term list for DISO: cue 1 (certainty=refuted): "refuted" is not a value of certainty (affirmed, negated, suspected)');
    const noAttribute = withCue(empty, "certainty", "negated", { words: "no" });
    expect(() => termListsFromText(IE_SCHEMA, { CHEM: noAttribute })).toThrow('Term list for CHEM: cue 1 (certainty=negated) names the attribute "certainty", which CHEM does not have in the schema');
    const badWindow = withCue(noAttribute, "certainty", "negated", { window: "two" });
    expect(() => termListsFromText(IE_SCHEMA, { DISO: badWindow })).toThrow('Term list for DISO: the window of the certainty=negated cue must be a whole number of words above 0, not "two"');
    expect(() => termListsFromText(IE_SCHEMA, { DISO: { terms: "", patterns: "dolor (" } })).toThrow(/^Term list for DISO: the pattern dolor \( is not a valid regular expression/);
  });

  it("finds the cues left from an older schema, and splits cue words", () => {
    const diso = withCue(withCue(empty, "certainty", "negated", { words: "no" }), "certainty", "refuted", { words: "descarta" });
    expect(staleCues(IE_SCHEMA, "DISO", diso).map((cue) => cue.value)).toEqual(["refuted"]);
    expect(staleCues(IE_SCHEMA, "CHEM", diso).map((cue) => cue.value)).toEqual(["negated", "refuted"]);
    expect(cueWords("no,\n niega ,,sin")).toEqual(["no", "niega", "sin"]);
  });
});
