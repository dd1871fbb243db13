/** Retries an assertion every few ms until it passes or the time is up (then rethrows its last failure). */
export async function eventually(assertion: () => void, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      assertion();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

/** Resolves with the next context of a typed event. */
export function nextEvent<C>(on: (listener: (context: C) => void) => () => void, timeoutMs = 2000): Promise<C> {
  return new Promise<C>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`event did not come within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = on((context) => {
      clearTimeout(timer);
      off();
      resolve(context);
    });
  });
}
