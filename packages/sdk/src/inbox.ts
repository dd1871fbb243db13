import type { ChannelName, StreamPosition } from '@apix/protocol';
import { ApiXClientError } from './errors.js';
import type { PublicationContext, SubscribedContext, UnsubscribedContext } from './events.js';
import type { Subscription } from './subscription.js';

/** What an inbox iterator yields: an event, or a gap the server could not fill. */
export type InboxItem =
  | ({ readonly kind: 'event' } & PublicationContext)
  /**
   * The inbox could not be resumed whole (its retention dropped events while the user was
   * away, or the stream was lost): events after this item continue from the server's
   * position. `missed` is how many were lost, when the server knows.
   */
  | { readonly kind: 'gap'; readonly channel: ChannelName; readonly missed?: number };

export interface InboxOptions {
  /** Resume after this position (persisted from an earlier run's last item); default: from the session, else live. */
  since?: StreamPosition;
}

/** The user's inbox channel; the server gives it long retention (INBOX_HISTORY_TTL_MS). */
export function inboxChannel(userId: string): ChannelName {
  return `user:${userId}:inbox`;
}

/**
 * An inbox subscription read as an async iterator (`for await … of client.inbox()`). It rides
 * on an ordinary subscription, so it resumes by itself: after a drop the client resumes its
 * session (or resubscribes from its position) and the iterator goes on with the next event,
 * each delivered once and in order. Items wait in memory until the loop takes them; a loop
 * that stops reading should `break` (or call `return()`), which unsubscribes.
 */
export class InboxIterator implements AsyncIterableIterator<InboxItem> {
  readonly #release: () => void;
  readonly #items: InboxItem[] = [];
  readonly #stop: Array<() => void> = [];
  #wake: (() => void) | undefined;
  #error: ApiXClientError | undefined;
  #done = false;

  /** `release`: unsubscribes and forgets the subscription (the client's removeSubscription). */
  constructor(subscription: Subscription, release: () => void) {
    this.#release = release;
    this.#stop.push(
      subscription.on('publication', (context: PublicationContext) => this.#push({ kind: 'event', ...context })),
      subscription.on('subscribed', (context: SubscribedContext) => {
        if (context.recovering && !context.recovered) {
          this.#push({ kind: 'gap', channel: context.channel, ...(context.missed === undefined ? {} : { missed: context.missed }) });
        }
      }),
      subscription.on('unsubscribed', (context: UnsubscribedContext) => {
        if (context.reason === 'client') return;
        this.#error = context.error ?? ApiXClientError.protocol('CHANNEL_FORBIDDEN', `the inbox ${context.channel} was closed by the server`);
        this.#wakeUp();
      }),
    );
    subscription.subscribe();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<InboxItem>> {
    for (;;) {
      const item = this.#items.shift();
      if (item) return { value: item, done: false };
      if (this.#error) {
        const error = this.#error;
        this.#finish();
        throw error;
      }
      if (this.#done) return { value: undefined, done: true };
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<InboxItem>> {
    this.#finish();
    this.#release();
    return { value: undefined, done: true };
  }

  #push(item: InboxItem): void {
    if (this.#done) return;
    this.#items.push(item);
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #finish(): void {
    this.#done = true;
    for (const stop of this.#stop.splice(0)) stop();
    this.#wakeUp();
  }
}
