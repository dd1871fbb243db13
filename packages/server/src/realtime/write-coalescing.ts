/** What write coalescing needs of a socket: Node's `Writable` cork/uncork. */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/** Something holding corked writes, released when the event-loop turn ends. */
export interface TurnEndListener {
  endOfTurn(): void;
}

const waiting: TurnEndListener[] = [];
let flushScheduled = false;

/**
 * Write coalescing: a connection corks its TCP socket at its first frame of an event-loop turn
 * and registers here; every registered connection uncorks when the turn ends. So every frame a
 * connection is sent in one turn — replies to a burst of publishes, events of many channels —
 * reaches the kernel as ONE writev instead of one syscall each. On loopback and under load the
 * syscall (with the kernel's TCP work behind it) is the largest cost of a small frame.
 *
 * The release runs on `process.nextTick`, i.e. when the current callback and the microtasks
 * queued before it are done — a batch of frames handled from one socket read, or one fan-out,
 * or one replay. Not later: with `setImmediate` a resuming subscriber's replay stalled at the
 * backlog's high-water mark (the write whose callback ends backlog mode waited a whole loop
 * iteration while the backlog refilled; `connection-lifecycle` caught it). Order is kept
 * (corking only delays the flush), and `bufferedAmount` still counts corked bytes, so
 * slow-consumer detection is unchanged. One tick callback per batch, not per socket.
 */
export function releaseAtEndOfTurn(listener: TurnEndListener): void {
  waiting.push(listener);
  if (!flushScheduled) {
    flushScheduled = true;
    process.nextTick(endTurn);
  }
}

function endTurn(): void {
  flushScheduled = false;
  // Registered while releasing (a write callback sending more): released by the next tick.
  const listeners = waiting.splice(0, waiting.length);
  for (const listener of listeners) listener.endOfTurn();
}
