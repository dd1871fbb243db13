import type { ChannelName } from '@apix/protocol';
import { monotonicNow } from '../support/monotonic-clock.js';
import type { ClaimOutcome, SessionOwner, SessionStore, SessionUpdate, StoredSubscription } from './session-store.js';

interface Entry {
  readonly userId: string;
  owner: string;
  /** The attempt number of the last claim that sent one (ADR 0047). */
  attempt: number | undefined;
  readonly subscriptions: Map<ChannelName, StoredSubscription>;
  /** Monotonic ms. */
  expiresAt: number;
}

/**
 * Sessions of the embedded engine (one process). Bounded twice: entries expire `ttlMs` after
 * their last write (checked on access, so no timer per session), and each organisation keeps
 * at most `maxPerOrganization` sessions — past it the least recently written one goes first,
 * so one tenant opening sessions in a loop can neither grow memory without bound nor evict
 * another tenant's sessions.
 */
export class MemorySessionStore implements SessionStore {
  readonly #byOrganization = new Map<string, Map<string, Entry>>();
  /** Session id → its organisation: a lookup never walks the organisations. */
  readonly #organizationOf = new Map<string, string>();
  readonly #maxPerOrganization: number;
  readonly #now: () => number;

  constructor(options: { maxPerOrganization: number; now?: () => number }) {
    this.#maxPerOrganization = options.maxPerOrganization;
    this.#now = options.now ?? monotonicNow;
  }

  async claim(owner: SessionOwner, ttlMs: number, attempt?: number): Promise<ClaimOutcome> {
    const entry = this.#live(owner);
    if (entry === 'foreign') return { kind: 'foreign' };
    if (entry === undefined) return { kind: 'missing' };
    if (attempt !== undefined && entry.attempt !== undefined && attempt < entry.attempt) return { kind: 'stale' };
    entry.attempt = attempt;
    entry.owner = owner.owner;
    this.#touch(owner, entry, ttlMs);
    return { kind: 'claimed', subscriptions: new Map(entry.subscriptions) };
  }

  async save(owner: SessionOwner, update: SessionUpdate, ttlMs: number): Promise<boolean> {
    const found = this.#live(owner);
    if (found === 'foreign' || (found !== undefined && found.owner !== owner.owner)) return false;
    const entry = found ?? this.#create(owner);
    for (const [channel, subscription] of update.subscribed) entry.subscriptions.set(channel, subscription);
    for (const [channel, position] of update.positions) {
      const current = entry.subscriptions.get(channel);
      if (current) entry.subscriptions.set(channel, { ...current, position });
    }
    for (const channel of update.unsubscribed) entry.subscriptions.delete(channel);
    this.#touch(owner, entry, ttlMs);
    return true;
  }

  async liveSessions(sessionIds: readonly string[]): Promise<ReadonlySet<string>> {
    const now = this.#now();
    return new Set(
      sessionIds.filter((id) => {
        const organizationId = this.#organizationOf.get(id);
        const entry = organizationId === undefined ? undefined : this.#byOrganization.get(organizationId)?.get(id);
        return entry !== undefined && entry.expiresAt > now;
      }),
    );
  }

  async close(): Promise<void> {
    this.#byOrganization.clear();
    this.#organizationOf.clear();
  }

  /** Sessions held, all organisations (tests check the bound). */
  get size(): number {
    let n = 0;
    for (const sessions of this.#byOrganization.values()) n += sessions.size;
    return n;
  }

  #live(owner: SessionOwner): Entry | 'foreign' | undefined {
    const organizationId = this.#organizationOf.get(owner.sessionId);
    if (organizationId === undefined) return undefined;
    const sessions = this.#byOrganization.get(organizationId)!;
    const entry = sessions.get(owner.sessionId)!;
    if (entry.expiresAt <= this.#now()) {
      this.#delete(organizationId, sessions, owner.sessionId);
      return undefined;
    }
    return organizationId === owner.organizationId && entry.userId === owner.userId ? entry : 'foreign';
  }

  #create(owner: SessionOwner): Entry {
    let sessions = this.#byOrganization.get(owner.organizationId);
    if (!sessions) {
      sessions = new Map();
      this.#byOrganization.set(owner.organizationId, sessions);
    }
    const entry: Entry = { userId: owner.userId, owner: owner.owner, attempt: undefined, subscriptions: new Map(), expiresAt: 0 };
    sessions.set(owner.sessionId, entry);
    this.#organizationOf.set(owner.sessionId, owner.organizationId);
    // Maps iterate in insertion order and #touch re-inserts: the first key is the least recently written.
    while (sessions.size > this.#maxPerOrganization) this.#delete(owner.organizationId, sessions, sessions.keys().next().value!);
    return entry;
  }

  #delete(organizationId: string, sessions: Map<string, Entry>, sessionId: string): void {
    sessions.delete(sessionId);
    this.#organizationOf.delete(sessionId);
    if (sessions.size === 0) this.#byOrganization.delete(organizationId);
  }

  #touch(owner: SessionOwner, entry: Entry, ttlMs: number): void {
    entry.expiresAt = this.#now() + ttlMs;
    const sessions = this.#byOrganization.get(owner.organizationId)!;
    sessions.delete(owner.sessionId);
    sessions.set(owner.sessionId, entry);
  }
}
