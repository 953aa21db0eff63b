// A stand-in for a GPU lost mid-training, shared by the NER and task run tests.
import { DeviceLostError } from "../../../src/core/errors.ts";
import { createTrainSession, type Backend, type SessionFactory } from "../../../src/core/train/ort-session.ts";

/**
 * Sessions for a "webgpu" that is lost at its `lostOnRun`-th session run (counted over all
 * of its sessions). Node has no GPU, so "webgpu" sessions are onnxruntime's wasm ones
 * underneath: the only stand-in is the backend's name and the loss. `backends` records the
 * backend of every session the trainer asked for.
 */
export function gpuLostAt(lostOnRun: number): { createSession: SessionFactory; backends: Backend[] } {
  const backends: Backend[] = [];
  let gpuRuns = 0;
  const createSession: SessionFactory = async (model, opts) => {
    backends.push(opts.backend);
    const session = await createTrainSession(model, { ...opts, backend: "wasm" });
    if (opts.backend === "wasm") return session;
    return {
      backend: opts.backend,
      inputNames: session.inputNames,
      outputNames: session.outputNames,
      run: (feeds) => (++gpuRuns >= lostOnRun ? Promise.reject(new DeviceLostError("unknown", "GPU process exited")) : session.run(feeds)),
      release: () => session.release(),
    };
  };
  return { createSession, backends };
}
