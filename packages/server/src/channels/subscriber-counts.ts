import type { ChannelName } from '@apix/protocol';
import type { Logger } from '../logging/logger.js';
import type { Connection } from '../realtime/connection.js';
import type { RealtimeObserver } from '../realtime/realtime-observer.js';
import type { ChannelRepository } from '../storage/channel-repository.js';

/**
 * Keeps `channels.subscribers` current: this node adds up its subscribes and unsubscribes per
 * channel and writes the net change once a second, as one atomic increment per channel (so
 * several nodes can share a row). Channels without a row are not counted.
 */
export class SubscriberCounts implements RealtimeObserver {
  readonly #channels: ChannelRepository;
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;
  #deltas = new Map<string, { organizationId: string; channel: string; delta: number }>();
  #flushing: Promise<void> = Promise.resolve();

  constructor(channels: ChannelRepository, flushIntervalMs: number, logger: Logger) {
    this.#channels = channels;
    this.#logger = logger;
    this.#timer = setInterval(() => void this.flush(), flushIntervalMs);
    this.#timer.unref();
  }

  subscribed(connection: Connection, channels: readonly ChannelName[]): void {
    this.#add(connection, channels, +1);
  }

  unsubscribed(connection: Connection, channels: readonly ChannelName[]): void {
    this.#add(connection, channels, -1);
  }

  flush(): Promise<void> {
    const deltas = [...this.#deltas.values()].filter((d) => d.delta !== 0);
    this.#deltas = new Map();
    this.#flushing = this.#flushing.then(async () => {
      for (const d of deltas) {
        try {
          await this.#channels.adjustSubscribers(d.organizationId, d.channel, d.delta);
        } catch (error) {
          this.#logger.error({ err: error, channel: d.channel, delta: d.delta }, 'subscriber count update failed');
        }
      }
    });
    return this.#flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  #add(connection: Connection, channels: readonly ChannelName[], sign: number): void {
    const organizationId = connection.principal!.organizationId;
    for (const channel of channels) {
      const key = `${organizationId}/${channel}`;
      const entry = this.#deltas.get(key) ?? { organizationId, channel, delta: 0 };
      entry.delta += sign;
      this.#deltas.set(key, entry);
    }
  }
}
