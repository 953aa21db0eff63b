// Inference benchmark: our predictor (src/core/model/predict.ts) against transformers.js's
// token-classification pipeline on the same ONNX model and the same notes, in one run.
//
//   npm run bench -- inference [--notes=1000] [--batch=16] [--layers=4] [--hidden=256] [--max-length=512] [--node=1]
//
// The model is a random-weight BERT (no pretrained model can be downloaded here) with a
// WordPiece vocabulary learned from the notes themselves, so sub-word splits look real.
// The notes are real: BC5CDR abstracts, Spanish clinical cases (es_clinicalcases100) and
// short CT-EBM-SP sentences, shuffled; some are longer than the model's window.
//
// Runtime: transformers.js in Node picks onnxruntime-node (native) and has no switch for
// wasm; it does take an injected onnxruntime (globalThis[Symbol.for("onnxruntime")]), so
// the fair comparison gives it the very onnxruntime-web module our predictor uses (same
// wasm build, same threads: 1, as onnxruntime-web is single-threaded in Node). With
// --node=1 (default), a child process also measures transformers.js on its default
// onnxruntime-node, pinned to one thread, and reports it as a second line.
//
// The work is not the same: ours tokenizes with character offsets, runs every token of a
// long note (overlapping windows, stride a quarter of a window) and returns spans with
// offsets; the pipeline truncates each note to model_max_length (and drops [SEP]), returns
// per-token labels without offsets. Both are timed from text to their final output.

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const DATA = fileURLToPath(new URL("../../../shared/data/", import.meta.url));
const LABELS = ["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"];
const SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

function option(args: string[], name: string, fallback: number): number {
  const raw = args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return raw === undefined ? fallback : Number(raw);
}

function stringOption(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function readTexts(path: string): string[] {
  return readFileSync(join(DATA, path), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { text: string }).text);
}

/** A fixed shuffle (mulberry32), so every run and process sees the same notes in the same order. */
function shuffled<T>(items: T[], seed: number): T[] {
  let a = seed >>> 0;
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Half BC5CDR abstracts, a tenth Spanish case reports, the rest short trial sentences. */
function benchNotes(count: number): string[] {
  const abstracts = readTexts("bc5cdr/test.jsonl").slice(0, Math.round(count / 2));
  const cases = [...readTexts("es_clinicalcases100/train.jsonl"), ...readTexts("es_clinicalcases100/dev.jsonl")].slice(0, Math.round(count / 10));
  const sentences = readTexts("ctebmsp/test.jsonl").slice(0, count - abstracts.length - cases.length);
  return shuffled([...abstracts, ...cases, ...sentences], 13).slice(0, count);
}

/**
 * A bert-base-uncased-style tokenizer.json whose WordPiece vocabulary comes from `texts`:
 * every character (alone and as ##), frequent words, word starts and ##word ends.
 */
function wordPieceTokenizer(texts: string[], size: number): object {
  const words = new Map<string, number>();
  for (const text of texts) {
    const normalized = text.toLowerCase().normalize("NFD").replace(/\p{Mn}/gu, "");
    for (const word of normalized.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? []) words.set(word, (words.get(word) ?? 0) + 1);
  }
  const vocab = new Map<string, number>();
  const add = (token: string) => {
    if (!vocab.has(token)) vocab.set(token, vocab.size);
  };
  SPECIALS.forEach(add);
  const chars = new Set<string>();
  for (const word of words.keys()) for (const ch of word) chars.add(ch);
  for (const ch of [...chars].sort()) {
    add(ch);
    add(`##${ch}`);
  }
  const byCount = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => k);
  const rare = [...words].filter(([, c]) => c < 3);
  const starts = new Map<string, number>();
  const ends = new Map<string, number>();
  for (const [word, c] of rare) {
    for (let k = 3; k <= 6 && k < word.length; k++) starts.set(word.slice(0, k), (starts.get(word.slice(0, k)) ?? 0) + c);
    for (let k = 2; k <= 5 && k < word.length; k++) ends.set(`##${word.slice(-k)}`, (ends.get(`##${word.slice(-k)}`) ?? 0) + c);
  }
  const budget = size - vocab.size;
  for (const w of byCount(words).slice(0, Math.floor(budget * 0.6))) add(w);
  for (const s of byCount(starts).slice(0, Math.floor(budget * 0.2))) add(s);
  for (const e of byCount(ends).slice(0, Math.floor(budget * 0.2))) add(e);
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: { "[CLS]": { id: "[CLS]", ids: [2], tokens: ["[CLS]"] }, "[SEP]": { id: "[SEP]", ids: [3], tokens: ["[SEP]"] } },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab: Object.fromEntries(vocab) },
  };
}

interface Setup {
  root: string;
  name: string;
  notes: string[];
  batch: number;
  maxLength: number;
}

/** Writes the model folder (config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx). */
async function writeModel(args: string[], root: string, notes: string[]): Promise<{ params: number; vocab: number }> {
  const { createConfig, configToJson } = await import("../../src/core/model/config.ts");
  const { randomEncoderWeights } = await import("../../src/core/model/random-init.ts");
  const { buildInferenceModel } = await import("../../src/core/model/inference-graph.ts");
  const tokenizer = wordPieceTokenizer(notes, option(args, "vocab", 16000)) as { model: { vocab: Record<string, number> } };
  const vocab = Object.keys(tokenizer.model.vocab).length;
  const hidden = option(args, "hidden", 256);
  const config = createConfig("bert", {
    vocabSize: vocab,
    hiddenSize: hidden,
    numLayers: option(args, "layers", 4),
    numHeads: Math.max(1, hidden / 64),
    intermediateSize: 4 * hidden,
    labels: LABELS,
  });
  const weights = randomEncoderWeights(config, 1);
  const dir = join(root, "bench-ner");
  mkdirSync(join(dir, "onnx"), { recursive: true });
  writeFileSync(join(dir, "config.json"), configToJson(config, LABELS));
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tokenizer));
  const tokenizerConfig = {
    tokenizer_class: "BertTokenizer",
    do_lower_case: true,
    model_max_length: option(args, "max-length", 512),
    pad_token: "[PAD]",
    unk_token: "[UNK]",
    cls_token: "[CLS]",
    sep_token: "[SEP]",
    mask_token: "[MASK]",
  };
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(tokenizerConfig));
  writeFileSync(join(dir, "onnx", "model.onnx"), buildInferenceModel(config, weights));
  let params = 0;
  for (const w of weights.values()) params += w.data.length;
  return { params, vocab };
}

/** onnxruntime-web, one thread, its .wasm from node_modules (never a CDN). */
async function ortWeb() {
  const ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = 1;
  const dist = fileURLToPath(new URL("../../node_modules/onnxruntime-web/dist/", import.meta.url));
  ort.env.wasm.wasmPaths = pathToFileURL(dist).href + "/";
  return ort;
}

async function measureOurs(setup: Setup) {
  const { parseConfig } = await import("../../src/core/model/config.ts");
  const { loadTokenizer } = await import("../../src/core/text/tokenizer.ts");
  const { createPredictor } = await import("../../src/core/model/predict.ts");
  const dir = join(setup.root, setup.name);
  const config = parseConfig(readFileSync(join(dir, "config.json"), "utf8"));
  const tokenizer = loadTokenizer(
    JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")),
    JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")),
    { verify: false },
  );
  const predictor = await createPredictor({ onnx: readFileSync(join(dir, "onnx", "model.onnx")), config, tokenizer });
  await predictor.predict(setup.notes.slice(0, setup.batch), { batchSize: setup.batch }); // warm-up
  let last = { paddedTokens: 0, realTokens: 0, windows: 0 };
  const started = performance.now();
  const spans = await predictor.predict(setup.notes, {
    batchSize: setup.batch,
    maxLength: setup.maxLength,
    onProgress: (p) => {
      last = p;
      if (p.windowsDone % (setup.batch * 10) === 0) console.error(`ours: ${p.windowsDone}/${p.windows} windows`);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  await predictor.release();
  const longer = setup.notes.filter((t) => tokenizer.encode(t).ids.length > setup.maxLength).length;
  return { seconds, spans: spans.reduce((s, n) => s + n.length, 0), windows: last.windows, realTokens: last.realTokens, paddedTokens: last.paddedTokens, longer };
}

interface PipelineToken {
  entity: string;
  index: number;
}

/** transformers.js's pipeline over the notes, `batch` notes per call, in corpus order. */
async function measureTransformersJs(setup: Setup, runtime: "onnxruntime-web" | "onnxruntime-node") {
  const sessionOptions: Record<string, unknown> = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  let device: string | undefined;
  if (runtime === "onnxruntime-web") {
    // Injected before transformers.js loads: it then uses this module instead of onnxruntime-node.
    (globalThis as Record<symbol, unknown>)[Symbol.for("onnxruntime")] = await ortWeb();
    sessionOptions.executionProviders = ["wasm"];
    device = "auto"; // with an injected runtime transformers.js knows no device names; the EP list above decides
  }
  const tf = await import("@huggingface/transformers");
  tf.env.allowRemoteModels = false;
  tf.env.localModelPath = setup.root;
  const pipe = await tf.pipeline("token-classification", setup.name, {
    local_files_only: true,
    dtype: "fp32",
    ...(device ? { device: device as "auto" } : {}),
    session_options: sessionOptions,
  });
  await pipe(setup.notes.slice(0, setup.batch)); // warm-up
  let tokens = 0;
  let entities = 0;
  const started = performance.now();
  for (let i = 0; i < setup.notes.length; i += setup.batch) {
    const chunk = setup.notes.slice(i, i + setup.batch);
    const out = (await pipe(chunk)) as unknown as PipelineToken[][];
    entities += out.reduce((s, n) => s + n.length, 0);
    if ((i / setup.batch) % 10 === 0) console.error(`transformers.js (${runtime}): ${i + chunk.length}/${setup.notes.length} notes`);
  }
  const seconds = (performance.now() - started) / 1000;
  for (const note of setup.notes) {
    const encoded = pipe.tokenizer(note, { truncation: true }) as unknown as { input_ids: { dims: number[] } };
    tokens += encoded.input_ids.dims.at(-1)!;
  }
  await pipe.dispose();
  return { seconds, realTokens: tokens, entities };
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

export async function run(args: string[]): Promise<void> {
  const child = stringOption(args, "child");
  const setupOf = (root: string): Setup => ({
    root,
    name: "bench-ner",
    notes: benchNotes(option(args, "notes", 1000)),
    batch: option(args, "batch", 16),
    maxLength: option(args, "max-length", 512),
  });
  if (child) {
    // --child=<root>: transformers.js on its default runtime (onnxruntime-node), one thread.
    const result = await measureTransformersJs(setupOf(child), "onnxruntime-node");
    console.log(JSON.stringify(result));
    return;
  }

  const root = mkdtempSync(join(tmpdir(), "bench-inference-"));
  try {
    const setup = setupOf(root);
    const model = await writeModel(args, root, setup.notes);
    console.error(`model: ${(model.params / 1e6).toFixed(1)}M parameters, vocab ${model.vocab}; ${setup.notes.length} notes`);
    await ortWeb();
    const ours = await measureOurs(setup);
    console.error(`ours: ${ours.seconds.toFixed(1)} s`);
    const theirs = await measureTransformersJs(setup, "onnxruntime-web");
    console.error(`transformers.js on onnxruntime-web: ${theirs.seconds.toFixed(1)} s`);
    const notes = setup.notes.length;
    console.log(
      JSON.stringify({
        bench: "inference",
        notes,
        ours_notes_per_s: round(notes / ours.seconds),
        transformersjs_notes_per_s: round(notes / theirs.seconds),
        ratio: round(theirs.seconds / ours.seconds),
        runtime: "onnxruntime-web wasm (Node), 1 thread, both",
        batch: setup.batch,
        max_length: setup.maxLength,
        params_m: round(model.params / 1e6, 1),
        notes_longer_than_window: ours.longer,
        ours_tokens: ours.realTokens,
        ours_padded_tokens: ours.paddedTokens,
        ours_windows: ours.windows,
        ours_spans: ours.spans,
        transformersjs_tokens_after_truncation: theirs.realTokens,
      }),
    );
    if (option(args, "node", 1)) {
      const bench = fileURLToPath(new URL("../bench.ts", import.meta.url));
      const pass = args.filter((a) => /^--(notes|batch|max-length)=/.test(a));
      const result = spawnSync(process.execPath, [...process.execArgv, bench, "inference", `--child=${root}`, ...pass], {
        stdio: ["ignore", "pipe", "inherit"],
        encoding: "utf8",
        maxBuffer: 1 << 20,
      });
      if (result.status !== 0) throw new Error(`the onnxruntime-node child failed (status ${result.status})`);
      const node = JSON.parse(result.stdout.trim().split("\n").at(-1)!) as { seconds: number };
      console.log(
        JSON.stringify({
          bench: "inference",
          notes,
          ours_notes_per_s: round(notes / ours.seconds),
          transformersjs_notes_per_s: round(notes / node.seconds),
          ratio: round(node.seconds / ours.seconds),
          runtime: "ours: onnxruntime-web wasm; transformers.js: its default onnxruntime-node (native), 1 thread each",
        }),
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
