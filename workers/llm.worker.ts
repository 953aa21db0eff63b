// The local LLM, off the main thread. WebLLM brings its own message protocol: the page
// talks to this handler through `CreateWebWorkerMLCEngine(worker, ...)` (models.ts), and
// the handler owns the MLCEngine, the WebGPU device and the weight cache.
import "./bind-policy.ts";
import { WebWorkerMLCEngineHandler } from "@mlc-ai/web-llm";

const handler = new WebWorkerMLCEngineHandler();
self.onmessage = (event: MessageEvent) => handler.onmessage(event);
