import type { Broker } from './broker.js';
import {
  checkCount,
  checkMinIdle,
  checkName,
  checkStart,
  DurableGroupMissingError,
  MAX_ENTRIES_PER_CALL,
  RELEASED_HOLDER,
  RELEASED_IDLE_MS,
  type ClaimOptions,
  type DeadLetter,
  type DeadLetterOutcome,
  type DeadLetterPage,
  type DeadLetterQuery,
  type DurableConsumers,
  type DurableEntry,
  type DurableEntryId,
  type GoneEntry,
  type GroupQuery,
  type GroupSummary,
  type JoinOptions,
  type JoinOutcome,
  type ReadOptions,
  type ReadOutcome,
  type ReleaseOutcome,
} from './durable-consumers.js';
import { monotonicNow } from '../support/monotonic-clock.js';

/** Dead letters kept per channel by default; past it the oldest go (Redis: exact MAXLEN). */
export const DEFAULT_MAX_DEAD_LETTERS_PER_CHANNEL = 10_000;

export interface MemoryDurableConsumersOptions {
  /** Monotonic ms; injectable for tests. */
  readonly now?: () => number;
  readonly maxDeadLettersPerChannel?: number;
}

/** One entry a group handed out and nobody acked yet. */
interface PendingEntry {
  readonly id: DurableEntryId;
  readonly offset: number;
  /** The log epoch the offset belongs to. */
  readonly epoch: string;
  /** Only for redelivered dead letters: their body lives here, not in the log. */
  readonly data: string | undefined;
  holder: string | undefined;
  deliveryCount: number;
  /** Monotonic ms of the last hand-out: what `minIdleMs` is measured from. */
  deliveredAt: number;
}

interface GroupState {
  /** Member → monotonic ms of its last read, claim, retry or join (Redis: the consumer's seen time). */
  readonly members: Map<string, number>;
  /** Log epoch the cursor belongs to; a new epoch restarts the cursor at 0. */
  epoch: string;
  /** Offset of the last log entry handed out (the group's "last delivered id"). */
  cursor: number;
  /** Insertion-ordered: log entries in offset order, redelivered ones after them. */
  readonly pending: Map<DurableEntryId, PendingEntry>;
  /** Redelivered dead letters nobody was handed yet (they have no holder). */
  readonly redrive: PendingEntry[];
}

/**
 * Unique across epochs, like Redis's `<offset>-<ms>`: after a lost log restarts offsets at 1,
 * an id handed out before must never name an entry of the new log.
 */
const logEntryId = (offset: number, epoch: string): DurableEntryId => `${offset}@${epoch}`;

/**
 * Pending entries in the order Redis walks them: log entries by offset, then redelivered ones
 * in redelivery order (Redis keeps them in a second stream it reads after the log). Count-limited
 * reads and claims then pick the same entries on both engines.
 */
function pendingInOrder(state: GroupState): PendingEntry[] {
  const all = [...state.pending.values()];
  return [...all.filter((p) => p.data === undefined), ...all.filter((p) => p.data !== undefined)];
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * In-process durable consumers for the embedded engine, with the same semantics as the Redis
 * implementation. It reads entries through the `Broker` interface (`history`), so it works
 * over any broker and sees exactly the log, retention and epochs the broker keeps; group
 * state lives here and is lost with the process (like the memory broker's logs).
 *
 * Every step that decides who holds what runs synchronously after the last `await`, so
 * concurrent calls cannot hand one entry to two members.
 */
export class MemoryDurableConsumers implements DurableConsumers {
  readonly name = 'memory';
  readonly #broker: Broker;
  readonly #now: () => number;
  readonly #maxDeadLetters: number;
  /** channelKey → group name → state. */
  readonly #groups = new Map<string, Map<string, GroupState>>();
  /** channelKey → dead letters, oldest first. */
  readonly #deadLetters = new Map<string, DeadLetter[]>();
  #sequence = 0;
  #closed = false;

  constructor(broker: Broker, options: MemoryDurableConsumersOptions = {}) {
    this.#broker = broker;
    this.#now = options.now ?? monotonicNow;
    this.#maxDeadLetters = options.maxDeadLettersPerChannel ?? DEFAULT_MAX_DEAD_LETTERS_PER_CHANNEL;
  }

  async join(channelKey: string, group: string, member: string, options: JoinOptions): Promise<JoinOutcome> {
    this.#checkOpen();
    checkName('group', group);
    checkName('member', member);
    checkStart(options.start);
    const { position } = await this.#broker.history(channelKey, { limit: 0 });
    const groups = this.#groups.get(channelKey) ?? new Map<string, GroupState>();
    this.#groups.set(channelKey, groups);
    let state = groups.get(group);
    // A group whose log was lost (new epoch) is gone, as it would be in Redis: create it afresh.
    if (state && state.epoch !== position.epoch) state = undefined;
    const created = state === undefined;
    if (!state) {
      const start = options.start;
      const cursor = start.kind === 'new' ? position.offset : start.kind === 'retained' ? 0 : start.offset;
      state = { members: new Map(), epoch: position.epoch, cursor, pending: new Map(), redrive: [] };
      groups.set(group, state);
    }
    state.members.set(member, this.#now());
    return { created };
  }

  async read(channelKey: string, group: string, member: string, options: ReadOptions): Promise<ReadOutcome> {
    this.#checkOpen();
    checkName('group', group);
    checkName('member', member);
    checkCount('count', options.count);
    const state = await this.#liveGroup(channelKey, group);
    state.members.set(member, this.#now());
    const entries: DurableEntry[] = [];
    const gone: GoneEntry[] = [];
    if (options.from !== 'new') {
      const mine = pendingInOrder(state).filter((p) => p.holder === member).slice(0, options.count);
      await this.#deliver(channelKey, state, member, mine, entries, gone);
    }
    if (options.from !== 'pending') {
      // Redelivered dead letters first: they are older than anything new in the log.
      while (state.redrive.length > 0 && entries.length + gone.length < options.count) {
        const entry = state.redrive.shift()!;
        entry.holder = member;
        entry.deliveryCount++;
        entry.deliveredAt = this.#now();
        state.pending.set(entry.id, entry);
        entries.push({ id: entry.id, offset: entry.offset, data: entry.data!, deliveryCount: entry.deliveryCount });
      }
      const room = options.count - entries.length - gone.length;
      if (room > 0) await this.#readNew(channelKey, state, member, room, entries);
    }
    return { entries, gone };
  }

  async ack(channelKey: string, group: string, ids: readonly DurableEntryId[]): Promise<number> {
    this.#checkOpen();
    const state = this.#groups.get(channelKey)?.get(group);
    if (!state) return 0;
    let acked = 0;
    for (const id of ids) if (state.pending.delete(id)) acked++;
    return acked;
  }

  async claim(channelKey: string, group: string, member: string, options: ClaimOptions): Promise<ReadOutcome> {
    this.#checkOpen();
    checkName('group', group);
    checkName('member', member);
    checkCount('count', options.count);
    checkMinIdle(options.minIdleMs);
    const state = await this.#liveGroup(channelKey, group);
    state.members.set(member, this.#now());
    const now = this.#now();
    const idle = pendingInOrder(state)
      .filter((p) => p.holder !== undefined && now - p.deliveredAt >= options.minIdleMs)
      .slice(0, options.count);
    const entries: DurableEntry[] = [];
    const gone: GoneEntry[] = [];
    await this.#deliver(channelKey, state, member, idle, entries, gone, options.minIdleMs);
    return { entries, gone };
  }

  async retry(channelKey: string, group: string, member: string, ids: readonly DurableEntryId[]): Promise<ReadOutcome> {
    this.#checkOpen();
    checkName('group', group);
    checkName('member', member);
    if (ids.length > MAX_ENTRIES_PER_CALL) throw new RangeError(`at most ${MAX_ENTRIES_PER_CALL} ids per retry`);
    const state = await this.#liveGroup(channelKey, group);
    state.members.set(member, this.#now());
    const candidates = [...new Set(ids)].map((id) => state.pending.get(id)).filter((p): p is PendingEntry => p !== undefined);
    const entries: DurableEntry[] = [];
    const gone: GoneEntry[] = [];
    await this.#deliver(channelKey, state, member, candidates, entries, gone);
    return { entries, gone };
  }

  async deadLetter(channelKey: string, group: string, id: DurableEntryId, reason: string): Promise<DeadLetterOutcome> {
    this.#checkOpen();
    const state = await this.#liveGroup(channelKey, group);
    const pending = state.pending.get(id);
    if (!pending) return 'not-pending';
    const data = pending.data ?? (await this.#body(channelKey, pending));
    // Re-check after the await: a concurrent ack or dead-letter may have taken it meanwhile.
    if (state.pending.get(id) !== pending) return 'not-pending';
    state.pending.delete(id);
    if (data === undefined) return 'gone';
    const letters = this.#deadLetters.get(channelKey) ?? [];
    this.#deadLetters.set(channelKey, letters);
    letters.push({
      id: String(++this.#sequence),
      group,
      offset: pending.offset,
      data,
      reason,
      deliveryCount: pending.deliveryCount,
      deadLetteredAt: Date.now(),
    });
    if (letters.length > this.#maxDeadLetters) letters.shift();
    return 'dead-lettered';
  }

  async deadLetters(channelKey: string, query: DeadLetterQuery): Promise<DeadLetterPage> {
    this.#checkOpen();
    checkCount('limit', query.limit);
    const letters = this.#deadLetters.get(channelKey) ?? [];
    const after = query.after === undefined ? 0 : Number(query.after);
    if (!Number.isInteger(after) || after < 0) throw new RangeError(`malformed dead-letter cursor: ${query.after}`);
    const rest = letters.filter((letter) => Number(letter.id) > after);
    const page = rest.slice(0, query.limit);
    return { letters: page, next: rest.length > page.length ? page.at(-1)!.id : undefined };
  }

  async deadLetterById(channelKey: string, id: string): Promise<DeadLetter | undefined> {
    this.#checkOpen();
    return this.#deadLetters.get(channelKey)?.find((letter) => letter.id === id);
  }

  async redeliver(channelKey: string, id: string): Promise<boolean> {
    this.#checkOpen();
    const letters = this.#deadLetters.get(channelKey);
    const index = letters?.findIndex((letter) => letter.id === id) ?? -1;
    if (!letters || index < 0) return false;
    const [letter] = letters.splice(index, 1);
    const state = this.#groups.get(channelKey)?.get(letter!.group);
    // The letter's group is gone (process restarted): nobody could read it; keep the letter.
    if (!state) {
      letters.splice(index, 0, letter!);
      return false;
    }
    state.redrive.push({
      id: `r${++this.#sequence}`,
      offset: letter!.offset,
      epoch: state.epoch,
      data: letter!.data,
      holder: undefined,
      deliveryCount: letter!.deliveryCount,
      deliveredAt: this.#now(),
    });
    return true;
  }

  async removeGroup(channelKey: string, group: string): Promise<boolean> {
    this.#checkOpen();
    const groups = this.#groups.get(channelKey);
    const existed = groups?.delete(group) ?? false;
    if (groups?.size === 0) this.#groups.delete(channelKey);
    return existed;
  }

  async release(channelKey: string, group: string, member: string, ids: readonly DurableEntryId[]): Promise<ReleaseOutcome> {
    this.#checkOpen();
    checkName('group', group);
    checkName('member', member);
    if (ids.length > MAX_ENTRIES_PER_CALL) throw new RangeError(`at most ${MAX_ENTRIES_PER_CALL} ids per release`);
    const state = await this.#liveGroup(channelKey, group);
    const held = [...new Set(ids)].map((id) => state.pending.get(id)).filter((p): p is PendingEntry => p?.holder === member);
    const bodies = await Promise.all(held.map((p) => (p.data !== undefined ? p.data : this.#body(channelKey, p))));
    const now = this.#now();
    let released = 0;
    const gone: GoneEntry[] = [];
    held.forEach((pending, i) => {
      // Re-check after the await: acked, claimed or retried meanwhile, it is no longer ours to give.
      if (state.pending.get(pending.id) !== pending || pending.holder !== member) return;
      if (bodies[i] === undefined) {
        state.pending.delete(pending.id);
        gone.push({ id: pending.id, offset: pending.offset });
        return;
      }
      // Not a delivery: the count stays; the idle clock is set far back so any claim takes it.
      pending.holder = RELEASED_HOLDER;
      pending.deliveredAt = now - RELEASED_IDLE_MS;
      released++;
    });
    // As in Redis, where XCLAIM to the holder creates it as a consumer of the group.
    if (released > 0) state.members.set(RELEASED_HOLDER, now);
    return { released, gone };
  }

  async removeMember(channelKey: string, group: string, member: string): Promise<boolean> {
    this.#checkOpen();
    checkName('group', group);
    checkName('member', member);
    const state = await this.#liveGroup(channelKey, group);
    for (const pending of state.pending.values()) if (pending.holder === member) return false;
    state.members.delete(member);
    return true;
  }

  async listGroups(channelKey: string, query: GroupQuery): Promise<readonly GroupSummary[]> {
    this.#checkOpen();
    checkCount('limit', query.limit);
    const groups = this.#groups.get(channelKey);
    if (!groups) return [];
    const { position } = await this.#broker.history(channelKey, { limit: 0 });
    const now = this.#now();
    // Byte order, like Redis's radix tree of groups: names are compared as UTF-8 bytes.
    const names = [...groups.keys()].sort(compareBytes);
    const out: GroupSummary[] = [];
    for (const name of names) {
      if (out.length >= query.limit) break;
      if (!name.startsWith(query.prefix) || (query.after !== undefined && compareBytes(name, query.after) <= 0)) continue;
      const state = groups.get(name)!;
      // A group of a lost log is gone (Redis drops groups with their stream).
      if (state.epoch !== position.epoch) continue;
      const lastSeen = Math.max(...state.members.values());
      const held = new Map<string, number>();
      for (const pending of state.pending.values()) {
        // Log entries only, as Redis's XINFO CONSUMERS counts the log's group.
        if (pending.holder !== undefined && pending.data === undefined) held.set(pending.holder, (held.get(pending.holder) ?? 0) + 1);
      }
      const members = [...state.members.keys()]
        .sort(compareBytes)
        .map((member) => ({ member, pending: held.get(member) ?? 0, idleMs: now - state.members.get(member)! }));
      out.push({ group: name, idleMs: state.members.size === 0 ? Number.POSITIVE_INFINITY : now - lastSeen, members });
    }
    return out;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  /**
   * Hands `candidates` (pending entries) to `member`: each one still pending (and, for claims,
   * still idle) after the body lookup gets a new delivery; trimmed ones leave pending as gone.
   */
  async #deliver(
    channelKey: string,
    state: GroupState,
    member: string,
    candidates: readonly PendingEntry[],
    entries: DurableEntry[],
    gone: GoneEntry[],
    minIdleMs?: number,
  ): Promise<void> {
    const bodies = await Promise.all(candidates.map((p) => (p.data !== undefined ? p.data : this.#body(channelKey, p))));
    const now = this.#now();
    candidates.forEach((pending, i) => {
      if (state.pending.get(pending.id) !== pending) return; // acked or dead-lettered meanwhile
      if (minIdleMs !== undefined && now - pending.deliveredAt < minIdleMs) return; // handed out meanwhile
      const data = bodies[i];
      if (data === undefined) {
        state.pending.delete(pending.id);
        gone.push({ id: pending.id, offset: pending.offset });
        return;
      }
      pending.holder = member;
      pending.deliveryCount++;
      pending.deliveredAt = now;
      entries.push({ id: pending.id, offset: pending.offset, data, deliveryCount: pending.deliveryCount });
    });
  }

  async #readNew(channelKey: string, state: GroupState, member: string, count: number, entries: DurableEntry[]): Promise<void> {
    const slice = await this.#broker.history(channelKey, { since: { offset: state.cursor, epoch: state.epoch }, limit: count });
    // The log was lost between the epoch check and now: the group goes with it (see #liveGroup).
    if (slice.position.epoch !== state.epoch) return;
    const now = this.#now();
    let added = 0;
    for (const publication of slice.publications) {
      // Another read may have advanced the cursor while we awaited: never hand an entry twice.
      if (publication.offset <= state.cursor || added >= count) continue;
      added++;
      state.cursor = publication.offset;
      const entry: PendingEntry = {
        id: logEntryId(publication.offset, state.epoch),
        offset: publication.offset,
        epoch: state.epoch,
        data: undefined,
        holder: member,
        deliveryCount: 1,
        deliveredAt: now,
      };
      state.pending.set(entry.id, entry);
      entries.push({ id: entry.id, offset: entry.offset, data: publication.data, deliveryCount: 1 });
    }
  }

  /** The log body of a pending entry, or undefined when the log no longer holds it. */
  async #body(channelKey: string, pending: PendingEntry): Promise<string | undefined> {
    const slice = await this.#broker.history(channelKey, {
      since: { offset: pending.offset - 1, epoch: pending.epoch },
      limit: 1,
    });
    if (slice.position.epoch !== pending.epoch) return undefined;
    const publication = slice.publications[0];
    return publication?.offset === pending.offset ? publication.data : undefined;
  }

  /**
   * The group, if it exists and its log is still the one it was created on. A new epoch means
   * the log was lost; Redis loses a stream's groups with it, and so does this class, so both
   * engines tell the caller the same thing: join again and report `recovered: false`.
   */
  async #liveGroup(channelKey: string, group: string): Promise<GroupState> {
    const state = this.#groups.get(channelKey)?.get(group);
    if (!state) throw new DurableGroupMissingError(channelKey, group);
    const { position } = await this.#broker.history(channelKey, { limit: 0 });
    if (position.epoch !== state.epoch) {
      if (this.#groups.get(channelKey)?.get(group) === state) await this.removeGroup(channelKey, group);
      throw new DurableGroupMissingError(channelKey, group);
    }
    return state;
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error('durable consumers are closed');
  }
}
