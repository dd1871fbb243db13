/**
 * What changed in the permission inputs the data plane caches (memberships, roles, API keys,
 * channel rows, organisations, users). Every node drops exactly the cache entries a message
 * names and re-checks only the connections it concerns, so a change costs O(what changed).
 */
export type AccessChange =
  | { readonly kind: 'membership'; readonly organizationId: string; readonly userId: string }
  | { readonly kind: 'api-key'; readonly organizationId: string; readonly apiKeyId: string }
  | { readonly kind: 'channel'; readonly organizationId: string; readonly channel: string }
  | { readonly kind: 'organization'; readonly organizationId: string }
  | { readonly kind: 'user'; readonly userId: string };

export type ControlMessage =
  | { readonly type: 'access-changed'; readonly change: AccessChange; readonly origin: string }
  /**
   * A platform admin changed the organisation's quota overrides (stored in the database):
   * every node re-reads that one organisation's row. Not an AccessChange: no connection's
   * permissions change, so nothing is re-checked; the new limits apply to the next admission.
   */
  | { readonly type: 'quotas-changed'; readonly organizationId: string; readonly origin: string }
  /**
   * The bus may have lost messages (a node's link to Redis dropped and came back): every
   * cached permission input is suspect, so each node reloads what it holds.
   */
  | { readonly type: 'resync'; readonly origin: string }
  /**
   * A connection closed holding unacked events of an acknowledged group (`a:<session>`): the
   * node where that session lives now re-reads the group's pending list (ADR 0046).
   */
  | { readonly type: 'acknowledged-released'; readonly key: string; readonly group: string; readonly origin: string }
  /**
   * A connection resumed (claimed) a session: a node holding another connection of that session
   * checks with the session store and closes it 4503 if it lost the session (ADR 0046).
   */
  | { readonly type: 'session-claimed'; readonly sessionId: string; readonly connectionId: string; readonly origin: string };

export type ControlMessageHandler = (message: ControlMessage) => void;

/**
 * The engine's control channel: how one node tells every node (itself included) that
 * something the data plane caches has changed. Delivery is best effort and in order per
 * sender; an implementation that may have dropped messages delivers `resync` to its own node
 * as soon as it knows. Implementations: in-process (`LocalControlBus`, one node) and Redis
 * Pub/Sub (a cluster).
 */
export interface ControlBus {
  /** Starts delivering every node's messages (this node's included) to `handler`. Called once. */
  start(handler: ControlMessageHandler): Promise<void>;
  publish(message: ControlMessage): Promise<void>;
  close(): Promise<void>;
}

/** One node: messages go straight back to this node's handler, after the current task. */
export class LocalControlBus implements ControlBus {
  #handler: ControlMessageHandler | undefined;

  async start(handler: ControlMessageHandler): Promise<void> {
    this.#handler = handler;
  }

  async publish(message: ControlMessage): Promise<void> {
    const handler = this.#handler;
    if (handler) queueMicrotask(() => handler(message));
  }

  async close(): Promise<void> {
    this.#handler = undefined;
  }
}
