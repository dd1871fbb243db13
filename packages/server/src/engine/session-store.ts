import type { ChannelName, StreamPosition, SubscriptionFilters } from '@apix/protocol';

/** One subscription of a session as the engine keeps it. */
export interface StoredSubscription {
  readonly filters?: SubscriptionFilters;
  /** The last position handed to the connection (absent until the subscription went live). */
  readonly position?: StreamPosition;
  /**
   * Subscribed with `acknowledgment: true`: restored acknowledged, in the session's group, so
   * its pending events come back and acks go on (restored as broadcast, the group would stall
   * with everything unacked while the client is fed past it).
   */
  readonly acknowledgment?: boolean;
}

/** Whose session it is, and which connection holds it now. */
export interface SessionOwner {
  readonly sessionId: string;
  readonly organizationId: string;
  readonly userId: string;
  /** The connection id that holds the session; writes from any other connection are refused. */
  readonly owner: string;
}

/** What changed in a session since its last write. Empty: the write only keeps the session alive. */
export interface SessionUpdate {
  /** Subscriptions added (their filters and position). */
  readonly subscribed: ReadonlyMap<ChannelName, StoredSubscription>;
  /** Positions that moved on subscriptions already stored. */
  readonly positions: ReadonlyMap<ChannelName, StreamPosition>;
  /** Subscriptions the client (or a revocation) ended: gone from the session. */
  readonly unsubscribed: readonly ChannelName[];
}

export type ClaimOutcome =
  | { readonly kind: 'claimed'; readonly subscriptions: ReadonlyMap<ChannelName, StoredSubscription> }
  /** The stored session names another organisation or user: never handed over. */
  | { readonly kind: 'foreign' }
  /** No state: it expired, or the store lost it (memory engine restarted). Nothing was created. */
  | { readonly kind: 'missing' }
  /** A newer connect attempt of the client claimed the session already: this one was given up on. */
  | { readonly kind: 'stale' };

/**
 * Durable session state (ADR 0040): a session's subscriptions and positions, shared by the
 * nodes of a cluster, expiring `ttlMs` after its last write. Lives in the engine (Redis hash,
 * or a bounded map in this process), never in PostgreSQL: it is written on the data plane.
 *
 * Ownership is fenced: `claim` makes a connection the owner, and `save` from any other
 * connection is refused (false). A node whose connection lost the session to a resume
 * elsewhere can therefore never write stale positions over the new owner's.
 */
export interface SessionStore {
  /**
   * Makes `owner.owner` the holder of an existing session and returns what it holds; never
   * creates one. With `attempt` (the client's connect attempt number): refused as `stale` when
   * the session's last claim came with a higher one (ADR 0047); without, the claim is unfenced.
   */
  claim(owner: SessionOwner, ttlMs: number, attempt?: number): Promise<ClaimOutcome>;
  /** Applies `update` if `owner.owner` still holds the session (or nobody does); false when another connection took it. */
  save(owner: SessionOwner, update: SessionUpdate, ttlMs: number): Promise<boolean>;
  /**
   * Which of `sessionIds` exist now (not expired, not evicted): the others can never be resumed
   * — a claim answers `missing` — so state kept for them elsewhere (their acknowledged groups,
   * ADR 0048) may go. Read-only: it neither refreshes nor claims a session.
   */
  liveSessions(sessionIds: readonly string[]): Promise<ReadonlySet<string>>;
  close(): Promise<void>;
}

export const EMPTY_UPDATE: SessionUpdate = { subscribed: new Map(), positions: new Map(), unsubscribed: [] };

export function isEmptyUpdate(update: SessionUpdate): boolean {
  return update.subscribed.size === 0 && update.positions.size === 0 && update.unsubscribed.length === 0;
}
