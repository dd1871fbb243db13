import type { StreamPosition } from '@apix/protocol';

/**
 * The last position a subscription delivered to the application, and the duplicate filter
 * built on it. Delivery on the wire is at-least-once (a resume may replay what the client
 * already has); this is where it becomes exactly-once for the application.
 *
 * Invariant: within one epoch offsets only grow. An event whose epoch equals the last
 * delivered one and whose offset is not greater is a duplicate. An event of another epoch
 * belongs to a new incarnation of the stream, so it is accepted and starts the count again.
 */
export class PositionTracker {
  #position: StreamPosition | undefined;

  constructor(initial?: StreamPosition) {
    this.#position = initial ? { ...initial } : undefined;
  }

  /** The last delivered position (a copy), or undefined before the first. */
  get position(): StreamPosition | undefined {
    return this.#position ? { ...this.#position } : undefined;
  }

  /** Whether the event at (epoch, offset) is new. If it is, it becomes the last delivered position. */
  accept(epoch: string, offset: number): boolean {
    const last = this.#position;
    if (last && last.epoch === epoch && offset <= last.offset) return false;
    this.#position = { epoch, offset };
    return true;
  }

  /** Moves to a known position (the server's, after a subscribe), or forgets it. */
  reset(position?: StreamPosition): void {
    this.#position = position ? { ...position } : undefined;
  }
}
