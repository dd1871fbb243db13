/** Runs `task(0) … task(count - 1)` with at most `concurrency` in flight; resolves when all have settled. */
export async function boundedParallel(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      await task(index).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(count, Math.max(1, concurrency)) }, worker));
}

/** Counts error messages (first 80 characters), so a report can say what failed without listing 10,000 lines. */
export function tallyError(errors: Record<string, number>, error: unknown): void {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 80);
  errors[message] = (errors[message] ?? 0) + 1;
}
