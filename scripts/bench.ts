// `npm run bench -- <name> [options]`: each benchmark prints one JSON line per measured
// configuration on stdout (progress goes to stderr).
const benches: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  import: () => import("./bench/import.ts"),
  "train-step": () => import("./bench/train-step.ts"), "train-ner": () => import("./bench/train-ner.ts"),
  annotate: () => import("./bench/annotate.ts"),
  inference: () => import("./bench/inference.ts"),
  adapt: () => import("./bench/adapt.ts"),
  "adapt-doc": () => import("./bench/adapt-doc.ts"),
  quantize: () => import("./bench/quantize.ts"),
};

const [benchName, ...args] = process.argv.slice(2);
const load = benchName ? benches[benchName] : undefined;
if (!load) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join("|")}> [options]`);
  process.exit(2);
}
await (await load()).run(args);

export {};
