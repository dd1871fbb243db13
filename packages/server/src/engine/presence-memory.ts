import { DEFAULT_PRESENCE_TTL_MS, statsOf, type PresenceCloser, type PresenceManager, type PresenceMember, type PresenceStats } from './presence.js';

interface Entry {
  readonly member: PresenceMember;
  readonly expiresAt: number;
}

export interface MemoryPresenceOptions {
  readonly memberTtlMs?: number;
  /** Monotonic milliseconds (tests may pass their own). */
  readonly now?: () => number;
}

/**
 * Presence in this process (the embedded engine). Each channel's members are kept in refresh
 * order (a refresh moves the member to the end), so expired members are always at the front
 * and are dropped from there on every call touching the channel: amortised O(1), no sweep.
 */
export class MemoryPresenceManager implements PresenceManager, PresenceCloser {
  readonly #channels = new Map<string, Map<string, Entry>>();
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: MemoryPresenceOptions = {}) {
    this.#ttlMs = options.memberTtlMs ?? DEFAULT_PRESENCE_TTL_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  async add(channelKey: string, member: PresenceMember): Promise<void> {
    let members = this.#channels.get(channelKey);
    if (!members) {
      members = new Map();
      this.#channels.set(channelKey, members);
    }
    members.delete(member.clientId);
    members.set(member.clientId, { member: { ...member }, expiresAt: this.#now() + this.#ttlMs });
    this.#expire(channelKey);
  }

  async remove(channelKey: string, clientId: string): Promise<void> {
    this.#channels.get(channelKey)?.delete(clientId);
    this.#expire(channelKey);
  }

  async list(channelKey: string): Promise<PresenceMember[]> {
    this.#expire(channelKey);
    return [...(this.#channels.get(channelKey)?.values() ?? [])].map((e) => e.member);
  }

  async stats(channelKey: string): Promise<PresenceStats> {
    return statsOf(await this.list(channelKey));
  }

  async close(): Promise<void> {
    this.#channels.clear();
  }

  /** Channels held (for tests: empty channels are forgotten). */
  get channelCount(): number {
    return this.#channels.size;
  }

  #expire(channelKey: string): void {
    const members = this.#channels.get(channelKey);
    if (!members) return;
    const now = this.#now();
    for (const [clientId, entry] of members) {
      if (entry.expiresAt > now) break;
      members.delete(clientId);
    }
    if (members.size === 0) this.#channels.delete(channelKey);
  }
}
