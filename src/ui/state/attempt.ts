// User actions on a screen: a failure is shown in the screen's `error` instead of being a
// lost promise; a cancel the user asked for is not a failure.
import { CancelledError } from "../../core/errors.ts";

export interface ShowsErrors {
  error: string | null;
}

export async function attempt<T>(screen: ShowsErrors, action: () => Promise<T>): Promise<T | undefined> {
  try {
    screen.error = null;
    return await action();
  } catch (error) {
    if (!(error instanceof CancelledError)) screen.error = error instanceof Error ? error.message : String(error);
    return undefined;
  }
}
