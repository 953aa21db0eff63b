// A seeded pseudo-random generator, so that a "newly initialised" head or a random-weight
// benchmark encoder is the same on every machine and every run. mulberry32 for uniforms
// (32-bit state, passes SmallCrush, fast in JS) and Box–Muller for normals.

export interface SeededRandom {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Normal(mean, std). */
  normal(mean?: number, std?: number): number;
  /** Fills `out` with Normal(mean, std) samples. */
  fillNormal(out: Float32Array, mean?: number, std?: number): Float32Array;
}

export function seededRandom(seed: number): SeededRandom {
  let state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  let spare: number | undefined;

  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  const standardNormal = (): number => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    // 1 - u lies in (0, 1], so the log is finite.
    const radius = Math.sqrt(-2 * Math.log(1 - uniform()));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };

  return {
    uniform,
    normal: (mean = 0, std = 1) => mean + std * standardNormal(),
    fillNormal(out, mean = 0, std = 1) {
      for (let i = 0; i < out.length; i++) out[i] = mean + std * standardNormal();
      return out;
    },
  };
}
