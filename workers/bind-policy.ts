// Imported first by every worker entry point: the workers a worker starts (onnxruntime-web's
// threads) get the page's Content-Security-Policy too. See policy-bound.ts.
import { bindWorkersToPolicy } from "./policy-bound.ts";

bindWorkersToPolicy();
