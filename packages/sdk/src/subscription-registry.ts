import type { ChannelName, EventFrame, MessageFailedFrame, StreamPosition, SubscriptionFilters, SubscriptionRemovedFrame, SubscriptionState as ServerSubscriptionState } from '@apix/protocol';
import { EPOCH_PATTERN, MAX_CHANNELS_PER_SUBSCRIBE, parseChannelName } from '@apix/protocol/core';
import { Backoff, type BackoffOptions } from './backoff.js';
import { ClientCloseCodes } from './client-state.js';
import type { ClientRequest } from './connection.js';
import { ApiXClientError, hasErrorCode } from './errors.js';
import type { ClientErrorContext } from './events.js';
import { ackResultCheck, subscribeResultCheck, unsubscribeResultCheck } from './frame-checks.js';
import type { SchemaOf } from './frame-decoder.js';
import type { Outcome } from './request-tracker.js';
import { Subscription, type SubscriptionControl, type SubscriptionOptions } from './subscription.js';
import { SubscriptionState } from './subscription-state.js';

/** Most offsets in one `ack` frame (the protocol's MAX_ACK_OFFSETS; kept here so the browser bundle needs no zod). */
const MAX_ACK_OFFSETS = 1000;
/** How long an ack may wait to share its frame with later ones. */
const ACK_FLUSH_MS = 10;

/** What the registry needs from the client. */
export interface RegistryHost {
  /**
   * Sends a request on the current connection; `onOutcome` runs synchronously when the
   * reply is read. Returns false (and never calls back) when there is no connection.
   */
  request<T>(body: ClientRequest, schema: SchemaOf<T>, onOutcome: (outcome: Outcome<T>) => void): boolean;
  reportError(context: ClientErrorContext): void;
  /** Drops the connection and reconnects (a subscribe got no reply: the link is not trusted). */
  reconnect(code: number, reason: string): void;
  /** The error waits fail with while the client is closed. */
  closedError(): ApiXClientError | undefined;
  /** Backoff between retries of a subscribe that failed temporarily (rate limited, unavailable). */
  retryBackoff: BackoffOptions;
}

interface Entry {
  readonly control: SubscriptionControl;
  /** The server may hold this subscription on the current connection: a subscribe was sent and not refused. */
  onServer: boolean;
  /** The subscribe request in flight for this entry on the current connection. */
  inFlight: number | undefined;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  readonly backoff: Backoff;
}

/**
 * The client's subscriptions, and the traffic that keeps them on the server: subscribe
 * batches, resubscribe after a reconnect (one frame for all, each channel with the `since`
 * of its last delivered publication), unsubscribe, and routing of events and removals.
 *
 * Invariants: a reply is applied only on the connection that sent the request
 * (`generation`) and only to entries still waiting for that request (`inFlight`); an
 * entry in `subscribing` with nothing in flight and no retry timer is sent at the next
 * flush.
 */
export class SubscriptionRegistry {
  readonly #entries = new Map<ChannelName, Entry>();
  readonly #host: RegistryHost;
  #connected = false;
  /** Bumped on every connect and disconnect: replies from an earlier connection are stale. */
  #generation = 0;
  #requestSeq = 0;
  #flushQueued = false;
  /** Offsets to ack, per channel, sent together once the current burst of frames was handled. */
  readonly #acks = new Map<ChannelName, number[]>();
  #acksQueued = false;

  constructor(host: RegistryHost) {
    this.#host = host;
  }

  /** Creates a subscription. Throws on a malformed channel, filter or position, or a channel already in use. */
  create(channel: ChannelName, options: SubscriptionOptions = {}): Subscription {
    const parsed = parseChannelName(channel);
    if (typeof parsed === 'string') throw ApiXClientError.protocol('CHANNEL_INVALID', parsed, { channel });
    if (this.#entries.has(channel)) {
      throw ApiXClientError.protocol('ALREADY_SUBSCRIBED', `a subscription to ${channel} exists: use getSubscription()`, { channel });
    }
    // Filters are checked by the server (a refused subscribe ends `unsubscribed` with its error);
    // here only what would make the frame unsendable.
    if (options.filters !== undefined && (options.filters === null || typeof options.filters !== 'object')) {
      throw ApiXClientError.protocol('INVALID_REQUEST', `filters for ${channel} are malformed`, { channel });
    }
    if (options.group !== undefined && (typeof options.group !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(options.group))) {
      throw ApiXClientError.protocol('INVALID_REQUEST', `queue group name for ${channel} must be 1-64 of A-Z a-z 0-9 _ -`, { channel });
    }
    if (options.since !== undefined && !isStreamPosition(options.since)) {
      throw ApiXClientError.protocol('POSITION_INVALID', `since for ${channel} is malformed`, { channel });
    }
    const control = Subscription.create(channel, options, {
      requestSubscribe: (c) => this.#requestSubscribe(c),
      requestUnsubscribe: (c) => this.#requestUnsubscribe(c),
      closedError: () => this.#host.closedError(),
    });
    this.#entries.set(channel, {
      control,
      onServer: false,
      inFlight: undefined,
      retryTimer: undefined,
      backoff: new Backoff(this.#host.retryBackoff),
    });
    return control.subscription;
  }

  get(channel: ChannelName): Subscription | undefined {
    return this.#entries.get(channel)?.control.subscription;
  }

  all(): Subscription[] {
    return [...this.#entries.values()].map((entry) => entry.control.subscription);
  }

  /** Unsubscribes and forgets a subscription; the object cannot subscribe again. */
  remove(subscription: Subscription): void {
    const entry = this.#entries.get(subscription.channel);
    if (!entry || entry.control.subscription !== subscription) return;
    subscription.unsubscribe();
    entry.control.detach();
    this.#clearRetry(entry);
    this.#entries.delete(subscription.channel);
  }

  /**
   * A connection is established: (re)subscribe everything that waits, with positions to
   * resume from. `restored`: the subscriptions a resumed session already has back on the
   * server — those we want are adopted as subscribed (their replay follows), those we no
   * longer want are unsubscribed; only the rest is sent.
   */
  onConnected(restored?: readonly ServerSubscriptionState[]): void {
    this.#connected = true;
    this.#generation += 1;
    for (const state of restored ?? []) {
      const entry = this.#entries.get(state.channel);
      if (entry && entry.control.subscription.state === SubscriptionState.Subscribing && entry.inFlight === undefined) {
        this.#clearRetry(entry);
        entry.onServer = true;
        entry.backoff.reset();
        entry.control.markSubscribed(state);
      } else if (!entry || entry.control.subscription.state === SubscriptionState.Unsubscribed) {
        this.#host.request({ type: 'unsubscribe', channels: [state.channel] }, unsubscribeResultCheck, () => undefined);
      }
    }
    this.#flush();
  }

  /** The last delivered position of every subscription that has one (sent with a session resume). */
  positions(): Record<ChannelName, StreamPosition> {
    const positions: Record<ChannelName, StreamPosition> = {};
    for (const [channel, entry] of this.#entries) {
      if (entry.control.subscription.state === SubscriptionState.Unsubscribed) continue;
      const position = entry.control.since();
      if (position) positions[channel] = position;
    }
    return positions;
  }

  /** The connection is gone: the server holds nothing for us any more. */
  onDisconnected(): void {
    this.#connected = false;
    this.#generation += 1;
    for (const entry of this.#entries.values()) {
      entry.onServer = false;
      entry.inFlight = undefined;
      this.#clearRetry(entry);
      entry.control.markConnectionLost();
    }
  }

  /** The client closed: as a disconnect, and whoever waits for a subscription fails now. */
  onClosed(error: ApiXClientError): void {
    this.onDisconnected();
    for (const entry of this.#entries.values()) entry.control.rejectReady(error);
  }

  /**
   * Delivers an event; on an acknowledged subscription, acks it once the application's
   * listeners returned — a duplicate too (the server redelivered it because an ack was lost).
   */
  handleEvent(frame: EventFrame): void {
    const entry = this.#entries.get(frame.channel);
    if (!entry) return;
    entry.control.deliver(frame);
    if (frame.acknowledgment === true && entry.control.acknowledgment) this.#queueAck(frame.channel, frame.offset);
  }

  handleFailed(frame: MessageFailedFrame): void {
    const { type: _type, ...context } = frame;
    this.#entries.get(frame.channel)?.control.reportFailed(context);
  }

  #queueAck(channel: ChannelName, offset: number): void {
    const offsets = this.#acks.get(channel);
    if (offsets) offsets.push(offset);
    else this.#acks.set(channel, [offset]);
    if (this.#acksQueued) return;
    this.#acksQueued = true;
    // Acks wait up to ACK_FLUSH_MS, so a busy channel costs one ack frame per 10 ms, not one per
    // event; the server's ack deadline (ACK_TIMEOUT_MS, 5 s by default) is far longer.
    setTimeout(() => {
      this.#acksQueued = false;
      this.#flushAcks();
    }, ACK_FLUSH_MS);
  }

  /** One `ack` frame per channel and tick. A lost ack costs a redelivery, which is acked again: no retry here. */
  #flushAcks(): void {
    for (const [channel, offsets] of this.#acks) {
      for (let i = 0; i < offsets.length; i += MAX_ACK_OFFSETS) {
        this.#host.request({ type: 'ack', channel, offsets: offsets.slice(i, i + MAX_ACK_OFFSETS) }, ackResultCheck, () => undefined);
      }
    }
    this.#acks.clear();
  }

  /**
   * A removal is final only when the server means it: reason `revoked` with an error that is
   * not retryable (permission lost). `resubscribe` (a gap the node cannot fill live, a new
   * epoch, an overloaded node) and any retryable error (storage briefly unavailable) send
   * the subscription back to `subscribing`: it subscribes again with `since` = the last
   * position it delivered, after a full-jitter delay so a node that drops many
   * subscriptions at once is not hit by all of them in the same instant.
   */
  handleRemoved(frame: SubscriptionRemovedFrame): void {
    // 'unsubscribed' confirms what the application asked for; the state changed then already.
    if (frame.reason === 'unsubscribed') return;
    const entry = this.#entries.get(frame.channel);
    if (!entry || entry.control.subscription.state !== SubscriptionState.Subscribed) return;
    entry.onServer = false;
    const error = frame.error ? ApiXClientError.fromBody(frame.error) : undefined;
    if (frame.reason === 'revoked' && !error?.retryable) {
      entry.control.markUnsubscribed('revoked', error ?? ApiXClientError.protocol('CHANNEL_FORBIDDEN', `the server removed the subscription to ${frame.channel}`));
      return;
    }
    // A listener may have unsubscribed in between: only a subscription still wanted is sent again.
    if (entry.control.markResubscribing(error)) this.#scheduleRetry(entry);
  }

  #requestSubscribe(channel: ChannelName): void {
    const entry = this.#entries.get(channel);
    if (!entry) return;
    entry.backoff.reset();
    // Coalesce: subscribe() calls made in the same tick go out in one frame.
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      this.#flush();
    });
  }

  #requestUnsubscribe(channel: ChannelName): void {
    const entry = this.#entries.get(channel);
    if (!entry) return;
    this.#clearRetry(entry);
    entry.backoff.reset();
    const wasOnServer = entry.onServer;
    entry.onServer = false;
    // A subscribe reply still on its way is now stale; the unsubscribe below follows it on the wire.
    entry.inFlight = undefined;
    if (!wasOnServer || !this.#connected) return;
    this.#host.request({ type: 'unsubscribe', channels: [channel] }, unsubscribeResultCheck, (outcome) => {
      if (outcome.ok) return;
      // NOT_SUBSCRIBED: the subscribe it raced with was refused. CONNECTION_LOST: the server dropped it anyway.
      if (hasErrorCode(outcome.error, 'APIX_ERR_NOT_SUBSCRIBED') || hasErrorCode(outcome.error, 'APIX_ERR_CONNECTION_LOST')) return;
      this.#host.reportError({ source: 'unsubscribe', error: outcome.error });
    });
  }

  /** Sends every subscription that waits, grouped by filters (a frame has one filter set) and chunked by the protocol limit. */
  #flush(): void {
    if (!this.#connected) return;
    const groups = new Map<string, Entry[]>();
    for (const entry of this.#entries.values()) {
      if (entry.control.subscription.state !== SubscriptionState.Subscribing) continue;
      if (entry.inFlight !== undefined || entry.retryTimer !== undefined) continue;
      // A frame has one filter set, one delivery mode and one queue group.
      const key = JSON.stringify([entry.control.filters ?? null, entry.control.acknowledgment, entry.control.group ?? null]);
      const group = groups.get(key);
      if (group) group.push(entry);
      else groups.set(key, [entry]);
    }
    for (const group of groups.values()) {
      for (let i = 0; i < group.length; i += MAX_CHANNELS_PER_SUBSCRIBE) {
        this.#sendSubscribe(group.slice(i, i + MAX_CHANNELS_PER_SUBSCRIBE), false);
      }
    }
  }

  /** `isolated`: a single-channel retry after a batch was refused, so its failure is that channel's own. */
  #sendSubscribe(entries: Entry[], isolated: boolean): void {
    const channels = entries.map((entry) => entry.control.subscription.channel);
    const since: Record<string, StreamPosition> = {};
    for (const entry of entries) {
      const position = entry.control.since();
      if (position) since[entry.control.subscription.channel] = position;
    }
    const filters: SubscriptionFilters | undefined = entries[0]?.control.filters;
    const body: ClientRequest = {
      type: 'subscribe',
      channels,
      ...(Object.keys(since).length > 0 ? { since } : {}),
      ...(filters ? { filters } : {}),
      ...(entries[0]?.control.acknowledgment ? { acknowledgment: true } : {}),
      ...(entries[0]?.control.group !== undefined ? { group: entries[0].control.group } : {}),
    };
    const token = ++this.#requestSeq;
    const generation = this.#generation;
    // Marked before sending, so the bookkeeping is in place whenever the outcome arrives.
    for (const entry of entries) {
      entry.inFlight = token;
      entry.onServer = true;
    }
    const sent = this.#host.request(body, subscribeResultCheck, (outcome) => {
      if (outcome.ok) this.#onSubscribeReply(generation, token, entries, outcome.value.subscriptions);
      else this.#onSubscribeFailed(generation, token, entries, isolated, outcome.error);
    });
    if (sent) return;
    for (const entry of entries) {
      entry.inFlight = undefined;
      entry.onServer = false;
    }
  }

  #onSubscribeReply(
    generation: number,
    token: number,
    entries: Entry[],
    states: ReadonlyArray<Parameters<SubscriptionControl['markSubscribed']>[0]>,
  ): void {
    if (generation !== this.#generation) return;
    const byChannel = new Map(states.map((state) => [state.channel, state]));
    for (const entry of entries) {
      if (entry.inFlight !== token) continue;
      entry.inFlight = undefined;
      const channel = entry.control.subscription.channel;
      const state = byChannel.get(channel);
      if (!state) {
        const error = ApiXClientError.protocol('INVALID_FRAME', `the subscribe reply does not mention ${channel}`, { channel });
        this.#host.reportError({ source: 'subscribe', error });
        entry.control.markUnsubscribed('error', error);
        continue;
      }
      entry.backoff.reset();
      entry.control.markSubscribed(state);
    }
  }

  #onSubscribeFailed(generation: number, token: number, entries: Entry[], isolated: boolean, error: ApiXClientError): void {
    // A failure on an earlier connection, or because this one is ending, needs nothing here:
    // onDisconnected follows, and onConnected resubscribes what waits.
    if (generation !== this.#generation || hasErrorCode(error, 'APIX_ERR_CONNECTION_LOST')) return;
    const waiting = entries.filter((entry) => entry.inFlight === token);
    for (const entry of waiting) {
      entry.inFlight = undefined;
      entry.onServer = false;
    }
    if (waiting.length === 0) return;
    if (hasErrorCode(error, 'APIX_ERR_TIMEOUT')) {
      // No reply at all: the server may or may not hold these subscriptions. Reconnecting
      // is the one way back to a known state (the new connection starts with none).
      this.#host.reconnect(ClientCloseCodes.SUBSCRIBE_TIMEOUT, 'subscribe timeout');
      return;
    }
    if (error.retryable) {
      for (const entry of waiting) {
        entry.control.reportError(error);
        this.#scheduleRetry(entry);
      }
      return;
    }
    if (waiting.length > 1 && !isolated) {
      // All or nothing: one forbidden channel refuses the whole batch. Ask again one by one
      // so only the channels that are really refused fail.
      for (const entry of waiting) this.#sendSubscribe([entry], true);
      return;
    }
    for (const entry of waiting) entry.control.markUnsubscribed('error', error);
  }

  #scheduleRetry(entry: Entry): void {
    this.#clearRetry(entry);
    entry.retryTimer = setTimeout(() => {
      entry.retryTimer = undefined;
      this.#flush();
    }, entry.backoff.next());
  }

  #clearRetry(entry: Entry): void {
    if (entry.retryTimer === undefined) return;
    clearTimeout(entry.retryTimer);
    entry.retryTimer = undefined;
  }
}

function isStreamPosition(value: unknown): value is StreamPosition {
  if (value === null || typeof value !== 'object') return false;
  const { offset, epoch } = value as Record<string, unknown>;
  return Number.isSafeInteger(offset) && (offset as number) >= 0 && typeof epoch === 'string' && EPOCH_PATTERN.test(epoch);
}
