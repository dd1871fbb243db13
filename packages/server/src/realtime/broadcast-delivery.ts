import { matchesFilters, type SubscriptionFilters } from '@apix/protocol';
import type { Connection } from './connection.js';
import { MAX_RECOVERY_BUFFER, type RoutedPublication, type StreamBreak } from './channel-subscription.js';
import type { Delivery, DeliveryState } from './delivery.js';

/**
 * Today's delivery, moved here unchanged: every subscriber of the hub is handed the same
 * encoded bytes, and nothing is allocated or remembered per event beyond `lastOffset`.
 *
 * Invariant: the client receives each publication at most once and in offset order. While
 * `recovering` (history being read, then replayed), live publications are buffered; `goLive`
 * sends the replayed history, then the buffered publications newer than it, and only then lets
 * live publications through. `lastOffset` drops anything already sent.
 *
 * The replay is paced (ADR 0045): frames are handed to the connection only while its backlog
 * is empty, and the rest waits for the socket to drain (`Connection.whenWritable`). A replay
 * therefore never fills the backlog toward the send cap — a resume larger than the cap on a
 * slow network is not "slow consumption", and closing it 4004 would only make the next resume
 * do the same. Live publications meanwhile wait in the recovery buffer (bounded:
 * MAX_RECOVERY_BUFFER, past it the client is asked to resubscribe from its position).
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
  /** The history still being replayed, and the index of its next publication (undefined: not replaying). */
  #replay: readonly RoutedPublication[] | undefined;
  #replayNext = 0;

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
    if (this.#state !== 'recovering' || this.#replay !== undefined) return;
    this.#epoch = position.epoch;
    this.#lastOffset = replay.length > 0 ? Math.min(replay[0]!.offset - 1, position.offset) : position.offset;
    this.#replay = replay;
    this.#replayNext = 0;
    this.#pump(position.offset);
  }

  close(): void {
    this.#state = 'closed';
    this.#buffer = [];
    this.#replay = undefined;
  }

  /**
   * Hands the replay to the connection while its backlog is empty; when the socket stops taking
   * frames, waits for it to drain and goes on. Once the replay is out, the buffered live
   * publications follow and the subscription is live. The fast path (a socket that keeps up)
   * sends the whole replay in this call, as before.
   */
  #pump(head: number): void {
    const replay = this.#replay;
    if (replay === undefined || this.#state !== 'recovering') return;
    while (this.#replayNext < replay.length) {
      if (this.#connection.backlogged) return this.#connection.whenWritable(() => this.#pump(head));
      this.#deliver(replay[this.#replayNext++]!);
      if (this.#state !== 'recovering') return; // the replay broke the stream (gap, epoch)
    }
    this.#replay = undefined;
    this.#lastOffset = Math.max(this.#lastOffset, head);
    const buffered = this.#buffer;
    this.#buffer = [];
    this.#state = 'live';
    for (const publication of buffered) this.#deliver(publication);
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
