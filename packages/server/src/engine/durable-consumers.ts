/**
 * Durable consumers: the second engine interface, beside `Broker`. A *group* on a channel is
 * a cursor into the channel's log plus, per entry handed out and not yet acked, which
 * *member* holds it and how many times it was delivered (Redis calls this the pending entries
 * list). Queue groups (one member per event), acknowledged subscriptions (a group of one per
 * subscription) and per-session inboxes are all groups; see docs/adr/0035.
 *
 * The entries are the channel log's own entries (the ones `Broker.publish` appended):
 * `DurableEntry.offset` is `BrokerPublication.offset` within the log's current epoch, so a
 * position acked here lines up with a `since` position given to `Broker.history`.
 *
 * Invariants every implementation keeps (the durable-consumers contract tests check them):
 * - **at-least-once to the group**: every entry appended after the group's start position is
 *   handed to some member at least once, and stays pending until it is acked, dead-lettered,
 *   or reported gone; nothing leaves the pending list silently;
 * - **one holder**: a pending entry is held by exactly one member at a time; `read` hands a
 *   new entry to one member only, and `claim` moves it from its holder to the claimer; a
 *   released entry (`release`) is held by `RELEASED_HOLDER` until a member claims it;
 * - **delivery counts** start at 1 and grow by one on every delivery of the entry: a re-read
 *   of a member's pending entries, a claim, a retry, a redelivery from the dead letters (which
 *   carries the letter's count on);
 * - **claims respect the idle time**: an entry is claimable only after nobody was handed it
 *   for `minIdleMs` (every delivery resets the clock);
 * - **trimmed while pending** (the log's retention dropped an entry before it was acked): the
 *   entry is dropped from the pending list and reported in `gone` by the call that found it
 *   (read of pending entries, claim, retry; `deadLetter` answers `'gone'`), never thrown;
 * - **a lost log loses its groups**: when the channel's log is lost (the broker starts a new
 *   epoch: stream removed, expired, store restarted), its groups and their pending lists go with
 *   it (Redis keeps groups inside the stream key). Calls on such a group reject with
 *   `DurableGroupMissingError`; the caller joins again and tells its subscribers
 *   `recovered: false`, exactly as for a `since` position from a foreign epoch;
 * - **errors**: bad arguments reject with `RangeError` before anything is done; store failures
 *   reject the promise, and entries a failed call had already handed out stay pending (the
 *   member re-reads them or another claims them after the idle time): nothing is lost.
 *
 * Channel keys come from `channelKey(organisation, channel)` as for the broker; group and member
 * names are opaque here (the data plane derives them from validated input, see the ADR).
 */

/** Where a new group starts reading the channel's log. Ignored when the group exists already. */
export type GroupStart =
  /** Only entries appended after the group is created. */
  | { readonly kind: 'new' }
  /** Everything the log still holds. */
  | { readonly kind: 'retained' }
  /** Entries with offset > `offset` (a `since` position of the log's current epoch). */
  | { readonly kind: 'after'; readonly offset: number };

export interface JoinOptions {
  readonly start: GroupStart;
}

export interface JoinOutcome {
  /** True when this call created the group; false when it joined an existing one. */
  readonly created: boolean;
}

/**
 * Opaque identity of an entry handed out by a group: what `ack`, `deadLetter` take. Two
 * deliveries of the same log entry have the same id; an entry redelivered from the dead
 * letters gets a new one (it is a new delivery of an old offset).
 */
export type DurableEntryId = string;

export interface DurableEntry {
  readonly id: DurableEntryId;
  /** The entry's offset in the channel's log (the broker's `BrokerPublication.offset`). */
  readonly offset: number;
  /** The encoded event, as the broker stored it. */
  readonly data: string;
  /** 1 on first delivery; +1 on every later one (re-read, claim, redelivery). */
  readonly deliveryCount: number;
}

/** A pending entry whose body the log no longer holds: removed from the pending list and reported. */
export interface GoneEntry {
  readonly id: DurableEntryId;
  /** The log offset when the implementation can tell it from the id. */
  readonly offset: number | undefined;
}

export interface ReadOptions {
  /** At most this many entries (and gone reports) in total. */
  readonly count: number;
  /**
   * `pending`: the member's own unacked entries again, the oldest `count` of them (after a
   * reconnect; each counts as a delivery — to resend particular entries use `retry`);
   * `new`: entries never handed to any member; `both`: pending first, then new.
   */
  readonly from: 'pending' | 'new' | 'both';
}

export interface ReadOutcome {
  readonly entries: readonly DurableEntry[];
  /** Pending entries of this member that were trimmed from the log (see the invariants). */
  readonly gone: readonly GoneEntry[];
}

export interface ClaimOptions {
  /** Only entries nobody was handed for at least this long. */
  readonly minIdleMs: number;
  readonly count: number;
}

export type DeadLetterOutcome =
  /** Moved to the dead letters (and no longer pending). */
  | 'dead-lettered'
  /** Not pending in this group (acked, dead-lettered already, unknown id): nothing done. */
  | 'not-pending'
  /** Pending, but the log no longer holds its body: dropped from pending, nothing stored. */
  | 'gone';

export interface DeadLetter {
  /** Identity within the channel's dead letters (ordered: later letters sort after earlier ones). */
  readonly id: string;
  readonly group: string;
  readonly offset: number;
  readonly data: string;
  readonly reason: string;
  /** Deliveries the entry had when it was dead-lettered. */
  readonly deliveryCount: number;
  /** Wall-clock ms, for display only. */
  readonly deadLetteredAt: number;
}

export interface DeadLetterPage {
  readonly letters: readonly DeadLetter[];
  /** Pass as `after` for the next page; undefined when this page is the last. */
  readonly next: string | undefined;
}

export interface DeadLetterQuery {
  /** Letters after this id (a page's `next`); from the oldest without it. */
  readonly after?: string;
  readonly limit: number;
}

/**
 * The durable-consumer engine. Every method is safe to call concurrently from several nodes
 * (the Redis implementation) or tasks (memory); none of them blocks waiting for entries —
 * the data plane learns of new entries from the broker's notifications and reads then.
 */
export interface DurableConsumers {
  /** `memory`, `redis`. */
  readonly name: string;
  /** Creates the group at `start` unless it exists, and registers `member` in it. */
  join(channelKey: string, group: string, member: string, options: JoinOptions): Promise<JoinOutcome>;
  /** Hands entries to `member` (see `ReadOptions.from`). Rejects with `DurableGroupMissingError` when the group does not exist. */
  read(channelKey: string, group: string, member: string, options: ReadOptions): Promise<ReadOutcome>;
  /** Removes entries from the group's pending list. Returns how many were pending (0 for an unknown group). */
  ack(channelKey: string, group: string, ids: readonly DurableEntryId[]): Promise<number>;
  /**
   * Moves to `member` up to `count` pending entries, oldest first, that nobody was handed for
   * `minIdleMs` (a dead member's, or a live one's that stopped acking), incrementing their
   * delivery counts. Entries found trimmed are dropped from pending and reported in `gone`.
   */
  claim(channelKey: string, group: string, member: string, options: ClaimOptions): Promise<ReadOutcome>;
  /**
   * Hands the given pending entries to `member` again now, whoever holds them and however long
   * they were idle (the RetryManager's per-entry timer fired): delivery count +1, idle clock
   * reset. Ids not pending are skipped; trimmed ones leave pending and are reported in `gone`.
   */
  retry(channelKey: string, group: string, member: string, ids: readonly DurableEntryId[]): Promise<ReadOutcome>;
  /**
   * Moves a pending entry to the channel's dead letters with `reason` and its delivery count,
   * and removes it from the group's pending list, as one step.
   */
  deadLetter(channelKey: string, group: string, id: DurableEntryId, reason: string): Promise<DeadLetterOutcome>;
  /** The channel's dead letters, oldest first, paginated. */
  deadLetters(channelKey: string, query: DeadLetterQuery): Promise<DeadLetterPage>;
  deadLetterById(channelKey: string, id: string): Promise<DeadLetter | undefined>;
  /**
   * Removes the letter and hands its entry back to the letter's group as a new pending entry
   * (no holder yet: the next `read` with `from: 'new'` or `'both'` delivers it, before entries
   * from the log), with its delivery count carried on. False when no such letter exists.
   */
  redeliver(channelKey: string, id: string): Promise<boolean>;
  /**
   * Forgets the group: its cursor, pending list and redrive queue (not its dead letters, which
   * belong to the channel). For groups whose owner is gone for good, e.g. the group of one behind
   * an acknowledged subscription that was unsubscribed. True when the group existed.
   */
  removeGroup(channelKey: string, group: string): Promise<boolean>;
  /**
   * Gives up the given pending entries of `member` (a queue-group member that unsubscribed: it
   * will not process them). They stay pending — nothing is lost — but are held by no member
   * (`RELEASED_HOLDER`) and count as idle for `RELEASED_IDLE_MS`, so the next `claim` of any
   * member with `minIdleMs` ≤ that takes them at once instead of after the group idle time.
   * Releasing is not a delivery: delivery counts stay as they were (the claim adds one). Ids
   * `member` does not hold are skipped (an entry acked, claimed or retried by someone else
   * meanwhile stays theirs); held ones the log trimmed leave pending and are reported in `gone`.
   * Rejects with `DurableGroupMissingError` when the group does not exist.
   */
  release(channelKey: string, group: string, member: string, ids: readonly DurableEntryId[]): Promise<ReleaseOutcome>;
  /**
   * Removes `member` from the group's list of members (Redis `XINFO CONSUMERS`), only if it
   * holds nothing pending: a member that will not come back must not stay listed forever, and
   * removing one that still holds entries would drop them from the pending list (Redis
   * `XGROUP DELCONSUMER`), losing them. True when the member is not in the group afterwards
   * (removed, or never there); false when it holds pending entries (then nothing changes).
   * Rejects with `DurableGroupMissingError` when the group does not exist.
   */
  removeMember(channelKey: string, group: string, member: string): Promise<boolean>;
  /**
   * The channel's groups whose name starts with `prefix` and sorts after `after` (byte order),
   * the first `limit` of them, with their members and `idleMs`: how long since a member was
   * added to the group or last handed entries (read, claim, retry) — Infinity with no member. Other calls may or may
   * not count, by engine (Redis 7.0 refreshes a consumer's idle time only when it is created or
   * served; acks never count), so `idleMs` is an upper bound on the time since the group was
   * last used, never less than it. Bounded work for housekeeping that walks a channel's groups
   * a page per visit (ADR 0048). Empty for a channel without a log.
   */
  listGroups(channelKey: string, query: GroupQuery): Promise<readonly GroupSummary[]>;
  /** Releases what the implementation owns (timers, connections it created). Idempotent. */
  close(): Promise<void>;
}

export interface ReleaseOutcome {
  /** How many of the ids were held by the member and are now claimable by anyone. */
  readonly released: number;
  /** Held entries the log no longer holds: dropped from pending (see the invariants). */
  readonly gone: readonly GoneEntry[];
}

export interface GroupQuery {
  readonly prefix: string;
  /** Only groups whose name sorts after this one (the last name of the previous page). */
  readonly after?: string;
  readonly limit: number;
}

export interface GroupSummary {
  readonly group: string;
  /** Ms since a member was added or last handed entries (see `listGroups`); Infinity without members. */
  readonly idleMs: number;
  /** The group's members (in the log's group), in name order. */
  readonly members: readonly MemberSummary[];
}

export interface MemberSummary {
  readonly member: string;
  /** Log entries it holds (pending under it). Redelivered ones are not counted here; `removeMember` checks those too. */
  readonly pending: number;
  /** Ms since it was added or last handed entries (the same upper bound as the group's). */
  readonly idleMs: number;
}

/**
 * Who holds a released entry (`release`): no session is called this (session ids are
 * generated, never this string), so no member's `read(pending)` hands it out; only a claim does.
 */
export const RELEASED_HOLDER = '~released';

/**
 * The idle time a released entry is given: 30 days, far above any group idle time, so the next
 * claim pass takes it whatever its `minIdleMs`. (Redis caps an XCLAIM IDLE at "now", so it must
 * stay below the wall clock in ms.)
 */
export const RELEASED_IDLE_MS = 30 * 24 * 3_600_000;

/** The group does not exist: never joined, removed, or lost with the channel's log (new epoch). */
export class DurableGroupMissingError extends Error {
  override readonly name = 'DurableGroupMissingError';
  constructor(readonly channelKey: string, readonly group: string) {
    super(`no consumer group '${group}' on this channel (join first; its log may have been lost)`);
  }
}

/** Upper bound on `count` / `limit` of one call: a caller's typo must not read a whole stream. */
export const MAX_ENTRIES_PER_CALL = 1_000;

/** Argument checks shared by the implementations: a bad value is a caller bug, reported at once. */
export function checkCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > MAX_ENTRIES_PER_CALL) {
    throw new RangeError(`${name} must be an integer in 1..${MAX_ENTRIES_PER_CALL} (got ${value})`);
  }
}

export function checkName(name: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) {
    throw new RangeError(`${name} must be a non-empty string of at most 200 characters`);
  }
}

export function checkMinIdle(value: number): void {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`minIdleMs must be >= 0 (got ${value})`);
}

export function checkStart(start: GroupStart): void {
  if (start.kind === 'after' && (!Number.isInteger(start.offset) || start.offset < 0)) {
    throw new RangeError(`start offset must be an integer >= 0 (got ${start.offset})`);
  }
}
