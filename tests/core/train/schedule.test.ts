import { describe, expect, it } from "vitest";
import { learningRate, warmupStepsFor } from "../../../src/core/train/schedule.ts";

describe("the linear warm-up / decay schedule", () => {
  const schedule = { lr: 1e-3, warmupSteps: 4, totalSteps: 12 };

  it.each([
    // step s uses transformers' lambda(s - 1): 0 → peak over the warm-up, then down to 0.
    [1, 0],
    [2, 0.25e-3],
    [4, 0.75e-3],
    [5, 1e-3],
    [6, 0.875e-3],
    [12, 0.125e-3],
    [13, 0],
    [20, 0],
  ])("step %i → %f", (step, lr) => {
    expect(learningRate(schedule, step)).toBeCloseTo(lr, 12);
  });

  it("starts at the peak without warm-up", () => {
    expect(learningRate({ lr: 2e-5, warmupSteps: 0, totalSteps: 10 }, 1)).toBe(2e-5);
    expect(learningRate({ lr: 2e-5, warmupSteps: 0, totalSteps: 10 }, 10)).toBeCloseTo(2e-6, 15);
  });

  it("rounds a warm-up ratio up, as transformers does", () => {
    expect(warmupStepsFor(105, 0.1)).toBe(11);
  });

  it("refuses step 0", () => {
    expect(() => learningRate(schedule, 0)).toThrow(/1-based/);
  });
});
