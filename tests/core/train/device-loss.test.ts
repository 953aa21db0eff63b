// The WebGPU guard of the training adapter: a call on a device that is lost (the browser's
// GPUDevice.lost promise has resolved) ends in a DeviceLostError, whether the call failed
// (a buffer read back to the host), never settles (onnxruntime's session run after a GPU
// process crash) or "succeeded" (commands on a lost device are no-ops).
// Other failures stay what they were. The device here is its `lost` promise only: Node has
// no WebGPU, and that promise is all the guard reads.
import { describe, expect, it } from "vitest";
import { DeviceLostError, fromErrorData, toErrorData } from "../../../src/core/errors.ts";
import { deviceLossGuard, type LostInfo } from "../../../src/core/train/ort-session.ts";

function device(): { lost: Promise<LostInfo>; lose(info: LostInfo): void } {
  let lose!: (info: LostInfo) => void;
  const lost = new Promise<LostInfo>((resolve) => (lose = resolve));
  return { lost, lose };
}

describe("the WebGPU device-loss guard", () => {
  it("turns a failed read on a lost device into a DeviceLostError that keeps the browser's error as its cause", async () => {
    const gpu = device();
    const guard = deviceLossGuard(gpu.lost);
    const mapFailed = new Error("Failed to execute 'mapAsync' on 'GPUBuffer'");
    // The read fails first; the loss is reported a moment later, as browsers may order them.
    const call = guard(async () => {
      setTimeout(() => gpu.lose({ reason: "unknown", message: "GPU process exited" }), 10);
      throw mapFailed;
    });
    const error = await call.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceLostError);
    expect((error as DeviceLostError).message).toBe('The GPU stopped (device lost, reason "unknown"): GPU process exited.');
    expect((error as DeviceLostError).reason).toBe("unknown");
    expect((error as DeviceLostError).cause).toBe(mapFailed);
  });

  it("ends a call that never settles once the device is lost", async () => {
    const gpu = device();
    const guard = deviceLossGuard(gpu.lost);
    const hung = guard(() => new Promise<never>(() => undefined));
    gpu.lose({ reason: "unknown", message: "A valid external Instance reference no longer exists." });
    await expect(hung).rejects.toThrow('The GPU stopped (device lost, reason "unknown"): A valid external Instance reference no longer exists.');
    // Later calls end before they start.
    let started = false;
    await expect(guard(async () => (started = true))).rejects.toBeInstanceOf(DeviceLostError);
    expect(started).toBe(false);
  });

  it("refuses a result that came back after the loss", async () => {
    const gpu = device();
    const guard = deviceLossGuard(gpu.lost);
    expect(await guard(async () => 1)).toBe(1);
    // The device is lost while the call's result is on its way back.
    const late = guard(async () => {
      gpu.lose({ reason: "destroyed", message: "" });
      await gpu.lost;
      return 2;
    });
    await expect(late).rejects.toThrow('The GPU stopped (device lost, reason "destroyed").');
  });

  it("passes other failures through unchanged while the device lives", async () => {
    const guard = deviceLossGuard(device().lost, 5);
    const other = new RangeError("bad shape");
    await expect(guard(() => Promise.reject(other))).rejects.toBe(other);
  });

  it("crosses the worker boundary as a DeviceLostError", () => {
    const error = fromErrorData(toErrorData(new DeviceLostError("destroyed", "")));
    expect(error).toBeInstanceOf(DeviceLostError);
    expect(error.message).toBe('The GPU stopped (device lost, reason "destroyed").');
  });
});
