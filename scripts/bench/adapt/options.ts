// Options of `npm run bench -- adapt`: the default configuration (fits an hour on a shared
// 2-core machine), `--quick` (under 10 minutes), and every knob by name.

export type Count = number | "all";

export interface AdaptOptions {
  source: string;
  target: string;
  /** Target type -> source type ("A=X,B=X"); target spans of other unknown types are dropped. */
  typeMap: Record<string, string>;
  n: Count[];
  seeds: number;
  annotators: string[];
  quick: boolean;
  out: string;

  // Tokenizer and model
  /** "source+target": WordPiece over source and target train texts; "source": source only. */
  vocab: "source+target" | "source";
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  maxLength: number;

  // Source training
  sourceLimit: number;
  sourceDevLimit: number;
  sourceEpochs: number;
  sourceLr: number;
  sourceBatch: number;
  retrainSource: boolean;

  // Adaptation
  adaptEpochs: number;
  adaptMinSteps: number;
  adaptLr: number;
  adaptBatch: number;

  // Annotators
  /** Self-consistency samples of the simulated LLM (1: no confidences). */
  samples: number;
  /** Share of the simulated LLM's errors that recur in every sample. */
  consistency: number;
  /** Error profile whose scale is calibrated, "miss=…,spurious=…,boundary=…,type=…". */
  profile?: Record<string, number>;
  /** `+filtered` keeps spans with at least this confidence. */
  minConfidence: number;
  /** `+gold-mix`: this many of the N notes carry gold labels instead (at most half of N). */
  goldMix: number;
  endpoint?: string;
  model?: string;
  apiKey?: string;
  endpointSamples: number;
  bootstrap: number;
}

export const BASE_ANNOTATORS = ["gold", "llm-sim-0.50", "llm-sim-0.65", "llm-sim-0.80", "self-training", "term-list"];
const NOISE_LEVELS = ["llm-sim-0.50", "llm-sim-0.65", "llm-sim-0.80"];
const METHODS = ["weighted", "filtered", "gold-mix"];

export const DEFAULTS: Omit<AdaptOptions, "annotators" | "quick"> = {
  source: "../shared/data/ctebmsp",
  target: "../shared/data/es_clinicalcases100",
  typeMap: {},
  n: [10, 25, 50, "all"],
  seeds: 3,
  out: "bench-results/adapt",
  vocab: "source+target",
  vocabSize: 8000,
  hidden: 64,
  layers: 2,
  heads: 2,
  maxLength: 128,
  sourceLimit: Infinity,
  sourceDevLimit: 1000,
  sourceEpochs: 6,
  sourceLr: 2e-3,
  sourceBatch: 32,
  retrainSource: false,
  adaptEpochs: 4,
  adaptMinSteps: 30,
  adaptLr: 1e-3,
  adaptBatch: 16,
  samples: 5,
  consistency: 0.7,
  minConfidence: 0.8,
  goldMix: 5,
  endpointSamples: 1,
  bootstrap: 1000,
};

/** What --quick changes: a source subset, a smaller model, one seed, three values of N, one noise level. */
export const QUICK: Partial<AdaptOptions> = {
  n: [10, 25, "all"],
  seeds: 1,
  vocabSize: 4000,
  hidden: 64,
  layers: 1,
  sourceLimit: 4000,
  sourceDevLimit: 500,
  sourceEpochs: 4,
  adaptEpochs: 3,
  adaptMinSteps: 20,
  out: "bench-results/adapt-quick",
};

export function defaultAnnotators(quick: boolean): string[] {
  if (quick) return ["gold", "llm-sim-0.65", ...METHODS.map((m) => `llm-sim-0.65+${m}`), "self-training", "term-list"];
  return [...BASE_ANNOTATORS, ...NOISE_LEVELS.flatMap((level) => METHODS.map((m) => `${level}+${m}`))];
}

const USAGE = `npm run bench -- adapt [--quick] [--source DIR] [--target DIR] [--type-map A=X,B=Y] [--n 10,25,50,all]
  [--seeds 3] [--annotators gold,llm-sim-0.65,llm-sim-0.65+weighted,self-training,term-list,llm-endpoint]
  [--out DIR] [--endpoint URL --model M [--api-key K] [--endpoint-samples 1]]
  [--vocab source+target|source] [--vocab-size 8000] [--hidden 64] [--layers 2] [--heads 2]
  [--source-limit N] [--source-dev-limit 1000] [--source-epochs 6] [--source-lr 2e-3] [--retrain-source]
  [--adapt-epochs 4] [--adapt-min-steps 30] [--adapt-lr 1e-3] [--samples 5] [--consistency 0.7]
  [--profile miss=0.3,spurious=0.35,boundary=0.25,type=0.15] [--min-confidence 0.8] [--gold-mix 5]`;

/** "--name value" and "--name=value" both work; flags take no value. */
export function parseOptions(args: string[]): AdaptOptions {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const FLAGS = new Set(["quick", "retrain-source", "help"]);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) throw new Error(`adapt: unexpected argument ${JSON.stringify(arg)}\n${USAGE}`);
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (FLAGS.has(name)) {
      flags.add(name);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new Error(`adapt: --${name} needs a value\n${USAGE}`);
    values.set(name, value);
  }
  if (flags.has("help")) throw new Error(USAGE);
  const quick = flags.has("quick");
  const base = { ...DEFAULTS, ...(quick ? QUICK : {}) };
  const used = new Set<string>();
  const str = (name: string) => {
    used.add(name);
    return values.get(name);
  };
  const num = (name: string, fallback: number) => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) && raw !== "Infinity") throw new Error(`adapt: --${name} expects a number, got ${JSON.stringify(raw)}`);
    return value;
  };
  const list = (name: string) => str(name)?.split(",").map((s) => s.trim()).filter(Boolean);
  const pairs = (name: string) => {
    const raw = list(name);
    if (!raw) return undefined;
    return Object.fromEntries(
      raw.map((pair) => {
        const [key, value] = pair.split("=").map((s) => s.trim());
        if (!key || !value) throw new Error(`adapt: --${name} expects KEY=VALUE pairs, got ${JSON.stringify(pair)}`);
        return [key, value];
      }),
    );
  };

  const n = list("n")?.map((v): Count => {
    if (v === "all") return "all";
    const count = Number(v);
    if (!Number.isInteger(count) || count < 1) throw new Error(`adapt: --n expects whole numbers ≥ 1 or "all", got ${JSON.stringify(v)}`);
    return count;
  });
  const vocab = str("vocab") ?? base.vocab;
  if (vocab !== "source+target" && vocab !== "source") throw new Error(`adapt: --vocab is "source+target" or "source", got ${JSON.stringify(vocab)}`);
  const profile = pairs("profile");
  const options: AdaptOptions = {
    source: str("source") ?? base.source,
    target: str("target") ?? base.target,
    typeMap: pairs("type-map") ?? base.typeMap,
    n: n ?? base.n,
    seeds: num("seeds", base.seeds),
    annotators: list("annotators") ?? defaultAnnotators(quick),
    quick,
    out: str("out") ?? base.out,
    vocab,
    vocabSize: num("vocab-size", base.vocabSize),
    hidden: num("hidden", base.hidden),
    layers: num("layers", base.layers),
    heads: num("heads", base.heads),
    maxLength: num("max-length", base.maxLength),
    sourceLimit: num("source-limit", base.sourceLimit),
    sourceDevLimit: num("source-dev-limit", base.sourceDevLimit),
    sourceEpochs: num("source-epochs", base.sourceEpochs),
    sourceLr: num("source-lr", base.sourceLr),
    sourceBatch: num("source-batch", base.sourceBatch),
    retrainSource: flags.has("retrain-source"),
    adaptEpochs: num("adapt-epochs", base.adaptEpochs),
    adaptMinSteps: num("adapt-min-steps", base.adaptMinSteps),
    adaptLr: num("adapt-lr", base.adaptLr),
    adaptBatch: num("adapt-batch", base.adaptBatch),
    samples: num("samples", base.samples),
    consistency: num("consistency", base.consistency),
    ...(profile ? { profile: Object.fromEntries(Object.entries(profile).map(([k, v]) => [k, Number(v)])) } : {}),
    minConfidence: num("min-confidence", base.minConfidence),
    goldMix: num("gold-mix", base.goldMix),
    endpoint: str("endpoint"),
    model: str("model"),
    apiKey: str("api-key"),
    endpointSamples: num("endpoint-samples", base.endpointSamples),
    bootstrap: num("bootstrap", base.bootstrap),
  };
  const unknown = [...values.keys()].filter((name) => !used.has(name));
  if (unknown.length > 0) throw new Error(`adapt: unknown option(s) ${unknown.map((u) => `--${u}`).join(", ")}\n${USAGE}`);
  if (options.endpoint && !options.model) throw new Error("adapt: --endpoint needs --model (the name the server knows the model by)");
  if (options.endpoint && !options.annotators.includes("llm-endpoint") && !values.has("annotators")) options.annotators.push("llm-endpoint");
  if (options.annotators.some((a) => a.split("+")[0] === "llm-endpoint") && !options.endpoint) {
    throw new Error("adapt: the llm-endpoint annotator needs --endpoint URL --model M (an OpenAI-compatible server)");
  }
  if (!(options.seeds >= 1 && Number.isInteger(options.seeds))) throw new Error(`adapt: --seeds expects a whole number ≥ 1, got ${options.seeds}`);
  if (options.hidden % options.heads !== 0) throw new Error(`adapt: --hidden ${options.hidden} is not a multiple of --heads ${options.heads}`);
  return options;
}
