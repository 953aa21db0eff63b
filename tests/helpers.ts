// Helpers shared by the unit tests.
import { expect } from "vitest";

/** Runs `run`, checks it threw an error of the given class, and returns that error. */
export function thrownBy<E extends Error>(ErrorClass: new (...args: never[]) => E, run: () => unknown): E {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ErrorClass);
    return error as E;
  }
  throw new Error(`expected ${run} to throw a ${ErrorClass.name}`);
}
