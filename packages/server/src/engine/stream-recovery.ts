import type { HistorySlice, StreamPosition } from './broker.js';

export interface RecoveryOutcome {
  /** Every publication after `since` is in the slice: replaying it leaves no gap. */
  readonly complete: boolean;
  /** When not complete and the count is knowable (same epoch): how many publications are lost. */
  readonly missed?: number;
}

/**
 * Decides whether a history slice read with `since` continues the client's stream without a
 * gap. The only place that judges recovery, so WebSocket resume and history reads agree.
 *
 * - another epoch: the stream the client knew is gone → not complete (count unknown);
 * - a position ahead of the stream: the client knows a stream we don't → not complete;
 * - otherwise complete iff the first returned offset is `since.offset + 1` (or nothing
 *   newer exists), and, when a limit cut the slice, the caller reads further pages.
 */
export function judgeRecovery(since: StreamPosition, slice: HistorySlice): RecoveryOutcome {
  const { position, publications } = slice;
  if (since.epoch !== position.epoch || since.offset > position.offset) return { complete: false };
  if (since.offset === position.offset) return { complete: true };
  const first = publications[0];
  if (first !== undefined && first.offset === since.offset + 1) return { complete: true };
  const firstAvailable = first?.offset ?? position.offset + 1;
  return { complete: false, missed: firstAvailable - since.offset - 1 };
}
