import { ApiXError, type listConnectionsQuerySchema } from '@apix/protocol';
import type { z } from 'zod';
import type { Principal } from '../identity/principal.js';
import { pageSize } from '../storage/pagination.js';
import { splitPage, withLookahead, type AdminDeps } from './admin-deps.js';
import { connectionView, type ConnectionView, type Page } from './views.js';

type ListConnectionsQuery = z.infer<typeof listConnectionsQuerySchema>;

/**
 * Connections of the principal's organisation, as tracked in storage (every node's, not
 * only this one's). Admins see all of them; anyone else only their own: asking for another
 * user's is refused rather than silently narrowed, so a client never misreads an empty page.
 */
export class ConnectionListing {
  readonly #deps: AdminDeps;

  constructor(deps: AdminDeps) {
    this.#deps = deps;
  }

  async list(principal: Principal, query: ListConnectionsQuery): Promise<Page<ConnectionView>> {
    const standing = await this.#deps.access.standing(principal, 'connection.list');
    if (!standing.isAdmin && query.userId !== undefined && query.userId !== principal.userId) {
      throw new ApiXError('FORBIDDEN', "only admins see other users' connections");
    }
    const userId = standing.isAdmin ? query.userId : principal.userId;
    const limit = pageSize(query.limit);
    const rows = await this.#deps.ctx.repositories.connections.list(principal.organizationId, {
      limit: withLookahead(limit),
      ...(query.status !== undefined ? { status: query.status } : {}),
      ...(query.clientType !== undefined ? { clientType: query.clientType } : {}),
      ...(userId !== undefined ? { userId } : {}),
      ...(query.cursor !== undefined ? { afterSessionId: query.cursor } : {}),
    });
    const page = splitPage(rows, limit, (row) => row.sessionId);
    return { items: page.rows.map(connectionView), nextCursor: page.nextCursor };
  }
}
