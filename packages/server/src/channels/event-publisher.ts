import { ApiXError, PROTOCOL_VERSION, type ChannelName, type PublishEvent, type PublishResult } from '@apix/protocol';
import type { Broker } from '../engine/broker.js';
import type { Principal } from '../identity/principal.js';
import type { ChannelAccess } from './channel-access.js';

export interface RetentionSettings {
  readonly historySize: number;
  readonly historyTtlMs: number;
  readonly idempotencyTtlMs: number;
}

/**
 * Publishing, shared by the WebSocket `publish` frame and `POST /channels/:channel/events`.
 * The event arrives validated (schema and typed payload); here it is authorised, stamped
 * and encoded once. The position is returned only after the broker confirmed the append.
 */
export class EventPublisher {
  readonly #access: ChannelAccess;
  readonly #broker: Broker;
  readonly #retention: RetentionSettings;

  constructor(access: ChannelAccess, broker: Broker, retention: RetentionSettings) {
    this.#access = access;
    this.#broker = broker;
    this.#retention = retention;
  }

  async publish(principal: Principal, channel: ChannelName, event: PublishEvent, idempotencyKey?: string): Promise<PublishResult> {
    const { key } = await this.#access.resolve(principal, channel, 'publish');
    const data = JSON.stringify({
      type: event.type,
      payload: event.payload ?? null,
      metadata: { ...event.metadata, timestamp: event.metadata?.timestamp ?? Date.now(), version: event.metadata?.version ?? PROTOCOL_VERSION },
    });
    let outcome;
    try {
      outcome = await this.#broker.publish(key, data, {
        historySize: this.#retention.historySize,
        historyTtlMs: this.#retention.historyTtlMs,
        idempotencyTtlMs: this.#retention.idempotencyTtlMs,
        ...(idempotencyKey !== undefined ? { idempotencyKey: `${principal.userId}:${idempotencyKey}` } : {}),
      });
    } catch (error) {
      throw new ApiXError('UNAVAILABLE', 'the event store did not accept the event; retry with the same idempotency key', {
        cause: error instanceof Error ? error.message : String(error),
      });
    }
    return { channel, offset: outcome.offset, epoch: outcome.epoch, duplicate: outcome.duplicate };
  }
}
