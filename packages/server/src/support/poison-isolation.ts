import { classifyStorageError, describeStorageError } from '../storage/storage-errors.js';

/**
 * A batch write stopped part-way because storage became unavailable (connectivity, timeout):
 * the first `done` rows were written or quarantined, the rest were not touched. The caller
 * keeps the rest and retries them later with backoff.
 */
export class BatchWriteInterrupted extends Error {
  override name = 'BatchWriteInterrupted';
  constructor(
    readonly done: number,
    options: ErrorOptions,
  ) {
    super('storage became unavailable during a batch write', options);
  }
}

/** A row the database refused, as handed to the quarantine callback. */
export interface QuarantinedRow<T> {
  readonly row: T;
  /** Loggable: the driver's message and SQLSTATE, never the query parameters. */
  readonly reason: { message: string; code?: string };
}

/**
 * Writes `rows` in order with `write` (which must be all-or-nothing: one statement or one
 * transaction), isolating rows the database refuses so one poison row never stalls a queue.
 *
 * When a batch fails with an error that is about the data (`rejected`: a SQLSTATE outside
 * the connectivity classes, e.g. 22021 for a NUL character), the batch is split in halves and
 * each half written in order, down to the single row that is refused: that row goes to
 * `quarantine`, every other row is written, order kept. When a write fails because storage is
 * unavailable (or for a reason that cannot be told apart from that), nothing is quarantined on
 * a guess: {@link BatchWriteInterrupted} says how many leading rows are done, and the caller
 * retries the rest with backoff.
 *
 * Cost: a batch of n rows with k poison rows takes about 2·k·log2(n) extra statements.
 */
export async function writeIsolatingPoison<T>(
  rows: readonly T[],
  write: (rows: readonly T[]) => Promise<unknown>,
  quarantine: (refused: QuarantinedRow<T>) => void,
): Promise<void> {
  let done = 0;
  const writeRange = async (start: number, end: number): Promise<void> => {
    try {
      await write(rows.slice(start, end));
      done = end;
      return;
    } catch (error) {
      if (classifyStorageError(error) !== 'rejected') throw new BatchWriteInterrupted(done, { cause: error });
      if (end - start === 1) {
        quarantine({ row: rows[start]!, reason: describeStorageError(error) });
        done = end;
        return;
      }
    }
    const middle = start + Math.ceil((end - start) / 2);
    await writeRange(start, middle);
    await writeRange(middle, end);
  };
  if (rows.length > 0) await writeRange(0, rows.length);
}
