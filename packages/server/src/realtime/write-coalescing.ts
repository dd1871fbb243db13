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
 * The cost is latency within the turn only: `setImmediate` runs right after the current I/O
 * phase. Order is kept (corking only delays the flush), and `bufferedAmount` still counts
 * corked bytes, so slow-consumer detection is unchanged. One immediate per turn, not per socket.
 */
export function releaseAtEndOfTurn(listener: TurnEndListener): void {
  waiting.push(listener);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(endTurn);
  }
}

function endTurn(): void {
  flushScheduled = false;
  // Registered while releasing (a write callback sending more): released at the next turn's end.
  const listeners = waiting.splice(0, waiting.length);
  for (const listener of listeners) listener.endOfTurn();
}
