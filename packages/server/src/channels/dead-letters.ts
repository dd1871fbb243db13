import { ApiXError, type ChannelName, type DeadLetterPageView } from '@apix/protocol';
import { actorOf } from '../audit/audit-recorder.js';
import { AuditAction } from '../audit/audit-actions.js';
import type { AuditLogger } from '../audit/audit-logger.js';
import type { DeadLetter, DurableConsumers } from '../engine/durable-consumers.js';
import type { Principal } from '../identity/principal.js';
import { AuditOutcome } from '../storage/schema.js';
import type { ChannelAccess } from './channel-access.js';

export const DEFAULT_DEAD_LETTER_PAGE = 50;

/**
 * Dead letters you can act on (ADR 0035 step 7): list a channel's letters and hand one back
 * to the group it came from. Channels are resolved through ChannelAccess with the caller's own
 * organisation, so another tenant's letters cannot even be named. Reading letters is reading
 * events: it needs the channel's `history` permission; redelivering sends an event again: it
 * needs `publish`. Both write an audit row.
 */
export class DeadLetters {
  readonly #access: ChannelAccess;
  readonly #durable: DurableConsumers;
  readonly #audit: AuditLogger;
  readonly #onRedelivered: (channelKey: string) => void;

  constructor(access: ChannelAccess, durable: DurableConsumers, audit: AuditLogger, onRedelivered: (channelKey: string) => void) {
    this.#access = access;
    this.#durable = durable;
    this.#audit = audit;
    this.#onRedelivered = onRedelivered;
  }

  async list(principal: Principal, channel: ChannelName, query: { after?: string; limit?: number }): Promise<DeadLetterPageView> {
    const { key, channel: parsed } = await this.#access.resolve(principal, channel, 'history');
    const page = await this.#durable.deadLetters(key, { limit: query.limit ?? DEFAULT_DEAD_LETTER_PAGE, ...(query.after ? { after: query.after } : {}) });
    this.#audit.record({
      ...actorOf(principal),
      action: AuditAction.DEAD_LETTERS_READ,
      channel: parsed.name,
      outcome: AuditOutcome.SUCCESS,
      details: { count: page.letters.length, ...(query.after ? { after: query.after } : {}) },
    });
    return { channel: parsed.name, letters: page.letters.map(view), ...(page.next !== undefined ? { next: page.next } : {}) };
  }

  async redeliver(principal: Principal, channel: ChannelName, id: string): Promise<{ channel: string; id: string; offset: number; redelivered: true }> {
    const { key, channel: parsed } = await this.#access.resolve(principal, channel, 'publish');
    const letter = await this.#durable.deadLetterById(key, id);
    if (!letter || !(await this.#durable.redeliver(key, id))) throw new ApiXError('NOT_FOUND', 'no such dead letter on this channel', { channel: parsed.name, id });
    this.#audit.record({
      ...actorOf(principal),
      action: AuditAction.DEAD_LETTER_REDELIVERED,
      channel: parsed.name,
      target: id,
      outcome: AuditOutcome.SUCCESS,
      details: { offset: letter.offset, deliveryCount: letter.deliveryCount },
    });
    // This node's subscribers of the group read it at once; other nodes' with their next wake-up.
    this.#onRedelivered(key);
    return { channel: parsed.name, id, offset: letter.offset, redelivered: true };
  }
}

function view(letter: DeadLetter): DeadLetterPageView['letters'][number] {
  let event: unknown;
  try {
    event = JSON.parse(letter.data);
  } catch {
    event = letter.data; // stored by the broker as JSON; kept raw if not
  }
  return {
    id: letter.id,
    offset: letter.offset,
    event,
    reason: letter.reason,
    deliveryCount: letter.deliveryCount,
    deadLetteredAt: new Date(letter.deadLetteredAt).toISOString(),
  };
}
