import type { Broker, BrokerEventHandler, HistoryOptions, PublishOptions } from '../../src/engine/broker.js';
import { MemoryBroker } from '../../src/engine/memory-broker.js';

/**
 * A real MemoryBroker whose live notifications reach the node `delayMs(channelKey)` late, as
 * if the engine were slow: a known, injected publish→deliver latency for the tracker to
 * measure. The same delay for every publication of a channel keeps their order.
 */
export class DelayingBroker implements Broker {
  readonly name = 'memory';
  readonly #inner = new MemoryBroker();
  readonly #delayMs: (channelKey: string) => number;

  constructor(delayMs: (channelKey: string) => number) {
    this.#delayMs = delayMs;
  }

  start(handler: BrokerEventHandler): Promise<void> {
    return this.#inner.start({
      onPublication: (key, publication, epoch) => {
        const delay = this.#delayMs(key);
        if (delay <= 0) handler.onPublication(key, publication, epoch);
        else setTimeout(() => handler.onPublication(key, publication, epoch), delay);
      },
    });
  }
  publish(channelKey: string, data: string, options: PublishOptions) {
    return this.#inner.publish(channelKey, data, options);
  }
  subscribe(channelKey: string) {
    return this.#inner.subscribe(channelKey);
  }
  unsubscribe(channelKey: string) {
    return this.#inner.unsubscribe(channelKey);
  }
  history(channelKey: string, options: HistoryOptions) {
    return this.#inner.history(channelKey, options);
  }
  removeHistory(channelKey: string) {
    return this.#inner.removeHistory(channelKey);
  }
  close() {
    return this.#inner.close();
  }
}
