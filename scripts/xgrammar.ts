// xgrammar, the grammar engine WebLLM constrains decoding with, for Node (tests and the
// annotate benchmark). WebLLM bundles it without exporting it; @mlc-ai/web-xgrammar is
// the same build on its own (`sameXgrammarAsWebLlm` checks that the WebAssembly is
// byte-identical). Its bundle is UMD in a package marked "type": "module", so Node's
// import cannot load it: it is run here as the CommonJS script it is.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { constants, Script } from "node:vm";

export type Xgrammar = typeof import("@mlc-ai/web-xgrammar");

const require = createRequire(import.meta.url);
let loaded: Xgrammar | undefined;

export function loadXgrammar(): Xgrammar {
  if (loaded) return loaded;
  const file = require.resolve("@mlc-ai/web-xgrammar");
  const module = { exports: {} as Xgrammar };
  const wrapped = `(function (exports, module, require, __filename, __dirname) {${readFileSync(file, "utf8")}\n})`;
  // Its Node path imports "module" dynamically: Node's own loader serves that, also under vitest.
  const script = new Script(wrapped, { filename: file, importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
  script.runInThisContext()(module.exports, module, createRequire(file), file, dirname(file));
  loaded = module.exports;
  return loaded;
}

/** SHA-256 of each WebAssembly module a bundle carries inline (base64 data URLs). */
function inlineWasmDigests(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/data:application\/octet-stream;base64,([A-Za-z0-9+/=]+)/g)].map((match) => createHash("sha256").update(match[1]).digest("hex"));
}

/** Whether WebLLM's bundle carries exactly the xgrammar WebAssembly that @mlc-ai/web-xgrammar does. */
export function sameXgrammarAsWebLlm(): boolean {
  const [xgrammar] = inlineWasmDigests(require.resolve("@mlc-ai/web-xgrammar"));
  return xgrammar !== undefined && inlineWasmDigests(require.resolve("@mlc-ai/web-llm")).includes(xgrammar);
}
