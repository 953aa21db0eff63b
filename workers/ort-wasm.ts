// onnxruntime-web's WebAssembly for the app's workers: the app's own copies (the default
// bundle runs the JSEP build, which serves both wasm and WebGPU), never the CDN
// transformers.js would point at. Imported first by each worker that runs models.
//
// The URLs are made absolute against this module: the workers run as blob: modules (to
// inherit the page's Content-Security-Policy), and there a root-relative path, which is
// what Vite's dev server (`npm start`) gives for `?url`, cannot be resolved. The build
// gives absolute URLs already; they pass through unchanged.
import * as ort from "onnxruntime-web";
import wasmUrl from "onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url";
import mjsUrl from "onnxruntime-web/ort-wasm-simd-threaded.jsep.mjs?url";

ort.env.wasm.wasmPaths = { wasm: new URL(wasmUrl, import.meta.url).href, mjs: new URL(mjsUrl, import.meta.url).href };
