import { ApiXError, parseChannelName, type ChannelName, type createChannelBodySchema, type listChannelsQuerySchema, type updateChannelBodySchema } from '@apix/protocol';
import type { z } from 'zod';
import { AuditAction } from '../audit/audit-actions.js';
import { decideAccess } from '../channels/channel-authorizer.js';
import { toChannelSettings } from '../channels/channel-settings.js';
import type { Principal } from '../identity/principal.js';
import type { ChannelSettings } from '../storage/channel-repository.js';
import { pageSize } from '../storage/pagination.js';
import type { ChannelRow } from '../storage/schema.js';
import type { Standing } from './admin-access.js';
import { splitPage, withLookahead, type AdminDeps } from './admin-deps.js';
import { channelView, type ChannelView, type Page } from './views.js';

type CreateChannelBody = z.infer<typeof createChannelBodySchema>;
type UpdateChannelBody = z.infer<typeof updateChannelBodySchema>;
type ListChannelsQuery = z.infer<typeof listChannelsQuerySchema>;

/**
 * Channel configuration of the principal's own organisation (the organisation comes from
 * the credential only, so another tenant's channel cannot even be named: the same name
 * there is another channel). Admins see and change every configured channel; members see
 * the channels they may subscribe to, and a channel they may not see answers 404 exactly
 * like one that is not configured.
 *
 * Deleting a configuration returns the channel to the default policy (docs/permissions.md),
 * which may admit more principals than its stored lists did.
 */
export class ChannelAdminService {
  readonly #deps: AdminDeps;

  constructor(deps: AdminDeps) {
    this.#deps = deps;
  }

  async list(principal: Principal, query: ListChannelsQuery): Promise<Page<ChannelView>> {
    const { ctx, access } = this.#deps;
    const standing = await access.standing(principal, 'channel.list');
    const limit = pageSize(query.limit);
    const read = await ctx.repositories.channels.list(principal.organizationId, {
      limit: withLookahead(limit),
      ...(query.type !== undefined ? { type: query.type } : {}),
      ...(query.cursor !== undefined ? { afterName: query.cursor } : {}),
    });
    // The cursor follows the stored rows, not the visible ones, so filtering never ends the
    // list early (a page may hold fewer items than `limit`).
    const { rows, nextCursor } = splitPage(read, limit, (r) => r.name);
    return { items: rows.filter((row) => mayView(principal, standing, row)).map(channelView), nextCursor };
  }

  async get(principal: Principal, channel: ChannelName): Promise<ChannelView> {
    const standing = await this.#deps.access.standing(principal, 'channel.read');
    const row = await this.#deps.ctx.repositories.channels.findByName(principal.organizationId, channel);
    if (row === undefined || !mayView(principal, standing, row)) throw notFoundChannel();
    return channelView(row);
  }

  async create(principal: Principal, body: CreateChannelBody): Promise<ChannelView> {
    const { ctx, access, trail } = this.#deps;
    await access.requireAdmin(principal, 'channel.create');
    const organizationId = principal.organizationId;
    const { name, ...settings } = body;
    const change = { action: AuditAction.ADMIN_CHANNEL_CREATED, organizationId, channel: name, details: { settings } };
    const row = await trail.change(principal, change, () => ctx.repositories.channels.create(organizationId, name, storedSettings(settings)));
    await ctx.accessChanged({ kind: 'channel', organizationId, channel: name });
    return channelView(row);
  }

  async update(principal: Principal, channel: ChannelName, body: UpdateChannelBody): Promise<ChannelView> {
    const { ctx, access, trail } = this.#deps;
    await access.requireAdmin(principal, 'channel.update');
    const organizationId = principal.organizationId;
    const before = await ctx.repositories.channels.findByName(organizationId, channel);
    if (before === undefined) throw notFoundChannel();
    const change = { action: AuditAction.ADMIN_CHANNEL_UPDATED, organizationId, channel, details: { from: changedFields(channelView(before), body), to: body } };
    const row = await trail.change(principal, change, async () => {
      const updated = await ctx.repositories.channels.updateSettings(organizationId, channel, storedSettings(body));
      if (updated === undefined) throw notFoundChannel();
      return updated;
    });
    await ctx.accessChanged({ kind: 'channel', organizationId, channel });
    return channelView(row);
  }

  async delete(principal: Principal, channel: ChannelName): Promise<void> {
    const { ctx, access, trail } = this.#deps;
    await access.requireAdmin(principal, 'channel.delete');
    const organizationId = principal.organizationId;
    const before = await ctx.repositories.channels.findByName(organizationId, channel);
    if (before === undefined) throw notFoundChannel();
    const change = { action: AuditAction.ADMIN_CHANNEL_DELETED, organizationId, channel, details: { settings: channelView(before) } };
    await trail.change(principal, change, async () => {
      if (!(await ctx.repositories.channels.delete(organizationId, channel))) throw notFoundChannel();
    });
    await ctx.accessChanged({ kind: 'channel', organizationId, channel });
  }
}

function notFoundChannel(): ApiXError {
  return new ApiXError('NOT_FOUND', 'channel not found');
}

/** Admins see every configured channel; others those the permission model lets them subscribe to. */
function mayView(principal: Principal, standing: Standing, row: ChannelRow): boolean {
  if (standing.isAdmin) return true;
  const parsed = parseChannelName(row.name);
  if (typeof parsed === 'string') return false;
  return decideAccess(principal, standing.roles, parsed, 'subscribe', toChannelSettings(row).permissions);
}

/** The body's settings in the repository's shape; fields left out keep their stored value. */
function storedSettings(body: UpdateChannelBody): ChannelSettings {
  const { permissions, ...rest } = body;
  return { ...rest, ...(permissions !== undefined ? { permissions: { ...permissions } } : {}) };
}

/** The previous values of the fields a change touches (for the audit row). */
function changedFields(before: ChannelView, body: UpdateChannelBody): Record<string, unknown> {
  return Object.fromEntries(Object.keys(body).map((key) => [key, before[key as keyof ChannelView]]));
}
