import { ApiXError, type ChannelName, type HistoryResult, type Publication, type StoredEvent, type StreamPosition } from '@apix/protocol';
import type { Broker, BrokerPublication } from '../engine/broker.js';
import { judgeRecovery } from '../engine/stream-recovery.js';
import type { Principal } from '../identity/principal.js';
import type { EventRangeOptions } from '../storage/event-archive-repository.js';
import type { EventRow } from '../storage/schema.js';
import type { ChannelAccess } from './channel-access.js';
import type { ChannelSettingsSource } from './channel-settings.js';

export const DEFAULT_HISTORY_LIMIT = 100;
/** How far back a time-range read scans the broker's log (its retention is bounded anyway). */
const MAX_BROKER_SCAN = 100_000;

/** Read access to the event archive (the `events` table). */
export interface ArchiveReader {
  range(organizationId: string, channel: string, options: EventRangeOptions): Promise<EventRow[]>;
}

export interface HistoryQuery {
  readonly since?: StreamPosition;
  readonly from?: Date;
  readonly to?: Date;
  readonly limit?: number;
}

/** A history answered by the log alone: the result's head and the publications as the broker holds them. */
type LoggedHistory = Omit<HistoryResult, 'publications'> & { readonly logged: readonly BrokerPublication[] };

const decode = (p: BrokerPublication) => ({ offset: p.offset, event: JSON.parse(p.data) as StoredEvent });
const fromRow = (row: EventRow): Publication & { epoch: string } => ({
  offset: row.offset,
  epoch: row.epoch,
  event: { type: row.eventType, payload: row.payload, metadata: (row.metadata ?? { timestamp: row.createdAt.getTime(), version: '1' }) as StoredEvent['metadata'] },
});

/**
 * History reads, shared by the WebSocket `history` frame and `GET /channels/:channel/history`.
 * The broker's log answers first; for channels that persist their events, the archive fills
 * in what the log's retention no longer holds (a trimmed resume position, an old time
 * range). `complete: false` says plainly when neither could.
 */
export class HistoryReader {
  readonly #access: ChannelAccess;
  readonly #broker: Broker;
  readonly #settings: ChannelSettingsSource;
  readonly #archive: ArchiveReader | undefined;

  constructor(access: ChannelAccess, broker: Broker, settings: ChannelSettingsSource, archive?: ArchiveReader) {
    this.#access = access;
    this.#broker = broker;
    this.#settings = settings;
    this.#archive = archive;
  }

  async read(principal: Principal, channel: ChannelName, query: HistoryQuery): Promise<HistoryResult> {
    const outcome = await this.#read(principal, channel, query);
    if (!('logged' in outcome)) return outcome;
    const { logged, ...head } = outcome;
    return { ...head, publications: logged.map(decode) };
  }

  /**
   * The same answer as `read`, as JSON text: publications straight from the log are spliced in
   * as stored (the broker holds each event's JSON, encoded once at publish), instead of being
   * parsed here and serialised again for the reply. A history read of 100 events was two
   * JSON passes over each; the WebSocket `history` frame sends this text as it is.
   */
  async readEncoded(principal: Principal, channel: ChannelName, query: HistoryQuery): Promise<string> {
    const outcome = await this.#read(principal, channel, query);
    if (!('logged' in outcome)) return JSON.stringify(outcome);
    const { logged, ...head } = outcome;
    // Same keys in the same order as `read`'s result: channel, epoch, position, complete, publications.
    const publications = logged.map((p) => `{"offset":${p.offset},"event":${p.data}}`).join(',');
    return `${JSON.stringify(head).slice(0, -1)},"publications":[${publications}]}`;
  }

  /** A result, or (the common case: the log alone answered) its head and the log's publications, not yet decoded. */
  async #read(principal: Principal, channel: ChannelName, query: HistoryQuery): Promise<HistoryResult | LoggedHistory> {
    const { key } = await this.#access.resolve(principal, channel, 'history');
    const limit = query.limit ?? DEFAULT_HISTORY_LIMIT;
    const org = principal.organizationId;
    return unavailableOnFailure(async () => {
      const archive = (await this.#settings.get(org, channel))?.persistEvents ? this.#archive : undefined;
      if (query.from !== undefined || query.to !== undefined) return this.#readTimeRange(org, channel, key, query, limit, archive);
      const slice = await this.#broker.history(key, { limit, ...(query.since ? { since: query.since } : {}) });
      let complete = query.since ? judgeRecovery(query.since, slice).complete : true;
      if (query.since && !complete && archive && query.since.epoch === slice.position.epoch) {
        // The log was trimmed past the client's position: the archive has the older part.
        let publications: Publication[] = slice.publications.map(decode);
        const archived = (await archive.range(org, channel, { since: query.since, limit })).map(fromRow);
        const lastArchived = archived.at(-1)?.offset ?? query.since.offset;
        publications = [...archived.map(({ offset, event }) => ({ offset, event })), ...publications.filter((p) => p.offset > lastArchived)].slice(0, limit);
        // The archive lags the log by up to one flush: complete only if archive and log join without a hole.
        complete = isContiguousFrom(query.since.offset, publications.map((p) => p.offset)) && (publications.length === limit || publications.at(-1)?.offset === slice.position.offset);
        return { channel, epoch: slice.position.epoch, position: slice.position, complete, publications };
      }
      return { channel, epoch: slice.position.epoch, position: slice.position, complete, logged: slice.publications };
    });
  }

  /** Publications whose publish time is in [from, to), oldest first, across the log and the archive. */
  async #readTimeRange(org: string, channel: ChannelName, key: string, query: HistoryQuery, limit: number, archive: ArchiveReader | undefined): Promise<HistoryResult> {
    const from = query.from?.getTime() ?? 0;
    const to = query.to?.getTime() ?? Number.POSITIVE_INFINITY;
    const position = (await this.#broker.history(key, { limit: 0 })).position;
    const logged = (await this.#broker.history(key, { since: { offset: 0, epoch: position.epoch }, limit: MAX_BROKER_SCAN })).publications.map(decode);
    const inRange = (timestamp: number) => timestamp >= from && timestamp < to;
    const merged = new Map<string, Publication & { epoch: string }>();
    if (archive) {
      const rows = await archive.range(org, channel, { ...(query.from ? { from: query.from } : {}), ...(query.to ? { to: query.to } : {}), limit });
      for (const p of rows.map(fromRow)) merged.set(`${p.epoch}/${p.offset}`, p);
    }
    for (const p of logged) if (inRange(p.event.metadata.timestamp)) merged.set(`${position.epoch}/${p.offset}`, { ...p, epoch: position.epoch });
    const publications = [...merged.values()]
      .sort((a, b) => a.event.metadata.timestamp - b.event.metadata.timestamp || (a.epoch === b.epoch ? a.offset - b.offset : 0))
      .slice(0, limit);
    // Complete when the log still reaches back to `from`, or the archive joins the log without a
    // hole (it lags by up to one flush) for the current epoch.
    const oldestLogged = logged[0];
    const logReaches = oldestLogged === undefined ? position.offset === 0 : oldestLogged.offset === 1 || oldestLogged.event.metadata.timestamp <= from;
    const current = publications.filter((p) => p.epoch === position.epoch).map((p) => p.offset);
    const archiveJoins = archive !== undefined && (current.length === 0 || isContiguousFrom(current[0]! - 1, current));
    return { channel, epoch: position.epoch, position, complete: logReaches || archiveJoins, publications };
  }
}

/** Whether `offsets` are exactly after+1, after+2, … */
function isContiguousFrom(after: number, offsets: readonly number[]): boolean {
  return offsets.every((offset, i) => offset === after + 1 + i);
}

async function unavailableOnFailure<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof ApiXError) throw error;
    throw new ApiXError('UNAVAILABLE', 'the event store is not reachable', { cause: error instanceof Error ? error.message : String(error) });
  }
}
