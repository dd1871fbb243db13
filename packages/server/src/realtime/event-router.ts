import type { ChannelName } from '@apix/protocol';
import type { Broker, BrokerEventHandler, BrokerPublication } from '../engine/broker.js';
import type { Logger } from '../logging/logger.js';
import type { ChannelSubscription, RoutedPublication } from './channel-subscription.js';

/** Told once per publication per node, after its fan-out (monitoring: latency, deliveries, bytes). */
export interface FanOutProbe {
  fannedOut(channelKey: string, publication: BrokerPublication, deliveries: number, frameBytes: number): void;
}

interface ChannelHub {
  readonly channel: ChannelName;
  readonly subscribers: Set<ChannelSubscription>;
}

/**
 * Builds the `event` frame by concatenation: `data` is the stored event JSON (encoded by the
 * publisher from a validated event), `channel` is grammar-checked and `epoch` is
 * [A-Za-z0-9_-], so the result is valid JSON without re-encoding the event.
 */
export function encodeEventFrame(channel: string, offset: number, epoch: string, data: string): string {
  return `{"type":"event","channel":${JSON.stringify(channel)},"offset":${offset},"epoch":"${epoch}","event":${data}}`;
}

export function routedPublication(channel: string, publication: BrokerPublication, epoch: string): RoutedPublication {
  let decoded: { type: string } | undefined;
  return {
    offset: publication.offset,
    epoch,
    frame: Buffer.from(encodeEventFrame(channel, publication.offset, epoch, publication.data)),
    event: () => (decoded ??= JSON.parse(publication.data) as { type: string }),
  };
}

/**
 * The local hub (channel → subscriptions on this node) and the bridge from the broker. Each
 * publication is encoded once and the same bytes are offered to every subscriber. This node
 * is subscribed to a channel at the broker exactly while it has at least one subscriber.
 */
export class EventRouter implements BrokerEventHandler {
  readonly #hubs = new Map<string, ChannelHub>();
  readonly #broker: Broker;
  readonly #logger: Logger;
  /** Per-key chain of broker subscribe/unsubscribe calls, so they reach the broker in order. */
  readonly #brokerOps = new Map<string, Promise<void>>();
  readonly #probe: FanOutProbe | undefined;

  constructor(broker: Broker, logger: Logger, probe?: FanOutProbe) {
    this.#broker = broker;
    this.#logger = logger;
    this.#probe = probe;
  }

  get channelCount(): number {
    return this.#hubs.size;
  }

  /** Keys of the channels with subscribers on this node (monitoring: a union across nodes). */
  channelKeys(): IterableIterator<string> {
    return this.#hubs.keys();
  }

  /** The subscriptions this node holds on a channel (a change to the channel's permissions re-checks exactly these). */
  subscribersOf(key: string): ChannelSubscription[] {
    return [...(this.#hubs.get(key)?.subscribers ?? [])];
  }

  subscriberCount(key: string): number {
    return this.#hubs.get(key)?.subscribers.size ?? 0;
  }

  /** Adds a subscription; resolves once the broker delivers the channel's live publications here. */
  async attach(subscription: ChannelSubscription): Promise<void> {
    let hub = this.#hubs.get(subscription.key);
    if (!hub) {
      hub = { channel: subscription.channel.name, subscribers: new Set() };
      this.#hubs.set(subscription.key, hub);
      hub.subscribers.add(subscription);
      await this.#brokerOp(subscription.key, () => this.#broker.subscribe(subscription.key));
      return;
    }
    hub.subscribers.add(subscription);
    // Someone else created the hub; wait until its broker subscription is in place too.
    await this.#brokerOps.get(subscription.key);
  }

  detach(subscription: ChannelSubscription): void {
    subscription.close();
    const hub = this.#hubs.get(subscription.key);
    if (!hub || !hub.subscribers.delete(subscription) || hub.subscribers.size > 0) return;
    this.#hubs.delete(subscription.key);
    void this.#brokerOp(subscription.key, async () => {
      // Re-check: a subscriber may have arrived while this was queued.
      if (!this.#hubs.has(subscription.key)) await this.#broker.unsubscribe(subscription.key);
    }).catch((error: unknown) => this.#logger.error({ err: error, channelKey: subscription.key }, 'broker unsubscribe failed'));
  }

  onPublication(channelKey: string, publication: BrokerPublication, epoch: string): void {
    const hub = this.#hubs.get(channelKey);
    if (!hub) return;
    const routed = routedPublication(hub.channel, publication, epoch);
    for (const subscription of hub.subscribers) subscription.offer(routed);
    this.#probe?.fannedOut(channelKey, publication, hub.subscribers.size, routed.frame.length);
  }

  #brokerOp(key: string, op: () => Promise<void>): Promise<void> {
    const previous = this.#brokerOps.get(key) ?? Promise.resolve();
    const next = previous.then(op, op);
    this.#brokerOps.set(key, next);
    void next.finally(() => {
      if (this.#brokerOps.get(key) === next) this.#brokerOps.delete(key);
    }).catch(() => undefined);
    return next;
  }
}
