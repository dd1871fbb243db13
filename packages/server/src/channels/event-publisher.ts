import { ApiXError, PROTOCOL_VERSION, type ChannelName, type PublishEvent, type PublishResult } from '@apix/protocol';
import type { Broker } from '../engine/broker.js';
import type { Principal } from '../identity/principal.js';
import type { RealtimeObserver } from '../realtime/realtime-observer.js';
import { assertEncryptedPayload } from '../limits/encrypted-payloads.js';
import type { ChannelAccess } from './channel-access.js';
import type { ChannelSettings, ChannelSettingsSource } from './channel-settings.js';
import { isInboxChannel } from './inbox-channel.js';

/** Receives each appended publication of channels that persist their events (the archive). */
export interface PublicationSink {
  append(entry: { organizationId: string; channel: ChannelName; offset: number; epoch: string; data: string }): void;
}

/** Rate limits and quotas on publishing (src/limits): throws APIX_ERR_RATE_LIMITED to refuse. */
export interface PublishAdmission {
  admitPublish(organizationId: string, channelKey: string, bytes: number): Promise<void>;
}

export interface RetentionSettings {
  readonly historySize: number;
  readonly historyTtlMs: number;
  readonly idempotencyTtlMs: number;
  /** Retention of users' inbox channels (`user:<id>:inbox`), unless the channel's own settings say otherwise. */
  readonly inbox?: { readonly historySize: number; readonly historyTtlMs: number };
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
  readonly #settings: ChannelSettingsSource;
  readonly #observer: RealtimeObserver;
  readonly #archive: PublicationSink | undefined;
  readonly #admission: PublishAdmission | undefined;

  constructor(
    access: ChannelAccess,
    broker: Broker,
    retention: RetentionSettings,
    settings: ChannelSettingsSource,
    observer: RealtimeObserver = {},
    archive?: PublicationSink,
    admission?: PublishAdmission,
  ) {
    this.#admission = admission;
    this.#access = access;
    this.#broker = broker;
    this.#retention = retention;
    this.#settings = settings;
    this.#observer = observer;
    this.#archive = archive;
  }

  async publish(principal: Principal, channel: ChannelName, event: PublishEvent, idempotencyKey?: string): Promise<PublishResult> {
    const { key } = await this.#access.resolve(principal, channel, 'publish');
    let settings: ChannelSettings | undefined;
    try {
      settings = await this.#settings.get(principal.organizationId, channel);
    } catch (error) {
      throw new ApiXError('UNAVAILABLE', 'channel settings could not be read; retry with the same idempotency key', { cause: error instanceof Error ? error.message : String(error) });
    }
    if (settings?.encrypted) assertEncryptedPayload(event.payload);
    const data = JSON.stringify({ type: event.type, payload: event.payload ?? null, metadata: stampMetadata(event.metadata, Date.now()) });
    await this.#admission?.admitPublish(principal.organizationId, key, Buffer.byteLength(data));
    let outcome;
    try {
      const defaults = (isInboxChannel(channel) ? this.#retention.inbox : undefined) ?? this.#retention;
      outcome = await this.#broker.publish(key, data, {
        historySize: settings?.historySize ?? defaults.historySize,
        historyTtlMs: settings?.historyTtlMs ?? defaults.historyTtlMs,
        idempotencyTtlMs: this.#retention.idempotencyTtlMs,
        ...(idempotencyKey !== undefined ? { idempotencyKey: `${principal.userId}:${idempotencyKey}` } : {}),
      });
    } catch (error) {
      throw new ApiXError('UNAVAILABLE', 'the event store did not accept the event; retry with the same idempotency key', {
        cause: error instanceof Error ? error.message : String(error),
      });
    }
    const result = { channel, offset: outcome.offset, epoch: outcome.epoch, duplicate: outcome.duplicate };
    if (!outcome.duplicate) {
      if (settings?.persistEvents) {
        this.#archive?.append({ organizationId: principal.organizationId, channel, offset: outcome.offset, epoch: outcome.epoch, data });
      }
      this.#observer.published?.(principal, result, event.type, settings);
    }
    return result;
  }
}

/**
 * `timestamp` is always the server's time when it appended the event (wall clock: it is for
 * people and for time-range history, and every event of a channel is stamped by the same
 * kind of clock). A time the publisher sent is kept, apart, as `clientTimestamp` (bounded
 * by the input schema to a real Date): a client's clock can be wrong, or lie.
 */
export function stampMetadata(metadata: PublishEvent['metadata'], appendedAtMs: number): Record<string, unknown> {
  const { timestamp: clientTimestamp, ...rest } = metadata ?? {};
  return {
    ...rest,
    ...(clientTimestamp === undefined ? {} : { clientTimestamp }),
    timestamp: appendedAtMs,
    version: metadata?.version ?? PROTOCOL_VERSION,
  };
}
