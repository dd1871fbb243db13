import { ApiXError, CloseCodes } from '@apix/protocol';
import type { AccessDirectory } from '../identity/access-directory.js';
import type { Logger } from '../logging/logger.js';
import type { ConnectionManager } from './connection-manager.js';
import type { SubscriptionManager } from './subscription-manager.js';

/**
 * Makes permission and membership changes reach open connections: every `intervalMs` (and at
 * once, for one organisation, after an admin change on this node) each connection's
 * principal is looked up again and each subscription re-authorised. A principal that lost
 * access is disconnected (revoked API key: 4500; removed member: 4501); a subscription its
 * roles no longer allow is removed with `subscription.removed` (reason `revoked`).
 */
export class AccessRevalidator {
  readonly #connections: ConnectionManager;
  readonly #directory: AccessDirectory;
  readonly #subscriptions: SubscriptionManager;
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;
  #sweeping: Promise<void> | undefined;

  constructor(connections: ConnectionManager, directory: AccessDirectory, subscriptions: SubscriptionManager, intervalMs: number, logger: Logger) {
    this.#connections = connections;
    this.#directory = directory;
    this.#subscriptions = subscriptions;
    this.#logger = logger;
    this.#timer = setInterval(() => {
      this.#sweeping ??= this.revalidate().finally(() => (this.#sweeping = undefined));
    }, intervalMs);
    this.#timer.unref();
  }

  /** Re-checks every connection, or only those of one organisation. */
  async revalidate(organizationId?: string): Promise<void> {
    const targets = [...this.#connections.values()].filter(
      (c) => c.principal && !c.closed && (organizationId === undefined || c.principal.organizationId === organizationId),
    );
    await Promise.all(
      targets.map(async (connection) => {
        try {
          const roles = await this.#directory.effectiveRoles(connection.principal!);
          if (connection.closed) return;
          if (roles === null) {
            const revoked = new ApiXError('CHANNEL_FORBIDDEN', 'access to the organisation was revoked');
            for (const channel of [...connection.subscriptions.keys()]) this.#subscriptions.revoke(connection, channel, revoked);
            const apiKey = connection.principal!.kind === 'api_key';
            connection.close(apiKey ? CloseCodes.UNAUTHORIZED : CloseCodes.FORBIDDEN, apiKey ? 'API key revoked' : 'membership revoked');
            return;
          }
          await this.#subscriptions.reauthorize(connection);
        } catch (error) {
          this.#logger.error({ err: error, connectionId: connection.id }, 'revalidation failed; will retry next round');
        }
      }),
    );
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
