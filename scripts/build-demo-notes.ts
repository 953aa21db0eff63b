// Builds public/demo/notes-{pool,gold}.jsonl from scripts/demo/target-notes.txt, where entities are
// written inline as [text](Type). Offsets are computed here so the file is always exact.
// Run: npx tsx scripts/build-demo-notes.ts
import { readFileSync, writeFileSync } from "node:fs";

interface DemoNote {
  id: string;
  text: string;
  gold: boolean;
  entities: { start: number; end: number; type: string; text: string }[];
}

function parseBlock(block: string): DemoNote {
  const lines = block.split("\n").filter((line) => line.trim() && !line.startsWith("#"));
  const header = new Map<string, string>();
  while (lines.length && /^(id|gold): /.test(lines[0])) {
    const [key, value] = lines.shift()!.split(": ");
    header.set(key, value.trim());
  }
  const id = header.get("id");
  if (!id) throw new Error(`A demo note has no 'id:' line: ${block.slice(0, 60)}`);
  let text = "";
  const entities: DemoNote["entities"] = [];
  const marked = lines.join("\n");
  const pattern = /\[([^\]]+)\]\(([A-Za-z]+)\)/g;
  let last = 0;
  for (const match of marked.matchAll(pattern)) {
    text += marked.slice(last, match.index);
    entities.push({ start: text.length, end: text.length + match[1].length, type: match[2], text: match[1] });
    text += match[1];
    last = match.index! + match[0].length;
  }
  text += marked.slice(last);
  return { id, text, gold: header.get("gold") === "yes", entities };
}

const source = readFileSync("scripts/demo/target-notes.txt", "utf8");
const notes = source.split(/\n---\n/).map(parseBlock);
// Only gold notes ship with their entities; the others are unannotated target notes.
const jsonl = (rows: object[]) => rows.map((row) => JSON.stringify(row)).join("\n") + "\n";
const gold = notes.filter((note) => note.gold).map(({ id, text, entities }) => ({ id, text, entities }));
const pool = notes.filter((note) => !note.gold).map(({ id, text }) => ({ id, text }));
writeFileSync("public/demo/notes-gold.jsonl", jsonl(gold));
writeFileSync("public/demo/notes-pool.jsonl", jsonl(pool));
console.log(`wrote ${pool.length} pool notes and ${gold.length} gold notes to public/demo/`);
