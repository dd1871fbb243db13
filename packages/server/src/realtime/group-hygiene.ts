import { DurableGroupMissingError, MAX_ENTRIES_PER_CALL, RELEASED_HOLDER, type DurableConsumers } from '../engine/durable-consumers.js';
import type { SessionStore } from '../engine/session-store.js';
import type { Logger } from '../logging/logger.js';
import { monotonicNow } from '../support/monotonic-clock.js';

/** The prefix of a session's acknowledged group (`acknowledgedGroupName`): `a:<sessionId>`. */
const ACKNOWLEDGED_PREFIX = 'a:';
/** The prefix of a queue group (`queueGroupName`): `q:<name>`, whose members are session ids. */
const QUEUE_PREFIX = 'q:';
/** Sessions looked up per pass at most (one EXISTS each): a page of big queue groups stays bounded. */
const MAX_SESSIONS_PER_PASS = 1_000;

export interface GroupHygieneSettings {
  /** At most one pass per channel and node in this long (GROUP_HYGIENE_INTERVAL_MS). */
  readonly intervalMs: number;
  /**
   * The session TTL: a group is removed only once its member has not read for longer than this.
   * A session whose hash is gone is expired or evicted, and one that read within the TTL may be
   * too new to have been written yet (the session keeper writes on its flush tick).
   */
  readonly sessionTtlMs: number;
  /** Groups inspected per pass (each costs one XINFO CONSUMERS, and one EXISTS per idle session in it). */
  readonly pageSize?: number;
  /** Monotonic ms; injectable for tests. */
  readonly now?: () => number;
}

export interface GroupHygieneStats {
  passes: number;
  /** Groups looked at. */
  inspected: number;
  /** Acknowledged groups removed. */
  removed: number;
  /** Queue-group members removed from their group's member list. */
  membersRemoved: number;
}

const DEFAULT_PAGE_SIZE = 100;
/** Channels whose last pass is remembered; past it the oldest are forgotten (a pass may then run early). */
const MAX_REMEMBERED_CHANNELS = 10_000;

interface ChannelMark {
  /** Monotonic ms of the channel's last pass on this node. */
  readonly at: number;
  /** The last group name that pass inspected, when it filled its page: the next pass goes on from there. */
  readonly after: string | undefined;
}

/**
 * Removes the acknowledged groups (`a:<sessionId>`) of sessions that will never come back, and
 * those sessions' names from queue groups' member lists (ADR 0048). ADR 0046 keeps a session's group past its connection so a resume finds its pending
 * events; a session that expires instead leaves the group on the channel's stream for as long as
 * the log lives.
 *
 * The work follows what changed, never a sweep over all channels or groups: when this node joins
 * a group on a channel (`joined`), and at most once per channel per `intervalMs`, one pass lists
 * a page of that channel's groups and removes each `a:` group whose session is gone from the
 * session store *and* whose member has been idle longer than the session TTL (and such members
 * of `q:` groups, when they hold nothing). Pages continue where the
 * previous pass on the channel stopped, so live groups at the front never hide dead ones behind
 * them.
 *
 * Invariants:
 * - a group is removed only when both hold: its session cannot be resumed (`liveSessions` does
 *   not list it: a claim would answer `missing`, and a new connection gets a new session id) and
 *   nobody read from it for longer than the session TTL (so a session not written yet, or a
 *   store that answered wrongly for a moment, never loses a group in use);
 * - at most `pageSize` groups inspected per pass, at most one pass per channel and node per
 *   interval, at most one pass running per channel;
 * - queue groups (`q:`) are never removed (they belong to no session); a member of one leaves
 *   its member list when its session is gone, it was idle past the TTL and it holds nothing
 *   (`removeMember` checks that atomically), and the released holder whenever it holds nothing;
 * - failures are logged and change nothing; the next join after the interval tries again.
 */
export class GroupHygiene {
  readonly #durable: DurableConsumers;
  readonly #sessions: SessionStore;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #ttlMs: number;
  readonly #pageSize: number;
  readonly #now: () => number;
  /** Insertion-ordered by pass time (re-inserted on each pass): the first entries are the oldest. */
  readonly #marks = new Map<string, ChannelMark>();
  readonly #running = new Map<string, Promise<void>>();
  #closed = false;
  readonly stats: GroupHygieneStats = { passes: 0, inspected: 0, removed: 0, membersRemoved: 0 };

  constructor(durable: DurableConsumers, sessions: SessionStore, settings: GroupHygieneSettings, logger: Logger) {
    this.#durable = durable;
    this.#sessions = sessions;
    this.#logger = logger;
    this.#intervalMs = settings.intervalMs;
    this.#ttlMs = settings.sessionTtlMs;
    this.#pageSize = Math.min(settings.pageSize ?? DEFAULT_PAGE_SIZE, MAX_ENTRIES_PER_CALL);
    this.#now = settings.now ?? monotonicNow;
  }

  /** This node joined a group on the channel: a pass over the channel's session groups, if one is due. Never waits. */
  joined(channelKey: string): void {
    if (this.#closed || this.#running.has(channelKey)) return;
    const now = this.#now();
    const mark = this.#marks.get(channelKey);
    if (mark && now - mark.at < this.#intervalMs) return;
    // Marked before the pass: the joins that follow within the interval cost a map lookup.
    this.#marks.delete(channelKey);
    this.#forgetOld();
    this.#marks.set(channelKey, { at: now, after: mark?.after });
    const pass = this.#pass(channelKey, mark?.after)
      .catch((error: unknown) => {
        if (error instanceof DurableGroupMissingError) return;
        this.#logger.warn({ err: error, channelKey }, 'acknowledged groups of expired sessions not inspected; the next join after the interval tries again');
      })
      .finally(() => this.#running.delete(channelKey));
    this.#running.set(channelKey, pass);
  }

  /** Resolves when the passes started so far have finished (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running.values());
  }

  close(): void {
    this.#closed = true;
  }

  async #pass(channelKey: string, after: string | undefined): Promise<void> {
    this.stats.passes += 1;
    const page = await this.#durable.listGroups(channelKey, { prefix: '', limit: this.#pageSize, ...(after !== undefined ? { after } : {}) });
    // A full page: the next pass goes on after it; a short one reached the end: start over next time.
    const next = page.length >= this.#pageSize ? page.at(-1)!.group : undefined;
    const mark = this.#marks.get(channelKey);
    if (mark) this.#marks.set(channelKey, { at: mark.at, after: next });
    this.stats.inspected += page.length;

    // Candidates: idle past the TTL. An acknowledged group goes whole with its session; a queue
    // group's member only leaves the member list, and only while it holds nothing (removeMember
    // refuses otherwise: its entries are claimed by the idle-claim pass first). The released
    // holder is nobody's session: it goes whenever it holds nothing (the next release adds it again).
    const groups = page.filter((g) => g.group.startsWith(ACKNOWLEDGED_PREFIX) && g.group.length > ACKNOWLEDGED_PREFIX.length && g.idleMs > this.#ttlMs);
    const members = page
      .filter((g) => g.group.startsWith(QUEUE_PREFIX))
      .flatMap((g) => g.members.filter((m) => m.pending === 0 && m.idleMs > this.#ttlMs).map((m) => ({ group: g.group, member: m.member })));
    const sessionIds = [...new Set([...groups.map((g) => g.group.slice(ACKNOWLEDGED_PREFIX.length)), ...members.map((m) => m.member).filter((m) => m !== RELEASED_HOLDER)])].slice(
      0,
      MAX_SESSIONS_PER_PASS,
    );
    if ((groups.length === 0 && members.length === 0) || this.#closed) return;
    const asked = new Set(sessionIds);
    const live = sessionIds.length > 0 ? await this.#sessions.liveSessions(sessionIds) : new Set<string>();
    // Gone: looked up (past the per-pass bound, a later pass decides) and not live.
    const gone = (sessionId: string) => asked.has(sessionId) && !live.has(sessionId);
    for (const { group } of groups) {
      if (this.#closed) return;
      if (!gone(group.slice(ACKNOWLEDGED_PREFIX.length))) continue;
      if (await this.#durable.removeGroup(channelKey, group)) {
        this.stats.removed += 1;
        this.#logger.info({ channelKey, group }, 'removed the acknowledged group of a session that expired without coming back');
      }
    }
    for (const { group, member } of members) {
      if (this.#closed) return;
      if (member !== RELEASED_HOLDER && !gone(member)) continue;
      if (await this.#durable.removeMember(channelKey, group, member)) this.stats.membersRemoved += 1;
    }
  }

  /**
   * Bounds the memory: past MAX_REMEMBERED_CHANNELS the channels passed over longest ago are
   * forgotten (the map is ordered by pass time). A forgotten channel's next pass may come early
   * and starts its pages from the front again; marks are otherwise kept, cursor included, so a
   * channel joined less often than the interval still pages on.
   */
  #forgetOld(): void {
    for (const key of this.#marks.keys()) {
      if (this.#marks.size < MAX_REMEMBERED_CHANNELS) break;
      this.#marks.delete(key);
    }
  }
}
