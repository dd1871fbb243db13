import { afterAll, beforeAll } from 'vitest';

/**
 * Registered for every test file (vitest `setupFiles`): the timers a file leaves running
 * after its own clean-up must be back to what was running before it started. A leaked
 * interval or timeout is a resource something forgot to release.
 */
const activeTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
let baseline = 0;

beforeAll(() => {
  baseline = activeTimers();
});

afterAll(async () => {
  // Sockets finish their close handshakes and clear their timers within a moment.
  const deadline = performance.now() + 5_000;
  while (activeTimers() > baseline && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const left = activeTimers();
  if (left > baseline) throw new Error(`leak: ${left - baseline} timer(s) still active after the file's clean-up`);
}, 10_000);
