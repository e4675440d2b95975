/** Longest wait between two connection attempts. */
const MAX_DELAY = 30_000;

/**
 * The wait before retry number `attempt` (from 0): `base` doubling each time up to 30 s, times
 * a random factor from 0.5 to 1.5 so that many clients (or lanes) do not come back in step.
 */
export function retryDelay(base: number, attempt: number): number {
  return Math.min(MAX_DELAY, base * 2 ** attempt) * (0.5 + Math.random());
}
