/**
 * Monotonic milliseconds for every deadline, timeout, backoff and age in the SDK. The wall
 * clock (`Date.now()`) jumps with NTP steps, sleep/resume and users changing the time; a
 * deadline computed from it can fire at once or never. Wall time is only for what a person
 * reads (event timestamps) and for the server's clock, which is wall time by definition.
 */
export function monotonicNow(): number {
  return performance.now();
}
