// Import benchmark: 20,000 generated notes (about 40 MB, mixed formats) go through the
// app's own file picker into IndexedDB in headless Chromium, exactly as a user's would.
// Prints {"bench":"import","notes","mb","seconds","notes_per_s","peak_js_heap_mb"}; the
// peak heap is sampled from the import worker (where the work happens) and the page.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type CDPSession } from "playwright-core";
import { serveBuiltApp } from "./serve-app.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const FLAGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

/** A deterministic PRNG so every run imports the same notes. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SENTENCES = [
  "Patient is a {age} year old {sex} presenting with {finding} for {days} days.",
  "History of {disease} treated with {drug} {dose} mg daily.",
  "On examination the patient was afebrile, BP {sys}/{dia}, HR {hr}.",
  "Labs notable for creatinine {cr} and WBC {wbc}.",
  "Plan: continue {drug}, start {drug2} and reassess in {days} days.",
  "Denies {finding2}; reports mild {finding} after meals.",
];
const WORDS: Record<string, string[]> = {
  sex: ["man", "woman"],
  finding: ["chest pain", "dyspnea", "abdominal pain", "headache", "fever", "cough", "nausea"],
  finding2: ["syncope", "hematuria", "weight loss", "night sweats"],
  disease: ["hypertension", "type 2 diabetes", "atrial fibrillation", "COPD", "asthma", "CKD stage 3"],
  drug: ["metformin", "lisinopril", "apixaban", "atorvastatin", "albuterol", "furosemide"],
  drug2: ["amlodipine", "insulin glargine", "prednisone", "omeprazole"],
};

function note(next: () => number, targetChars: number): string {
  const pick = (list: string[]) => list[Math.floor(next() * list.length)];
  const fill = (template: string) =>
    template.replace(/\{(\w+)\}/g, (_, key: string) => {
      if (WORDS[key]) return pick(WORDS[key]);
      return String(Math.floor(next() * 100) + 1);
    });
  let text = "";
  while (text.length < targetChars) text += fill(pick(SENTENCES)) + " ";
  return text.trim();
}

/** Writes the corpus in mixed formats; returns the file paths and the note count. */
function generate(dir: string, totalNotes: number, next: () => number): { paths: string[]; notes: number; bytes: number } {
  const paths: string[] = [];
  let bytes = 0;
  const write = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    paths.push(path);
    bytes += Buffer.byteLength(content);
  };
  const chars = () => 1200 + Math.floor(next() * 1600); // about 2 KB a note
  const share = Math.floor(totalNotes / 4);
  // a quarter as .txt files, one note each
  for (let i = 0; i < share; i++) write(`note-${i}.txt`, note(next, chars()));
  // a quarter as CSV (quoted fields with commas and line breaks)
  const csvRows = Array.from({ length: share }, (_, i) => `${i},"${note(next, chars()).replace(/\. /g, ".\n").replace(/"/g, '""')}"`);
  write("export.csv", ["note_id,note_text", ...csvRows].join("\n") + "\n");
  // a quarter as JSONL with entities
  const jsonl = Array.from({ length: share }, (_, i) => {
    const text = note(next, chars());
    const word = WORDS.drug.find((drug) => text.includes(drug));
    const start = word ? text.indexOf(word) : -1;
    return JSON.stringify({ id: `j${i}`, text, entities: start >= 0 ? [{ start, end: start + word!.length, type: "Chemical" }] : [] });
  });
  write("annotated.jsonl", jsonl.join("\n") + "\n");
  // the rest as TSV
  const rest = totalNotes - 3 * share;
  const tsvRows = Array.from({ length: rest }, (_, i) => `t${i}\t${note(next, chars())}`);
  write("export.tsv", ["id\ttext", ...tsvRows].join("\n") + "\n");
  return { paths, notes: totalNotes, bytes };
}

/** The JS heap of the page and of each dedicated worker, through the browser's DevTools protocol. */
async function heapSampler(browserSession: CDPSession) {
  let peak = 0;
  const attached = new Map<string, string>(); // targetId -> sessionId
  let nextId = 1;
  const pending = new Map<number, (usage: number) => void>();
  browserSession.on("Target.receivedMessageFromTarget", ({ message }: { message: string }) => {
    const reply = JSON.parse(message) as { id?: number; result?: { usedSize?: number } };
    if (reply.id !== undefined) pending.get(reply.id)?.(reply.result?.usedSize ?? 0);
  });
  const sample = async () => {
    const { targetInfos } = (await browserSession.send("Target.getTargets")) as { targetInfos: { targetId: string; type: string }[] };
    let total = 0;
    for (const target of targetInfos.filter((t) => t.type === "worker" || t.type === "page")) {
      let sessionId = attached.get(target.targetId);
      if (!sessionId) {
        ({ sessionId } = (await browserSession.send("Target.attachToTarget", { targetId: target.targetId, flatten: false })) as { sessionId: string });
        attached.set(target.targetId, sessionId);
      }
      const id = nextId++;
      const usage = new Promise<number>((resolve) => pending.set(id, resolve));
      await browserSession.send("Target.sendMessageToTarget", { sessionId, message: JSON.stringify({ id, method: "Runtime.getHeapUsage" }) });
      total += await Promise.race([usage, new Promise<number>((resolve) => setTimeout(() => resolve(0), 1000))]);
    }
    peak = Math.max(peak, total);
  };
  return { sample, peak: () => peak };
}

export async function run(args: string[]): Promise<void> {
  const totalNotes = Number(args.find((arg) => arg.startsWith("--notes="))?.slice(8) ?? 20_000);
  const dir = mkdtempSync(join(tmpdir(), "bench-import-"));
  const profile = mkdtempSync(join(tmpdir(), "bench-profile-"));
  mkdirSync(dir, { recursive: true });
  const corpus = generate(dir, totalNotes, random(7));
  console.error(`generated ${corpus.notes} notes in ${corpus.paths.length} files, ${(corpus.bytes / 1e6).toFixed(1)} MB`);

  const { url, server } = await serveBuiltApp();
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(url);
    await page.getByTestId("note-count").waitFor();
    await page.getByRole("textbox", { name: "New project name" }).fill("Benchmark");
    await page.getByRole("button", { name: "Create" }).click();
    await page.getByTestId("project-name").filter({ hasText: "Benchmark" }).waitFor();

    const heap = await heapSampler(await context.browser()!.newBrowserCDPSession());
    const sampling = setInterval(() => void heap.sample().catch(() => undefined), 250);
    await page.getByTestId("file-input").setInputFiles(corpus.paths);
    await page.getByTestId("confirm-columns").click();
    await page.getByTestId("import-report").waitFor({ timeout: 600_000 });
    clearInterval(sampling);
    await heap.sample();

    const added = Number(await page.getByTestId("notes-added").textContent());
    const seconds = Number((await page.getByTestId("import-report").textContent())?.match(/in ([\d.]+) s/)?.[1]);
    if (added !== corpus.notes) throw new Error(`expected ${corpus.notes} notes, the app stored ${added}`);
    console.log(
      JSON.stringify({
        bench: "import",
        notes: added,
        mb: Number((corpus.bytes / 1e6).toFixed(1)),
        seconds,
        notes_per_s: Math.round(added / seconds),
        peak_js_heap_mb: Number((heap.peak() / 1e6).toFixed(1)),
      }),
    );
  } finally {
    await context.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
}
