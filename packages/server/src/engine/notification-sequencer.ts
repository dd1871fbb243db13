import type { BrokerPublication, HistorySlice, StreamPosition } from './broker.js';

/** Publications one gap fill reads at most; a longer gap is left for the subscriber to resubscribe. */
export const MAX_FILL_PUBLICATIONS = 10_000;
/** Notifications held per channel while its gap is being filled; past it they are dropped (a gap the data plane sees). */
export const MAX_QUEUED_NOTIFICATIONS = 10_000;

export type FetchSince = (channelKey: string, since: StreamPosition, limit: number) => Promise<HistorySlice>;
export type Emit = (channelKey: string, publication: BrokerPublication, epoch: string) => void;

interface Queued {
  readonly publication: BrokerPublication;
  readonly epoch: string;
}

interface ChannelLine {
  epoch: string | undefined;
  offset: number;
  filling: boolean;
  queue: Queued[];
}

/**
 * Turns an at-most-once notification feed (Redis Pub/Sub) into an in-order, gap-filled one per
 * channel. Every notification carries its offset and epoch; when one jumps ahead of the last
 * delivered offset of the same epoch, the missing publications are read from the log and
 * delivered first. When the log no longer holds them (trimmed) or the epoch changed, what is
 * there is delivered as is: the data plane sees the jump or the new epoch per subscription
 * and tells the client to resubscribe — a gap is never silent.
 *
 * Work is per notification and per channel this node subscribed to; nothing is swept.
 */
export class NotificationSequencer {
  readonly #lines = new Map<string, ChannelLine>();
  readonly #fetch: FetchSince;
  readonly #emit: Emit;
  readonly #onError: (error: unknown, channelKey: string) => void;

  constructor(fetch: FetchSince, emit: Emit, onError: (error: unknown, channelKey: string) => void) {
    this.#fetch = fetch;
    this.#emit = emit;
    this.#onError = onError;
  }

  track(channelKey: string): void {
    if (!this.#lines.has(channelKey)) this.#lines.set(channelKey, { epoch: undefined, offset: 0, filling: false, queue: [] });
  }

  forget(channelKey: string): void {
    this.#lines.delete(channelKey);
  }

  get trackedKeys(): IterableIterator<string> {
    return this.#lines.keys();
  }

  /** The channel's position when this node subscribed, unless a notification already told us. */
  initPosition(channelKey: string, position: StreamPosition): void {
    const line = this.#lines.get(channelKey);
    if (line && line.epoch === undefined) {
      line.epoch = position.epoch;
      line.offset = position.offset;
    }
  }

  receive(channelKey: string, publication: BrokerPublication, epoch: string): void {
    const line = this.#lines.get(channelKey);
    if (!line) return;
    if (line.filling) {
      if (line.queue.length < MAX_QUEUED_NOTIFICATIONS) line.queue.push({ publication, epoch });
      return;
    }
    this.#process(channelKey, line, publication, epoch);
  }

  /** After the feed may have lost notifications (reconnect): reads what the log has past the last delivered offset. */
  catchUp(channelKey: string): void {
    const line = this.#lines.get(channelKey);
    if (!line || line.filling || line.epoch === undefined) return;
    this.#fill(channelKey, line, { offset: line.offset, epoch: line.epoch }, MAX_FILL_PUBLICATIONS);
  }

  #process(channelKey: string, line: ChannelLine, publication: BrokerPublication, epoch: string): void {
    if (line.epoch === epoch) {
      if (publication.offset <= line.offset) return; // delivered already (by a fill)
      if (publication.offset > line.offset + 1) {
        line.queue.push({ publication, epoch });
        this.#fill(channelKey, line, { offset: line.offset, epoch }, Math.min(publication.offset - line.offset - 1, MAX_FILL_PUBLICATIONS));
        return;
      }
    }
    this.#deliver(channelKey, line, publication, epoch);
  }

  #deliver(channelKey: string, line: ChannelLine, publication: BrokerPublication, epoch: string): void {
    line.epoch = epoch;
    line.offset = publication.offset;
    this.#emit(channelKey, publication, epoch);
  }

  #fill(channelKey: string, line: ChannelLine, since: StreamPosition, limit: number): void {
    line.filling = true;
    this.#fetch(channelKey, since, limit)
      .then((slice) => {
        if (this.#lines.get(channelKey) !== line || slice.position.epoch !== line.epoch) return;
        // In offset order; when the log was trimmed past `since` the first one jumps (seen downstream).
        for (const publication of slice.publications) {
          if (publication.offset > line.offset) this.#deliver(channelKey, line, publication, slice.position.epoch);
        }
      })
      .catch((error: unknown) => this.#onError(error, channelKey))
      .finally(() => {
        if (this.#lines.get(channelKey) !== line) return;
        line.filling = false;
        const queued = line.queue;
        line.queue = [];
        // What the log could not give is a gap we accept here; the data plane sees it.
        const first = queued[0];
        if (first && first.epoch === line.epoch && first.publication.offset > line.offset + 1) line.offset = first.publication.offset - 1;
        for (const item of queued) {
          if (line.filling) line.queue.push(item);
          else this.#process(channelKey, line, item.publication, item.epoch);
        }
      });
  }
}
