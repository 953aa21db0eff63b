// The learning-rate schedule, computed on the host and fed to the step graph as `lr`:
// linear warm-up from 0, then linear decay to 0 — transformers' default
// (get_linear_schedule_with_warmup). Steps are 1-based, as the optimizer counts them:
// step s uses lambda(s - 1), so the first step has lr 0 when there is any warm-up,
// exactly as transformers' first optimizer step does.

export interface LinearSchedule {
  /** The peak learning rate. */
  lr: number;
  /** Optimizer steps of linear warm-up (0: start at the peak). */
  warmupSteps: number;
  /** All optimizer steps of the run; lr reaches 0 there. */
  totalSteps: number;
}

/** The learning rate of 1-based step `step`. */
export function learningRate(schedule: LinearSchedule, step: number): number {
  const { lr, warmupSteps, totalSteps } = schedule;
  if (!Number.isInteger(step) || step < 1) throw new RangeError(`learningRate: expected a 1-based integer step, got ${step}`);
  const s = step - 1;
  if (s < warmupSteps) return (lr * s) / Math.max(1, warmupSteps);
  return lr * Math.max(0, (totalSteps - s) / Math.max(1, totalSteps - warmupSteps));
}

/** Warm-up as a fraction of the run (transformers' warmup_ratio), rounded up as transformers does. */
export function warmupStepsFor(totalSteps: number, ratio: number): number {
  return Math.ceil(totalSteps * ratio);
}
