import { matchesFilters, type SubscriptionFilters } from '@apix/protocol';
import type { Connection } from './connection.js';
import { MAX_RECOVERY_BUFFER, type RoutedPublication, type StreamBreak } from './channel-subscription.js';
import type { Delivery, DeliveryState } from './delivery.js';

/**
 * Today's delivery, moved here unchanged: every subscriber of the hub is handed the same
 * encoded bytes, and nothing is allocated or remembered per event beyond `lastOffset`.
 *
 * Invariant: the client receives each publication at most once and in offset order. While
 * `recovering` (history being read), live publications are buffered; `goLive` sends the
 * replayed history, then the buffered publications newer than it, and only then lets live
 * publications through. `lastOffset` drops anything already sent.
 *
 * A live publication whose offset jumps past `lastOffset + 1`, or that comes from another
 * epoch, means the stream cannot be delivered whole from here (a lost notification, a log that
 * was lost and restarted): delivery stops and `onBreak` asks the client to resubscribe with its
 * last position. Following the new epoch silently would hide the gap.
 */
export class BroadcastDelivery implements Delivery {
  readonly #connection: Connection;
  readonly #filters: SubscriptionFilters | undefined;
  readonly #onBreak: (reason: StreamBreak) => void;
  #state: DeliveryState = 'recovering';
  #buffer: RoutedPublication[] = [];
  #epoch = '';
  #lastOffset = 0;

  constructor(connection: Connection, filters: SubscriptionFilters | undefined, onBreak: (reason: StreamBreak) => void) {
    this.#connection = connection;
    this.#filters = filters;
    this.#onBreak = onBreak;
  }

  /** The last position delivered (or skipped as already known). */
  get position(): { offset: number; epoch: string } {
    return { offset: this.#lastOffset, epoch: this.#epoch };
  }

  get state(): DeliveryState {
    return this.#state;
  }

  offer(publication: RoutedPublication): void {
    if (this.#state === 'live') this.#deliver(publication);
    else if (this.#state === 'recovering') {
      this.#buffer.push(publication);
      if (this.#buffer.length > MAX_RECOVERY_BUFFER) this.#break('recovery-overflow');
    }
  }

  goLive(position: { offset: number; epoch: string }, replay: readonly RoutedPublication[]): void {
    if (this.#state !== 'recovering') return;
    this.#epoch = position.epoch;
    this.#lastOffset = replay.length > 0 ? Math.min(replay[0]!.offset - 1, position.offset) : position.offset;
    for (const publication of replay) this.#deliver(publication);
    this.#lastOffset = Math.max(this.#lastOffset, position.offset);
    const buffered = this.#buffer;
    this.#buffer = [];
    this.#state = 'live';
    for (const publication of buffered) this.#deliver(publication);
  }

  close(): void {
    this.#state = 'closed';
    this.#buffer = [];
  }

  #deliver(publication: RoutedPublication): void {
    if (publication.epoch !== this.#epoch) return this.#break('epoch-changed');
    if (publication.offset <= this.#lastOffset) return;
    if (publication.offset !== this.#lastOffset + 1) return this.#break('gap');
    this.#lastOffset = publication.offset;
    if (this.#filters && !matchesFilters(this.#filters, publication.event())) return;
    this.#connection.sendRaw(publication.frame);
  }

  #break(reason: StreamBreak): void {
    if (this.#state === 'closed') return;
    this.close();
    this.#onBreak(reason);
  }
}
