// README.md of a downloaded model: a Hugging Face model card. It says where the model came
// from (base model, how it was adapted, on how many notes and spans, annotated by which LLM
// with which prompt), how it scores before and after on the gold notes, and when and with
// which app it was made. It never holds note text: only counts, names, hashes and metrics.

import type { Comparison } from "../eval/compare.ts";
import type { Scores } from "../eval/span-metrics.ts";
import { type TaskComparison, isTaskComparison } from "../eval/task-scores.ts";
import { taskScoreRows } from "../eval/task-scores.ts";
import type { ProblemType } from "../model/config.ts";
import { SPAN_HEAD_LOADING } from "../model/span-heads.ts";
import type { Adaptation } from "../train/run.ts";
import { taskName } from "../train/tasks.ts";

/** The model's head: token classification (NER), sequence classification (a document label), or a span head (attributes, relations). */
export type CardHead = { kind: "token" } | { kind: "sequence"; problemType: ProblemType } | { kind: "span"; description: { kind?: string } };

export interface ModelCardInput {
  name: string;
  modelType: string;
  labels: readonly string[];
  /** Token classification when absent. */
  head?: CardHead;
  /** Present for a model this app trained. */
  adaptation?: Adaptation;
  /** The latest comparison of this model (as "adapted") with its source on the gold notes. */
  comparison?: Comparison | TaskComparison;
  /** Bytes of the ONNX graphs in the download: float32 (onnx/model.onnx) and int8 (onnx/model_quantized.onnx), where present. */
  onnxFiles?: { fp32?: number; int8?: number };
  appVersion: string;
  /** ISO date of the download. */
  date: string;
}

const pct = (x: number) => (100 * x).toFixed(1);
const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const signed = (x: number) => `${x >= 0 ? "+" : "−"}${pct(Math.abs(x))}`;

function scoreRow(label: string, s: Pick<Scores, "precision" | "recall" | "f1">): string {
  return `| ${label} | ${pct(s.precision)} | ${pct(s.recall)} | ${pct(s.f1)} |`;
}

/** YAML needs quotes around anything that is not a plain word. */
const yamlString = (s: string) => JSON.stringify(s);

export function modelCard(input: ModelCardInput): string {
  const { adaptation: a, comparison: c } = input;
  const head = input.head ?? { kind: "token" };
  const lines: string[] = [...(head.kind === "token" ? tokenUsage(input) : head.kind === "sequence" ? sequenceUsage(input, head.problemType) : spanUsage(input))];
  if (a) {
    const h = a.hyperparameters;
    lines.push(
      "## How it was made",
      "",
      `Adapted in the browser with Clinical Adapt from **${a.baseModel.name}**` +
        (a.task ? ` (a new head for ${taskName(a.task.task).toLowerCase()}).` : a.newHead ? " (a new classification head for this project's entity types)." : "."),
      "",
      "Training data (counts only; no note text leaves the hospital, and none is in this card):",
      "",
      `- training notes: ${a.counts.trainNotes} pool notes (source: ${a.source === "both" ? "human annotations, else the LLM's" : a.source === "llm" ? "LLM annotations" : "human annotations"}), ${a.counts.trainSpans} annotated spans, ${a.counts.examples} training windows`,
      `- early stopping on ${a.counts.devNotes} ${a.counts.devKind === "dev" ? "dev notes" : a.counts.devKind === "held-out" ? "held-out training notes" : "notes (none)"}`,
      `- gold notes (${a.counts.goldNotesExcluded}) and dev notes (${a.counts.devNotesExcluded}) were never used for training`,
      a.task
        ? `- ${a.counts.examples} ${a.task.task.kind === "document" ? "labelled notes" : a.task.task.kind === "attributes" ? "windows of annotated entities" : "windows of candidate entity pairs"} trained the head; every one counted alike`
        : `- LLM spans below confidence ${a.minConfidence} left out; loss ${a.weightByConfidence ? "weighted by" : "not weighted by"} span confidence`,
      "",
    );
    const llms = a.annotators.filter((x) => x.backend !== "human");
    if (llms.length > 0) {
      lines.push("Annotators:", "", "| Annotator | Model | Prompt hash | Notes |", "|---|---|---|---|");
      for (const x of a.annotators) lines.push(`| ${x.backend} | ${x.model ?? "—"} | ${x.promptHash ? `\`${x.promptHash}\`` : "—"} | ${x.notes} |`);
      lines.push("");
    }
    lines.push(
      "Hyperparameters:",
      "",
      "| Setting | Value |",
      "|---|---|",
      `| mode | ${h.mode === "lora" ? `LoRA (rank ${h.loraRank}), merged into the weights` : h.frozenLayers > 0 ? `full, embeddings and ${h.frozenLayers} lowest layers frozen` : "full fine-tuning"} |`,
      `| epochs | ${h.epochs}${a.stoppedEarly ? " (stopped early)" : ""} |`,
      `| steps | ${a.steps} |`,
      `| learning rate | ${h.lr} (linear warm-up ${h.warmupRatio}, linear decay) |`,
      `| batch size | ${h.batchSize} |`,
      `| max length | ${h.maxLength} tokens, stride ${h.stride} |`,
      `| weight decay | ${h.weightDecay} |`,
      `| seed | ${h.seed} |`,
      `| backend | ${a.backend === "webgpu" ? "WebGPU" : "WebAssembly"} (onnxruntime-web) |`,
      "",
    );
    if (a.dev.length > 0) {
      lines.push(`${a.task ? "Dev score (the task's F1, on the dev notes' entities)" : "Dev F1 (strict)"} per epoch: ${a.dev.map((d) => `${d.epoch}: ${pct(d.f1)}`).join(", ")}; kept epoch ${a.bestEpoch}.`, "");
    }
  }
  if (c && isTaskComparison(c)) {
    lines.push(...taskEvaluationLines(c));
  } else if (c) {
    const d = c.difference;
    lines.push(
      "## Evaluation on the gold notes",
      "",
      `${c.goldNotes} gold notes of the target hospital, never used for training. Span-level scores in %:`,
      "strict = exact boundaries and type; lenient = overlapping span of the same type.",
      "",
      "| Model | Match | Precision | Recall | F1 (micro) | F1 (macro) |",
      "|---|---|---|---|---|---|",
    );
    for (const [label, m] of [["before: " + c.source.name, c.source], ["after: " + c.adapted.name, c.adapted]] as const) {
      for (const match of ["strict", "lenient"] as const) {
        const s = m[match];
        lines.push(`| ${label} | ${match} | ${pct(s.micro.precision)} | ${pct(s.micro.recall)} | ${pct(s.micro.f1)} | ${pct(s.macro.f1)} |`);
      }
    }
    lines.push(
      "",
      `Strict micro F1 difference (after − before): **${signed(d.delta)}** points, 95% paired-bootstrap interval [${signed(d.low)}, ${signed(d.high)}] (${d.samples} resamples of the gold notes).`,
      "",
      "Per type (strict):",
      "",
      "| Type | Before P / R / F1 | After P / R / F1 |",
      "|---|---|---|",
    );
    for (const type of c.types) {
      const b = c.source.strict.perType[type];
      const af = c.adapted.strict.perType[type];
      const cell = (s?: Scores) => (s ? `${pct(s.precision)} / ${pct(s.recall)} / ${pct(s.f1)}` : "—");
      lines.push(`| ${type} | ${cell(b)} | ${cell(af)} |`);
    }
    lines.push("");
  } else {
    lines.push("## Evaluation", "", "Not evaluated on gold notes in the app before download.", "");
  }
  lines.push(
    "## Limitations",
    "",
    "Trained on a small set of notes from one hospital, mostly on machine (LLM) annotations: check it on your own",
    "notes before relying on it. It is not a medical device.",
    "",
    "---",
    "",
    `Made with Clinical Adapt ${input.appVersion} on ${input.date}.`,
    "",
  );
  return lines.join("\n");
}

export { scoreRow };

/** Front matter, files and loading of a token-classification (NER) model. */
function tokenUsage(input: ModelCardInput): string[] {
  const a = input.adaptation;
  const int8 = input.onnxFiles?.int8;
  const fp32 = input.onnxFiles?.fp32;
  const types = [...new Set(input.labels.filter((l) => l !== "O").map((l) => l.replace(/^[BI]-/, "")))];
  const lines: string[] = [
    "---",
    "library_name: transformers",
    "pipeline_tag: token-classification",
    "tags:",
    "  - token-classification",
    "  - ner",
    "  - clinical",
    "  - clinical-adapt",
    ...(a ? [`base_model: ${yamlString(a.baseModel.name)}`] : []),
    "---",
    "",
    `# ${input.name}`,
    "",
    `A ${input.modelType} token-classification (NER) model for ${types.join(", ") || "the labels in config.json"}.`,
    "",
    "Files: `model.safetensors` (float32, Hugging Face parameter names), `config.json`, `tokenizer.json`,",
    "`tokenizer_config.json`, and `onnx/model.onnx` (float32; inputs `input_ids`, `attention_mask`",
    `(and \`token_type_ids\` for BERT), output \`logits\`)${fp32 === undefined ? "" : `, ${megabytes(fp32)}`}.`,
    ...(int8 === undefined
      ? []
      : [
          `\`onnx/model_quantized.onnx\` is the same model in int8 (${megabytes(int8)}): MatMul weights and embedding tables in 8 bits`,
          "with one scale per output channel or row, activations quantized on the fly (dynamic quantization). It is smaller",
          'and slightly less exact than float32; transformers.js loads it with `dtype: "q8"`.',
        ]),
    "",
    "```python",
    "from transformers import pipeline",
    'ner = pipeline("token-classification", model="path/to/this/folder", aggregation_strategy="simple")',
    "```",
    "",
    "```js",
    'import { pipeline } from "@huggingface/transformers";',
    'const ner = await pipeline("token-classification", "this-folder", { local_files_only: true, dtype: "fp32" });',
    ...(int8 === undefined ? [] : ['const small = await pipeline("token-classification", "this-folder", { local_files_only: true, dtype: "q8" });']),
    "```",
    "",
    `Labels: ${input.labels.map((l) => `\`${l}\``).join(", ")}.`,
    "",
  ];
  return lines;
}

function frontMatter(a: Adaptation | undefined, pipelineTag: string | null, tags: string[]): string[] {
  return [
    "---",
    "library_name: transformers",
    ...(pipelineTag ? [`pipeline_tag: ${pipelineTag}`] : []),
    "tags:",
    ...[...tags, "clinical", "clinical-adapt"].map((tag) => `  - ${tag}`),
    ...(a ? [`base_model: ${yamlString(a.baseModel.name)}`] : []),
    "---",
    "",
  ];
}

/** A document-label model: transformers' own *ForSequenceClassification, with its problem_type. */
function sequenceUsage(input: ModelCardInput, problemType: ProblemType): string[] {
  const multi = problemType === "multi_label_classification";
  const task = input.adaptation?.task?.task;
  const what = task?.kind === "document" ? `the document label "${task.label}"` : "a document label";
  return [
    ...frontMatter(input.adaptation, "text-classification", ["text-classification"]),
    `# ${input.name}`,
    "",
    `A ${input.modelType} sequence-classification model for ${what}: one ${multi ? "or more values per note (multi-label: a sigmoid per value)" : "value per note (a softmax over the values)"}, read from the first token.`,
    "",
    `Files: \`model.safetensors\` (float32, Hugging Face parameter names), \`config.json\` (problem_type \`${problemType}\`), \`tokenizer.json\`,`,
    "`tokenizer_config.json`, and `onnx/model.onnx` (float32; inputs `input_ids`, `attention_mask` (and `token_type_ids` for BERT),",
    "output `logits` (batch, values)). Notes longer than the model's window are cut to their first window.",
    "",
    "```python",
    "from transformers import AutoModelForSequenceClassification, pipeline",
    'model = AutoModelForSequenceClassification.from_pretrained("path/to/this/folder")',
    'classify = pipeline("text-classification", model="path/to/this/folder", top_k=None)',
    "```",
    "",
    "```js",
    'import { pipeline } from "@huggingface/transformers";',
    'const classify = await pipeline("text-classification", "this-folder", { local_files_only: true, dtype: "fp32" });',
    "```",
    "",
    `Values: ${input.labels.map((l) => `\`${l}\``).join(", ")}.`,
    "",
  ];
}

/** An attribute or relation model: no transformers class; how to load it (SPAN_HEAD_LOADING). */
function spanUsage(input: ModelCardInput): string[] {
  const task = input.adaptation?.task?.task;
  const what = task ? taskName(task).toLowerCase() : "entity spans";
  return [
    ...frontMatter(input.adaptation, null, ["information-extraction"]),
    `# ${input.name}`,
    "",
    `A ${input.modelType} encoder with a head for ${what}: it labels entity spans it is given (it finds no entities itself).`,
    "",
    "## How to load it",
    "",
    "```text",
    SPAN_HEAD_LOADING,
    "```",
    "",
    `Labels: ${input.labels.map((l) => `\`${l}\``).join(", ")}.`,
    "",
  ];
}

/** Source and adapted task scores, as the Evaluate step shows them. */
function taskEvaluationLines(c: TaskComparison): string[] {
  const source = c.source ? new Map(taskScoreRows(c.source.scores).map((row) => [row.key, row.value])) : null;
  const lines = [
    "## Evaluation on the gold notes",
    "",
    `${taskName(c.task)} on ${c.goldNotes} gold notes of the target hospital, never used for training, in %.` +
      (c.givenGoldEntities ? " The model was given the gold entities, so these are its head's scores alone." : ""),
    ...(c.sourceNote ? ["", c.sourceNote] : []),
    "",
    source ? `| Score | before: ${c.source!.name} | after: ${c.adapted.name} |` : `| Score | ${c.adapted.name} |`,
    source ? "|---|---|---|" : "|---|---|",
  ];
  for (const row of taskScoreRows(c.adapted.scores)) {
    const before = source?.get(row.key);
    lines.push(source ? `| ${row.label} | ${before === undefined ? "—" : pct(before)} | ${pct(row.value)} |` : `| ${row.label} | ${pct(row.value)} |`);
  }
  lines.push("");
  return lines;
}
