import type { ChannelName, EventFrame, StreamPosition, SubscriptionFilters, SubscriptionState as ServerSubscriptionState } from '@apix/protocol';
import { ApiXClientError } from './errors.js';
import type { MessageFailedContext, PublicationContext, SubscriptionEvents, SubscribingContext, UnsubscribedContext } from './events.js';
import { PositionTracker } from './position-tracker.js';
import { StateMachine } from './state-machine.js';
import { SUBSCRIPTION_TRANSITIONS, SubscriptionState } from './subscription-state.js';
import { TypedEmitter, type Listener } from './typed-emitter.js';
import { Waiters } from './waiters.js';

export interface SubscriptionOptions {
  /** Resume after this position: the server replays what came after it (the app persisted `subscription.position`). */
  since?: StreamPosition;
  /** Server-side filters (see protocol filters.ts). */
  filters?: SubscriptionFilters;
  /**
   * Acknowledged delivery: the server redelivers each event until it is acked, then
   * dead-letters it (`failed`). The SDK acks an event by itself once every `publication`
   * listener has returned (a listener that throws still counts as returned: the error is
   * rethrown separately), batching the acks of up to 10 ms into one frame. An event the SDK
   * drops as a duplicate (a redelivery of one the application saw) is acked too.
   */
  acknowledgment?: boolean;
  /**
   * Queue group (server ADR 0042): join the channel as a member of this group (1–64 of
   * `A-Z a-z 0-9 _ -`). Each event goes to one live member of the group — on any connection or
   * node — instead of to every subscriber, and is acked as with `acknowledgment` (the SDK acks
   * after the listeners returned). A member that dies leaves its unacked events to the others,
   * after the server's group idle time. No `since` and no `filters`: the group keeps the place.
   */
  group?: string;
}

/** What a subscription asks of the client that owns it. */
export interface SubscriptionHost {
  /** The application wants this subscription: get it onto the server as soon as there is a connection. */
  requestSubscribe(channel: ChannelName): void;
  /** The application no longer wants it: remove it from the server if it may be there. */
  requestUnsubscribe(channel: ChannelName): void;
  /** The error a wait should fail with now (the client is closed), or undefined while waiting can succeed. */
  closedError(): ApiXClientError | undefined;
}

/**
 * The client's handle on a subscription's internals. The client holds it; the application
 * only ever sees the `Subscription`, whose public methods cannot drive these transitions.
 */
export interface SubscriptionControl {
  readonly subscription: Subscription;
  /** The position to resume from, if the subscription has delivered (or was given) one. */
  since(): StreamPosition | undefined;
  readonly filters: SubscriptionFilters | undefined;
  readonly acknowledgment: boolean;
  /** The queue group joined, if any (its events are acked like acknowledged ones). */
  readonly group: string | undefined;
  /** The server dead-lettered one of this subscription's events. */
  reportFailed(context: MessageFailedContext): void;
  /** The server accepted the subscribe. False if the subscription no longer wanted it (stale reply). */
  markSubscribed(state: ServerSubscriptionState): boolean;
  /** The connection is gone; the subscription waits for the next one. */
  markConnectionLost(): void;
  /** The server dropped it but not for good: back to `subscribing`, to resume from our position. */
  markResubscribing(error: ApiXClientError | undefined): boolean;
  /** The server refused or revoked it. */
  markUnsubscribed(reason: 'revoked' | 'error', error: ApiXClientError): void;
  /** Delivers an event frame; false if it was dropped (duplicate, or not subscribed). */
  deliver(frame: EventFrame): boolean;
  /** A temporary subscribe failure; the subscription stays `subscribing` and retries. */
  reportError(error: ApiXClientError): void;
  /** Fails `ready()` calls in progress (the client closed). */
  rejectReady(error: ApiXClientError): void;
  /** The client removed this subscription; it cannot be used again. */
  detach(): void;
}

/**
 * A subscription to one channel. Created by `client.newSubscription(channel)`; call
 * `subscribe()` and listen for `publication`. It survives reconnects: after a drop it
 * goes back to `subscribing` and resumes from the last position it delivered, and it
 * drops any publication it already delivered.
 */
export class Subscription {
  readonly #channel: ChannelName;
  readonly #filters: SubscriptionFilters | undefined;
  readonly #host: SubscriptionHost;
  readonly #machine = new StateMachine<SubscriptionState>('subscription', SubscriptionState.Unsubscribed, SUBSCRIPTION_TRANSITIONS);
  readonly #events = new TypedEmitter<SubscriptionEvents>();
  readonly #positions: PositionTracker;
  /**
   * Queue-group members see a subset of the offsets, and an event claimed from a dead member can
   * be older than one already delivered: duplicates are told by identity (recently seen
   * offsets), not by position. Undefined for other subscriptions.
   */
  readonly #seen: RecentlySeen | undefined;
  readonly #subscribedWaiters = new Waiters();
  #detached = false;

  private constructor(channel: ChannelName, options: SubscriptionOptions, host: SubscriptionHost) {
    this.#channel = channel;
    this.#filters = options.filters;
    this.#host = host;
    this.#positions = new PositionTracker(options.group === undefined ? options.since : undefined);
    this.#seen = options.group === undefined ? undefined : new RecentlySeen(MAX_REMEMBERED_GROUP_EVENTS);
  }

  /** Creates a subscription and the control the client keeps. Used by the client only. */
  static create(channel: ChannelName, options: SubscriptionOptions, host: SubscriptionHost): SubscriptionControl {
    const sub = new Subscription(channel, options, host);
    return {
      subscription: sub,
      // A queue group's cursor is the group's: a member resumes nothing of its own.
      since: () => (sub.#seen ? undefined : sub.#positions.position),
      filters: sub.#filters,
      acknowledgment: options.acknowledgment === true || options.group !== undefined,
      group: options.group,
      reportFailed: (context) => sub.#events.emit('failed', context),
      markSubscribed: (state) => sub.#markSubscribed(state),
      markConnectionLost: () => sub.#markConnectionLost(),
      markResubscribing: (error) => sub.#markResubscribing(error),
      markUnsubscribed: (reason, error) => sub.#toUnsubscribed({ channel, reason, error }),
      deliver: (frame) => sub.#deliver(frame),
      reportError: (error) => sub.#events.emit('error', { channel, error }),
      rejectReady: (error) => sub.#subscribedWaiters.rejectAll(error),
      detach: () => {
        sub.#detached = true;
      },
    };
  }

  get channel(): ChannelName {
    return this.#channel;
  }

  get state(): SubscriptionState {
    return this.#machine.state;
  }

  get filters(): SubscriptionFilters | undefined {
    return this.#filters;
  }

  /**
   * The last position delivered to the application (or the `since` it was created with).
   * Persist it to resume in a later session with `newSubscription(channel, { since })`.
   */
  get position(): StreamPosition | undefined {
    return this.#positions.position;
  }

  on<K extends keyof SubscriptionEvents>(event: K, listener: Listener<SubscriptionEvents[K]>): () => void {
    return this.#events.on(event, listener);
  }

  once<K extends keyof SubscriptionEvents>(event: K, listener: Listener<SubscriptionEvents[K]>): () => void {
    return this.#events.once(event, listener);
  }

  off<K extends keyof SubscriptionEvents>(event: K, listener: Listener<SubscriptionEvents[K]>): void {
    this.#events.off(event, listener);
  }

  /** Listens for publications of one event type, with the payload typed for domain events. */
  onEvent<T extends string>(type: T, listener: Listener<PublicationContext<T>>): () => void {
    return this.#events.on('publication', (context) => {
      // The type check makes the cast exact: a publication of type T carries PayloadOf<T>.
      if (context.event.type === type) listener(context as PublicationContext<T>);
    });
  }

  /** Starts subscribing; the subscription becomes `subscribed` once the server accepts it. Idempotent. */
  subscribe(): void {
    if (this.#detached) throw new Error(`subscription to ${this.#channel} was removed from its client; create a new one`);
    if (this.state !== SubscriptionState.Unsubscribed) return;
    this.#transition(SubscriptionState.Subscribing);
    this.#events.emit('subscribing', { channel: this.#channel, reason: 'subscribe-called' });
    // A listener may have unsubscribed again already (re-read: listeners ran since the check above).
    if (this.#is(SubscriptionState.Subscribing)) this.#host.requestSubscribe(this.#channel);
  }

  /**
   * Stops the subscription. Publications stop at once. The position is forgotten: a later
   * subscribe() starts fresh (pass `since` to a new subscription to resume instead).
   */
  unsubscribe(): void {
    if (this.state === SubscriptionState.Unsubscribed) return;
    this.#toUnsubscribed({ channel: this.#channel, reason: 'client' });
    this.#host.requestUnsubscribe(this.#channel);
  }

  /** Resolves when subscribed; rejects with APIX_ERR_TIMEOUT, or at once if unsubscribed or the client is closed. */
  ready(timeoutMs: number): Promise<void> {
    if (this.state === SubscriptionState.Subscribed) return Promise.resolve();
    if (this.state === SubscriptionState.Unsubscribed) {
      return Promise.reject(ApiXClientError.protocol('NOT_SUBSCRIBED', `not subscribed to ${this.#channel}: call subscribe() first`));
    }
    const closed = this.#host.closedError();
    if (closed) return Promise.reject(closed);
    return this.#subscribedWaiters.wait(timeoutMs, () =>
      ApiXClientError.client('TIMEOUT', `subscription to ${this.#channel} not active within ${timeoutMs} ms`),
    );
  }

  #is(state: SubscriptionState): boolean {
    return this.#machine.state === state;
  }

  #transition(next: SubscriptionState): void {
    const previous = this.#machine.moveTo(next);
    this.#events.emit('state', { channel: this.#channel, previous, current: next });
  }

  #markSubscribed(state: ServerSubscriptionState): boolean {
    if (this.state !== SubscriptionState.Subscribing) return false;
    this.#adoptServerPosition(state);
    this.#transition(SubscriptionState.Subscribed);
    this.#events.emit('subscribed', {
      channel: this.#channel,
      channelType: state.channelType,
      position: { ...state.position },
      recovering: state.recovering,
      recovered: state.recovered,
      ...(state.missed === undefined ? {} : { missed: state.missed }),
    });
    this.#subscribedWaiters.resolveAll();
    return true;
  }

  /**
   * Where the duplicate filter stands once the server accepted the subscribe. The server
   * replays (after the reply) what came after `since`, then sends live publications, whose
   * offsets are above `state.position`:
   * - fresh subscribe: nothing is replayed, so the filter starts at the server's position
   *   (a later resume then starts from there even if nothing was published meanwhile);
   * - resumed: keep our position; the replay moves it forward;
   * - resume failed in another epoch: start that epoch from 0, so whatever the server sends
   *   of it (a partial replay or only live publications) is accepted;
   * - resume failed in the same epoch (trimmed): keep ours; everything still sent is newer.
   */
  #adoptServerPosition(state: ServerSubscriptionState): void {
    if (!state.recovering) {
      this.#positions.reset(state.position);
      return;
    }
    const current = this.#positions.position;
    if (!state.recovered && (!current || current.epoch !== state.position.epoch)) {
      this.#positions.reset({ epoch: state.position.epoch, offset: 0 });
    }
  }

  #markConnectionLost(): void {
    if (this.state !== SubscriptionState.Subscribed) return;
    this.#transition(SubscriptionState.Subscribing);
    const context: SubscribingContext = { channel: this.#channel, reason: 'connection-lost' };
    this.#events.emit('subscribing', context);
  }

  #markResubscribing(error: ApiXClientError | undefined): boolean {
    if (this.state !== SubscriptionState.Subscribed) return false;
    this.#transition(SubscriptionState.Subscribing);
    this.#events.emit('subscribing', { channel: this.#channel, reason: 'resubscribe' });
    if (error && this.#is(SubscriptionState.Subscribing)) this.#events.emit('error', { channel: this.#channel, error });
    return this.#is(SubscriptionState.Subscribing);
  }

  #toUnsubscribed(context: UnsubscribedContext): void {
    if (this.state === SubscriptionState.Unsubscribed) return;
    this.#positions.reset();
    this.#transition(SubscriptionState.Unsubscribed);
    this.#events.emit('unsubscribed', context);
    this.#subscribedWaiters.rejectAll(
      context.error ?? ApiXClientError.protocol('NOT_SUBSCRIBED', `unsubscribed from ${this.#channel} before it became active`),
    );
  }

  #deliver(frame: EventFrame): boolean {
    // The server sends no event before the subscribe reply; anything else here is for a
    // subscription we already left, and its position must not move.
    if (this.state !== SubscriptionState.Subscribed) return false;
    if (this.#seen) {
      if (!this.#seen.add(`${frame.epoch}:${frame.offset}`)) return false;
      this.#positions.reset({ epoch: frame.epoch, offset: Math.max(frame.offset, this.#positions.position?.offset ?? 0) });
    } else if (!this.#positions.accept(frame.epoch, frame.offset)) return false;
    this.#events.emit('publication', { channel: this.#channel, offset: frame.offset, epoch: frame.epoch, event: frame.event });
    return true;
  }
}

/** How many delivered queue-group events a member remembers to drop redeliveries of them. */
const MAX_REMEMBERED_GROUP_EVENTS = 10_000;

/** A bounded set of the most recently added keys (insertion order; the oldest goes first). */
class RecentlySeen {
  readonly #keys = new Set<string>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** False when `key` is remembered already; otherwise remembers it. */
  add(key: string): boolean {
    if (this.#keys.has(key)) return false;
    this.#keys.add(key);
    if (this.#keys.size > this.#max) this.#keys.delete(this.#keys.values().next().value!);
    return true;
  }
}
