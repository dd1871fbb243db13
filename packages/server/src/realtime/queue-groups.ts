import { ApiXError } from '@apix/protocol';
import { DurableGroupMissingError, MAX_ENTRIES_PER_CALL, type DurableConsumers, type ReadOutcome } from '../engine/durable-consumers.js';
import type { Logger } from '../logging/logger.js';
import type { GroupAddress } from './acknowledged-delivery.js';
import { effectiveGroupIdleMs, type DeliveryPolicy } from './delivery-policy.js';

/** What the node's queue-group registry needs of a member (GroupDelivery). */
export interface QueueGroupMember {
  readonly address: GroupAddress;
  readonly organizationId: string;
  /** How many more events the member's window takes now (0 when it is not live). */
  readonly room: number;
  /** Claimed entries, to be handed to the client as if read. */
  adopt(outcome: ReadOutcome): void;
  /** Read what the group has for it (coalesced by the member). */
  wake(): void;
}

export interface QueueGroupLimits {
  /** Distinct (channel, group) pairs with members on this node, per organisation. */
  readonly maxGroupsPerOrganization: number;
  /** Members of one group on this node. */
  readonly maxMembersPerGroup: number;
}

interface GroupEntry {
  readonly key: string;
  readonly group: string;
  readonly organizationId: string;
  readonly members: Set<QueueGroupMember>;
  idleMs: number;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
  /** A pass was asked for while one ran (a member left): run another right after it. */
  again: boolean;
  /** The last publication a member was woken for (every member of the node is offered each one). */
  lastEpoch: string;
  lastOffset: number;
  /** Round-robin position among the members. */
  turn: number;
}

/** Counters for the log and tests: claim passes run, entries claimed, released by members that left, found trimmed while pending. */
export interface QueueGroupStats {
  passes: number;
  claimed: number;
  released: number;
  gone: number;
}

/** A pass every quarter of the idle time: a dead member's entries move within [idle, 1.25 × idle]. */
const PASSES_PER_IDLE_TIME = 4;
const MIN_PASS_INTERVAL_MS = 100;

/**
 * The node's queue groups (ADR 0042): which groups have members here, the per-tenant caps,
 * and the idle-claim pass that moves a dead member's unacked entries to a live member.
 *
 * Invariants:
 * - one timer per group with members on this node, none for any other group and none per
 *   member or subscription: the cost is one `claim` per group and node every quarter idle time;
 * - a group's timer stops when its last member here leaves, and nothing runs after `close`;
 * - at most one pass per group runs at a time; a pass only claims for live members with room
 *   in their window, at most that room, so claiming never overfills a window;
 * - `claim(minIdleMs = effectiveGroupIdleMs)`: entries are only taken once nobody was handed
 *   them for the idle time, which a live member's own redeliveries never allow (see there);
 * - entries found trimmed while pending (`gone`) are counted, logged with the channel key, and
 *   never thrown;
 * - a member that leaves for good (`leave`) gives back what it holds and leaves the store's
 *   member list, one step after the other per member (a late read's entries are released after
 *   the first batch), and the group's pass runs here at once, so a live member on this node gets
 *   them without waiting for the idle time; other nodes' members at their next pass.
 *
 * The caps are counted on this node (each node admits up to the cap): the groups and members
 * a tenant holds cluster-wide are at most nodes × cap. ADR 0042 says why that is enough for now.
 */
export class QueueGroups {
  readonly #durable: DurableConsumers;
  readonly #limits: QueueGroupLimits;
  readonly #logger: Logger;
  readonly #groups = new Map<string, GroupEntry>();
  readonly #groupsPerOrganization = new Map<string, number>();
  /** Per leaving member (key, group, member): the tail of its release steps, so they run in order. */
  readonly #leaving = new Map<string, Promise<void>>();
  #closed = false;
  readonly stats: QueueGroupStats = { passes: 0, claimed: 0, released: 0, gone: 0 };

  constructor(durable: DurableConsumers, limits: QueueGroupLimits, logger: Logger) {
    this.#durable = durable;
    this.#limits = limits;
    this.#logger = logger;
  }

  /** Groups with members on this node. */
  get size(): number {
    return this.#groups.size;
  }

  membersOf(key: string, group: string): number {
    return this.#groups.get(groupId(key, group))?.members.size ?? 0;
  }

  /**
   * Throws QUOTA_EXCEEDED (details.quota `queueGroups` or `queueGroupMembers`) unless one more
   * member for each of `joins` fits. Synchronous, and callers `add` right after without an
   * await in between, so two subscribes cannot both pass the last free place.
   */
  check(organizationId: string, joins: ReadonlyArray<{ key: string; group: string }>): void {
    let newGroups = 0;
    const seen = new Set<string>();
    for (const { key, group } of joins) {
      const id = groupId(key, group);
      const members = this.#groups.get(id)?.members.size ?? 0;
      if (members === 0 && !seen.has(id)) newGroups += 1;
      seen.add(id);
      if (members + 1 > this.#limits.maxMembersPerGroup) {
        throw new ApiXError('QUOTA_EXCEEDED', `the queue group has ${this.#limits.maxMembersPerGroup} members already`, {
          quota: 'queueGroupMembers',
          limit: this.#limits.maxMembersPerGroup,
        });
      }
    }
    if ((this.#groupsPerOrganization.get(organizationId) ?? 0) + newGroups > this.#limits.maxGroupsPerOrganization) {
      throw new ApiXError('QUOTA_EXCEEDED', `the organisation's queue group quota (${this.#limits.maxGroupsPerOrganization}) is used up`, {
        quota: 'queueGroups',
        limit: this.#limits.maxGroupsPerOrganization,
      });
    }
  }

  /** A member exists (subscribed); its group's pass runs from now on. */
  add(member: QueueGroupMember, policy: DeliveryPolicy): void {
    const { key, group } = member.address;
    const id = groupId(key, group);
    let entry = this.#groups.get(id);
    if (!entry) {
      entry = { key, group, organizationId: member.organizationId, members: new Set(), idleMs: effectiveGroupIdleMs(policy), timer: undefined, running: false, again: false, lastEpoch: '', lastOffset: 0, turn: 0 };
      this.#groups.set(id, entry);
      this.#groupsPerOrganization.set(member.organizationId, (this.#groupsPerOrganization.get(member.organizationId) ?? 0) + 1);
    } else {
      // The newest member's policy wins: a channel's settings changed since the group's first member.
      entry.idleMs = effectiveGroupIdleMs(policy);
    }
    entry.members.add(member);
    this.#schedule(entry);
  }

  /** A member closed; the last one here stops the group's pass on this node. */
  remove(member: QueueGroupMember): void {
    const id = groupId(member.address.key, member.address.group);
    const entry = this.#groups.get(id);
    if (!entry || !entry.members.delete(member)) return;
    if (entry.members.size > 0) return;
    clearTimeout(entry.timer);
    this.#groups.delete(id);
    const left = (this.#groupsPerOrganization.get(entry.organizationId) ?? 1) - 1;
    if (left > 0) this.#groupsPerOrganization.set(entry.organizationId, left);
    else this.#groupsPerOrganization.delete(entry.organizationId);
  }

  /**
   * A publication reached `member` (each member of the node is offered each one): the first
   * offer of it wakes the next member in turn that has room — one read per publication and
   * node, spread over the members, where waking all would let the first reader take everything.
   * When none has room all are woken, so each notes its full window and reads again on its acks.
   */
  offer(member: QueueGroupMember, offset: number, epoch: string): void {
    const entry = this.#groups.get(groupId(member.address.key, member.address.group));
    if (!entry) return member.wake();
    if (epoch === entry.lastEpoch && offset <= entry.lastOffset) return;
    entry.lastEpoch = epoch;
    entry.lastOffset = offset;
    this.#wakeNext(entry, undefined);
  }

  /** `member`'s window filled with entries perhaps still unread: another member with room reads on. */
  handOff(member: QueueGroupMember): void {
    const entry = this.#groups.get(groupId(member.address.key, member.address.group));
    if (entry) this.#wakeNext(entry, member, false);
  }

  #wakeNext(entry: GroupEntry, except: QueueGroupMember | undefined, allWhenFull = true): void {
    const members = [...entry.members];
    for (let i = 0; i < members.length; i++) {
      const candidate = members[(entry.turn + i) % members.length]!;
      if (candidate === except || candidate.room <= 0) continue;
      entry.turn = (entry.turn + i + 1) % members.length;
      candidate.wake();
      return;
    }
    if (allWhenFull) for (const m of members) m.wake();
  }

  /**
   * `member` left the group for good (its session unsubscribed, was revoked, or its stream
   * broke): it will not process `ids`, which it holds. Release them (claimable by anyone at once,
   * delivery counts kept), remove the member from the store's member list if it holds nothing
   * more (the store refuses otherwise, so nothing pending is dropped; a read that lands later
   * calls this again with its entries and the removal follows), then claim for this node's live
   * members now. Runs in the background: unsubscribe does not wait for the store. A failure is
   * logged and leaves the entries where they were: pending under the member, claimed after the
   * idle time as before this existed.
   */
  leave(member: QueueGroupMember, ids: readonly string[]): void {
    if (this.#closed) return;
    const { key, group, member: name } = member.address;
    const id = `${groupId(key, group)}\u0000${name}`;
    const step = async (): Promise<void> => {
      if (this.#closed) return;
      // The session is a member of the group on this node again (it subscribed anew; a late read
      // of the old membership landed after that): what the member name holds is that membership's
      // own, so releasing it would give it to a second holder. It is left pending under the member.
      const again = this.#groups.get(groupId(key, group))?.members;
      if (again && [...again].some((m) => m !== member && m.address.member === name)) return;
      for (let i = 0; i < ids.length; i += MAX_ENTRIES_PER_CALL) {
        const outcome = await this.#durable.release(key, group, name, ids.slice(i, i + MAX_ENTRIES_PER_CALL));
        this.stats.released += outcome.released;
        this.#reportGone(key, group, outcome.gone.map((g) => g.offset));
      }
      await this.#durable.removeMember(key, group, name);
      const entry = this.#groups.get(groupId(key, group));
      if (entry && ids.length > 0) this.#passNow(entry);
    };
    const next = (this.#leaving.get(id) ?? Promise.resolve())
      .then(step)
      .catch((error: unknown) => {
        if (error instanceof DurableGroupMissingError) return; // the log was lost: nothing left to give back
        this.#logger.warn({ err: error, channelKey: key, group }, "a leaving queue-group member's events were not released; they move after the idle time");
      })
      .finally(() => {
        if (this.#leaving.get(id) === next) this.#leaving.delete(id);
      });
    this.#leaving.set(id, next);
  }

  /**
   * Resolves when the release steps of `member` leaving the group have run. A new membership of
   * the same session (the member name is the session id) joins after them: its first read takes
   * the member's pending entries, and a release still to come would give those away under it
   * too — two holders of one entry, which the idle time otherwise rules out.
   */
  async left(key: string, group: string, member: string): Promise<void> {
    await this.#leaving.get(`${groupId(key, group)}\u0000${member}`);
  }

  /** Resolves when every `leave` started so far has finished (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.#leaving.size > 0) await Promise.all(this.#leaving.values());
  }

  close(): void {
    this.#closed = true;
    for (const entry of this.#groups.values()) clearTimeout(entry.timer);
    this.#groups.clear();
    this.#groupsPerOrganization.clear();
  }

  #schedule(entry: GroupEntry): void {
    if (this.#closed || entry.timer !== undefined || entry.running) return;
    const interval = Math.max(MIN_PASS_INTERVAL_MS, Math.floor(entry.idleMs / PASSES_PER_IDLE_TIME));
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      this.#run(entry);
    }, interval);
    // The pass never keeps a process alive on its own (shutdown closes the subscriptions).
    entry.timer.unref();
  }

  /** A pass now instead of at the timer (the timer restarts after it); one more after a running one. */
  #passNow(entry: GroupEntry): void {
    if (this.#closed) return;
    if (entry.running) {
      entry.again = true;
      return;
    }
    clearTimeout(entry.timer);
    entry.timer = undefined;
    this.#run(entry);
  }

  #run(entry: GroupEntry): void {
    entry.running = true;
    void this.#pass(entry).finally(() => {
      entry.running = false;
      if (this.#groups.get(groupId(entry.key, entry.group)) !== entry) return;
      if (entry.again && !this.#closed) {
        entry.again = false;
        this.#run(entry);
      } else this.#schedule(entry);
    });
  }

  #reportGone(key: string, group: string, offsets: ReadonlyArray<number | undefined>): void {
    if (offsets.length === 0) return;
    this.stats.gone += offsets.length;
    this.#logger.warn(
      { channelKey: key, group, gone: offsets.length, offsets },
      "a queue-group member's unacked events were trimmed from the log before anyone acked them (retention shorter than the idle time)",
    );
  }

  /** Claims idle entries for the members with the most room first, until a claim comes back short. */
  async #pass(entry: GroupEntry): Promise<void> {
    this.stats.passes += 1;
    const members = [...entry.members].filter((m) => m.room > 0).sort((a, b) => b.room - a.room);
    for (const member of members) {
      const count = Math.min(member.room, MAX_ENTRIES_PER_CALL);
      if (count <= 0) continue;
      let outcome: ReadOutcome;
      try {
        outcome = await this.#durable.claim(entry.key, entry.group, member.address.member, { minIdleMs: entry.idleMs, count });
      } catch (error) {
        // A lost log: the members find out on their next read and break (recovered: false).
        if (!(error instanceof DurableGroupMissingError)) {
          this.#logger.warn({ err: error, channelKey: entry.key, group: entry.group }, 'queue group claim failed; the next pass tries again');
        }
        return;
      }
      this.stats.claimed += outcome.entries.length;
      this.#reportGone(entry.key, entry.group, outcome.gone.map((g) => g.offset));
      if (outcome.entries.length > 0) {
        this.#logger.info({ channelKey: entry.key, group: entry.group, member: member.address.member, claimed: outcome.entries.length }, 'idle queue-group events claimed for a live member');
      }
      // Handed to the member even if it closed meanwhile: then they stay pending under it and come back next pass.
      member.adopt({ entries: outcome.entries, gone: [] });
      if (outcome.entries.length + outcome.gone.length < count) return;
    }
  }
}

function groupId(key: string, group: string): string {
  return `${key}\u0000${group}`;
}
