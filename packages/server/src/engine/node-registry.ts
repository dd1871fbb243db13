import { type PresenceCloser, type PresenceManager } from './presence.js';

/** What each node says about itself in the registry (status page, start-up banner). */
export interface NodeInfo {
  readonly nodeId: string;
  readonly version: string;
  readonly engine: string;
  readonly storage: string;
  /** Wall time, for display only. */
  readonly startedAt: number;
  readonly connections: number;
}

/** How often a node renews its entry; an entry not renewed for three periods is gone. */
export const NODE_HEARTBEAT_INTERVAL_MS = 5_000;
export const NODE_TTL_MS = 3 * NODE_HEARTBEAT_INTERVAL_MS;
/** The registry's own key, outside every channel key (channel keys always hold `org/`). */
export const NODE_REGISTRY_KEY = 'nodes';

/**
 * The live nodes of a cluster: each node renews an entry with a TTL (a presence member of a
 * registry key), so a node that dies drops out within NODE_TTL_MS without anyone removing it.
 * One node (memory engine) lists only itself. Work per heartbeat is one entry per node.
 */
export class NodeRegistry {
  readonly #presence: PresenceManager & PresenceCloser;
  readonly #self: () => NodeInfo;
  readonly #onError: (error: unknown) => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(presence: PresenceManager & PresenceCloser, self: () => NodeInfo, onError: (error: unknown) => void = () => undefined) {
    this.#presence = presence;
    this.#self = self;
    this.#onError = onError;
  }

  /** Registers this node now and renews its entry until `close`. */
  async start(intervalMs = NODE_HEARTBEAT_INTERVAL_MS): Promise<void> {
    if (this.#timer) return;
    await this.#beat();
    this.#timer = setInterval(() => void this.#beat().catch(this.#onError), intervalMs);
    this.#timer.unref();
  }

  /** Renews this node's entry now (its counts show at once instead of at the next heartbeat). */
  refresh(): Promise<void> {
    return this.#beat();
  }

  async list(): Promise<NodeInfo[]> {
    const members = await this.#presence.list(NODE_REGISTRY_KEY);
    return members.map((m) => m.info as unknown as NodeInfo).sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  }

  /** Leaves the registry at once (a graceful shutdown) and closes its store. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#presence.remove(NODE_REGISTRY_KEY, this.#self().nodeId).catch(this.#onError);
    await this.#presence.close();
  }

  async #beat(): Promise<void> {
    const self = this.#self();
    await this.#presence.add(NODE_REGISTRY_KEY, { clientId: self.nodeId, userId: self.nodeId, info: { ...self } });
  }
}

