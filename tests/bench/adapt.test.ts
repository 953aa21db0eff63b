// The adaptation benchmark end to end on a tiny slice of the real corpora (shared/data
// beside the repository, as CI places it): a tiny model, a few dozen source sentences,
// N = 5 target notes, one seed, every kind of annotator, the LLM endpoint served by a
// local OpenAI-compatible server that answers with the note's gold mentions.

import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outputFormat } from "../../src/core/annotate/format.ts";
import { mentionsFromSpans } from "../../src/core/annotate/gold.ts";
import type { Span } from "../../src/core/corpus/types.ts";
import { type AdaptOutcome, runAdapt } from "../../scripts/bench/adapt.ts";
import { parseAnnotator, sourceTermLists } from "../../scripts/bench/adapt/annotators.ts";
import { type Corpus, mapTypes } from "../../scripts/bench/adapt/corpus.ts";
import { parseOptions } from "../../scripts/bench/adapt/options.ts";
import { learningCurveSvg, ticks } from "../../scripts/bench/adapt/svg.ts";

const DATA = new URL("../../../shared/data/", import.meta.url);
const TYPES = ["ANAT", "CHEM", "DEVI", "DISO", "LIVB", "PHYS", "PROC"];

function lines(corpus: string, split: string, count: number): string[] {
  return readFileSync(new URL(`${corpus}/${split}.jsonl`, DATA), "utf8").split("\n").filter(Boolean).slice(0, count);
}

let dir: string;
let server: Server;
let url: string;
const requests: { model: string; n: number }[] = [];
let outcome: AdaptOutcome;
const stdout: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "adapt-bench-"));
  const write = (corpus: string, split: string, rows: string[]) => {
    mkdirSync(join(dir, corpus), { recursive: true });
    writeFileSync(join(dir, corpus, `${split}.jsonl`), rows.join("\n") + "\n");
  };
  write("source", "train", lines("ctebmsp", "train", 40));
  write("source", "dev", lines("ctebmsp", "dev", 10));
  write("source", "test", lines("ctebmsp", "test", 2));
  const targetTrain = lines("es_clinicalcases100", "train", 6);
  write("target", "train", targetTrain);
  write("target", "dev", lines("es_clinicalcases100", "dev", 1));
  write("target", "test", lines("es_clinicalcases100", "test", 2));

  // An OpenAI-compatible server that knows the gold of the training notes.
  const notes = targetTrain.map((line) => JSON.parse(line) as { text: string; entities: Span[] });
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const request = JSON.parse(body) as { model: string; n?: number; messages: { role: string; content: string }[] };
      requests.push({ model: request.model, n: request.n ?? 1 });
      const user = request.messages.at(-1)!.content;
      const note = notes.find((candidate) => user.includes(candidate.text));
      const content = note ? outputFormat("type-rows").serialize(mentionsFromSpans(note.text, note.entities), TYPES) : "";
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ choices: [{ message: { role: "assistant", content }, finish_reason: "stop" }], usage: { prompt_tokens: 10, completion_tokens: 5 } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  url = `http://127.0.0.1:${address.port}/v1`;

  outcome = await runAdapt(
    [
      "--quick",
      "--source", join(dir, "source"),
      "--target", join(dir, "target"),
      "--out", join(dir, "out"),
      "--n", "5",
      "--seeds", "1",
      "--annotators", "gold,llm-sim-0.65,llm-sim-0.65+weighted,llm-sim-0.65+filtered,llm-sim-0.65+gold-mix,self-training,term-list,llm-endpoint",
      "--endpoint", url,
      "--model", "test-model",
      "--vocab-size", "600",
      "--hidden", "16",
      "--heads", "1",
      "--layers", "1",
      "--max-length", "64",
      "--source-epochs", "1",
      "--adapt-epochs", "1",
      "--adapt-min-steps", "1",
      "--samples", "3",
      "--bootstrap", "200",
    ],
    { out: (line) => stdout.push(line), log: () => {} },
  );
}, 60_000);

afterAll(() => {
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("npm run bench -- adapt (tiny slice)", () => {
  it("prints one JSON line per setting with the fields the issue names", () => {
    const parsed = stdout.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed.map((l) => l.annotator)).toEqual([
      "source-only",
      "gold",
      "llm-sim-0.65",
      "self-training",
      "term-list",
      "llm-endpoint",
      "llm-sim-0.65+weighted",
      "llm-sim-0.65+filtered",
      "llm-sim-0.65+gold-mix",
    ]);
    for (const line of parsed) {
      expect(line).toMatchObject({ bench: "adapt", source: "source", target: "target" });
      for (const field of ["strict_f1", "strict_f1_std", "lenient_f1", "delta_vs_source"]) expect(typeof line[field]).toBe("number");
      for (const field of ["strict_f1", "lenient_f1"]) {
        expect(line[field]).toBeGreaterThanOrEqual(0);
        expect(line[field]).toBeLessThanOrEqual(1);
      }
      expect(Object.keys(line.per_type_strict_f1 as object).length).toBeGreaterThan(0);
      if (line.annotator === "source-only") {
        expect(line.n).toBe(0);
        continue;
      }
      expect(line.n).toBe(5);
      expect(line.seeds).toBe(1);
      expect(line.delta_vs_source_low as number).toBeLessThanOrEqual(line.delta_vs_source_high as number);
      expect(line.label_f1 as number).toBeGreaterThanOrEqual(0);
      expect(line.label_f1 as number).toBeLessThanOrEqual(1);
    }
    const byName = new Map(parsed.map((l) => [l.annotator, l]));
    expect(byName.get("gold")!.label_f1).toBe(1);
    // The endpoint answered with gold mentions, so its labels are gold.
    expect(byName.get("llm-endpoint")!.label_f1).toBe(1);
    expect(Math.abs((byName.get("llm-sim-0.65")!.label_f1 as number) - 0.65)).toBeLessThan(0.15);
    expect(byName.get("llm-sim-0.65+weighted")).toMatchObject({ vs: "llm-sim-0.65" });
    // Two of the five notes carry gold labels in +gold-mix.
    expect(byName.get("llm-sim-0.65+gold-mix")!.label_f1 as number).toBeGreaterThan(byName.get("llm-sim-0.65")!.label_f1 as number);
  });

  it("annotated the endpoint's notes through the OpenAI chat-completion shape", () => {
    expect(requests.length).toBe(5);
    expect(requests.every((r) => r.model === "test-model" && r.n === 1)).toBe(true);
  });

  it("writes the table, the learning curves and the results", () => {
    const out = join(dir, "out");
    const table = readFileSync(join(out, "table.md"), "utf8");
    expect(table).toContain("| annotator | N | label F1 | strict F1 | ± std | lenient F1 | ± std | Δ strict vs source-only [95% CI] |");
    expect(table).toMatch(/\| gold \| 5 \| 1\.000 \| \d\.\d{3} \|/);
    expect(table).toContain("## Noisy labels: which way of training helps");
    expect(table).toMatch(/\| llm-sim-0\.65 \| 5 \| \d\.\d{3} \| \d\.\d{3} \(/);
    for (const name of ["learning-curve.svg", "learning-curve-lenient.svg", "noisy-labels-llm-sim-0.65.svg"]) {
      const svg = readFileSync(join(out, name), "utf8");
      expect(svg.startsWith("<svg")).toBe(true);
      expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
      expect(svg).toContain("source-only");
    }
    expect(readFileSync(join(out, "learning-curve.svg"), "utf8")).toContain(">llm-endpoint</text>");
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    expect(results.settings).toHaveLength(8);
    expect(results.annotators["llm-sim-0.65"].achieved_strict_f1).toBeGreaterThan(0.5);
    expect(outcome.files.some((f) => f.endsWith(".svg"))).toBe(true);
    // The source model is cached for the next run.
    expect(readFileSync(join(out, "table.md"), "utf8")).toContain("source source: 40 train sentences (all)");
    expect(existsSync(out)).toBe(true);
  });
});

describe("adapt options and helpers", () => {
  it("parses annotators with methods and refuses unknown ones", () => {
    expect(parseAnnotator("llm-sim-0.65+weighted+gold-mix")).toEqual({ name: "llm-sim-0.65+weighted+gold-mix", base: "llm-sim-0.65", weighted: true, filtered: false, goldMix: true });
    expect(() => parseAnnotator("gpt")).toThrow(/unknown annotator/);
    expect(() => parseAnnotator("gold+magic")).toThrow(/unknown method/);
  });

  it("has a quick configuration and checks the endpoint options", () => {
    const quick = parseOptions(["--quick"]);
    expect(quick.seeds).toBe(1);
    expect(quick.n).toEqual([10, 25, "all"]);
    const full = parseOptions(["--n", "10,25,50,all", "--type-map", "A=X,B=X"]);
    expect(full.seeds).toBe(3);
    expect(full.typeMap).toEqual({ A: "X", B: "X" });
    expect(full.annotators).toContain("llm-sim-0.80+filtered");
    expect(() => parseOptions(["--annotators", "llm-endpoint"])).toThrow(/--endpoint/);
    expect(() => parseOptions(["--bogus", "1"])).toThrow(/unknown option/);
    expect(parseOptions(["--endpoint", "http://x/v1", "--model", "m"]).annotators).toContain("llm-endpoint");
  });

  it("maps target types onto source types and drops the ones the source lacks", () => {
    const note = (types: string[]) => ({ id: "n", text: "x".repeat(10), spans: types.map((type, i) => ({ start: i, end: i + 1, type })) });
    const corpus: Corpus = { name: "t", dir: "/t", train: [note(["Drug", "Disease", "Gene"])], dev: [], test: [note(["Drug"])] };
    const { corpus: mapped, dropped } = mapTypes(corpus, { Drug: "CHEM", Disease: "DISO" }, ["CHEM", "DISO"]);
    expect(mapped.train[0].spans.map((s) => s.type)).toEqual(["CHEM", "DISO"]);
    expect(mapped.test[0].spans.map((s) => s.type)).toEqual(["CHEM"]);
    expect(dropped).toEqual({ Gene: 1 });
  });

  it("builds term lists of unambiguous source entities seen twice", () => {
    const note = (text: string, spans: [string, string][]) => ({ id: text, text, spans: spans.map(([w, type]) => ({ start: text.indexOf(w), end: text.indexOf(w) + w.length, type })) });
    const lists = sourceTermLists(
      [
        note("Fiebre y tos con Paracetamol", [["Fiebre", "DISO"], ["tos", "DISO"], ["Paracetamol", "CHEM"]]),
        note("fiebre alta y paracetamol", [["fiebre", "DISO"], ["paracetamol", "CHEM"]]),
        note("tos seca", [["tos", "PHYS"]]),
      ],
      ["CHEM", "DISO", "PHYS"],
    );
    expect(lists).toEqual([
      { type: "CHEM", terms: ["paracetamol"] },
      { type: "DISO", terms: ["fiebre"] },
      { type: "PHYS", terms: [] },
    ]);
  });

  it("draws a learning curve with round ticks", () => {
    expect(ticks(0.3, 0.7)).toEqual([0.3, 0.4, 0.5, 0.6, 0.7]);
    const svg = learningCurveSvg({
      title: "t <&>",
      xLabel: "N",
      yLabel: "F1",
      series: [{ name: "gold", points: [{ x: 10, y: 0.5, err: 0.02 }, { x: 78, y: 0.6 }] }],
      baseline: { name: "source-only", y: 0.4 },
    });
    expect(svg).toContain("t &lt;&amp;&gt;");
    expect(svg.match(/<circle /g)!.length).toBe(3); // two points and the legend's marker
    expect(svg).toContain('<path d="M');
  });
});
