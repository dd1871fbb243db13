/**
 * Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on
 * the same machine: each process's `timeOrigin` is read from the system clock at start,
 * `performance.now()` is monotonic from there. (`process.hrtime` has no shared origin.)
 */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
