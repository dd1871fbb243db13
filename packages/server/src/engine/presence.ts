/** Who is present on a channel: one entry per client (connection), several per user possible. */
export interface PresenceMember {
  readonly clientId: string;
  readonly userId: string;
  /** Small, public data the client chose to show (name, avatar…), sent to other members as is. */
  readonly info?: Readonly<Record<string, unknown>>;
}

export interface PresenceStats {
  /** Members (clients) present. */
  readonly clients: number;
  /** Distinct users among them. */
  readonly users: number;
}

/**
 * Presence, as small as centrifuge's: four methods. Channel keys come from
 * `channelKey(organisation, channel)`.
 *
 * Invariant every implementation keeps (the presence contract tests check it): a member that
 * is neither removed nor added again within the manager's member TTL is gone — so a node that
 * dies leaves no ghost members for longer than that. Nodes refresh their live members by
 * calling `add` again well within the TTL.
 */
export interface PresenceManager {
  /** Adds the member, or refreshes it (and replaces its info) if present. */
  add(channelKey: string, member: PresenceMember): Promise<void>;
  remove(channelKey: string, clientId: string): Promise<void>;
  /** Current members, in no particular order. */
  list(channelKey: string): Promise<PresenceMember[]>;
  stats(channelKey: string): Promise<PresenceStats>;
}

/** Shutdown, apart from the four methods (like centrifuge's Closer). */
export interface PresenceCloser {
  close(): Promise<void>;
}

export const DEFAULT_PRESENCE_TTL_MS = 60_000;

export function statsOf(members: readonly PresenceMember[]): PresenceStats {
  return { clients: members.length, users: new Set(members.map((m) => m.userId)).size };
}
