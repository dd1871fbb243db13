import { ApiXError, type ChannelName, type HistoryResult, type StoredEvent, type StreamPosition } from '@apix/protocol';
import type { Broker } from '../engine/broker.js';
import { judgeRecovery } from '../engine/stream-recovery.js';
import type { Principal } from '../identity/principal.js';
import type { ChannelAccess } from './channel-access.js';

export const DEFAULT_HISTORY_LIMIT = 100;

/** History reads, shared by the WebSocket `history` frame and `GET /channels/:channel/history`. */
export class HistoryReader {
  readonly #access: ChannelAccess;
  readonly #broker: Broker;

  constructor(access: ChannelAccess, broker: Broker) {
    this.#access = access;
    this.#broker = broker;
  }

  async read(principal: Principal, channel: ChannelName, options: { since?: StreamPosition; limit?: number }): Promise<HistoryResult> {
    const { key } = await this.#access.resolve(principal, channel, 'history');
    const limit = options.limit ?? DEFAULT_HISTORY_LIMIT;
    let slice;
    try {
      slice = await this.#broker.history(key, { limit, ...(options.since ? { since: options.since } : {}) });
    } catch (error) {
      throw new ApiXError('UNAVAILABLE', 'the event store is not reachable', { cause: error instanceof Error ? error.message : String(error) });
    }
    return {
      channel,
      epoch: slice.position.epoch,
      position: slice.position,
      complete: options.since ? judgeRecovery(options.since, slice).complete : true,
      publications: slice.publications.map((p) => ({ offset: p.offset, event: JSON.parse(p.data) as StoredEvent })),
    };
  }
}
