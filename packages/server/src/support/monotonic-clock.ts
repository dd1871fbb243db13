import { performance } from 'node:perf_hooks';

/**
 * Milliseconds on a clock that never jumps: for timers, timeouts, backoffs and ages. The wall
 * clock (`Date.now()`) can step backwards or forwards (NTP, a VM resumed, an operator) and is
 * only for what people read: timestamps in events, logs and rows, and token expiry, which is
 * defined in wall time by the token itself.
 */
export const monotonicNow: () => number = () => performance.now();
