import { channelNameSchema, createChannelBodySchema, listChannelsQuerySchema, updateChannelBodySchema, type ChannelName } from '@apix/protocol';
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import type { z } from 'zod';
import { adminServicesFor, type AdminServices } from '../admin/admin-services.js';
import type { Principal } from '../identity/principal.js';
import type { ControlPlaneContext } from './control-plane-context.js';
import { CONTROL_PLANE } from './injection-tokens.js';
import { parseInput } from './parse-input.js';
import { CurrentPrincipal, PrincipalGuard } from './principal-guard.js';

/**
 * Channel configuration of the caller's organisation: `GET/POST /api/v1/channels`,
 * `GET/PATCH/DELETE /api/v1/channels/:channel`. Publishing and history stay in
 * channels.controller.ts (`/:channel/events`, `/:channel/history`); the paths do not overlap
 * because a channel name never contains "/".
 */
@Controller('api/v1/channels')
@UseGuards(PrincipalGuard)
export class ChannelAdminController {
  readonly #admin: AdminServices;

  constructor(@Inject(CONTROL_PLANE) ctx: ControlPlaneContext) {
    this.#admin = adminServicesFor(ctx);
  }

  @Get()
  list(@CurrentPrincipal() principal: Principal, @Query() query: unknown) {
    return this.#admin.channels.list(principal, parseInput(listChannelsQuerySchema, query));
  }

  @Post()
  @HttpCode(201)
  create(@CurrentPrincipal() principal: Principal, @Body() body: unknown) {
    return this.#admin.channels.create(principal, parseCreateChannelBody(body));
  }

  @Get(':channel')
  get(@CurrentPrincipal() principal: Principal, @Param('channel') channel: string) {
    return this.#admin.channels.get(principal, channelParam(channel));
  }

  @Patch(':channel')
  update(@CurrentPrincipal() principal: Principal, @Param('channel') channel: string, @Body() body: unknown) {
    return this.#admin.channels.update(principal, channelParam(channel), parseInput(updateChannelBodySchema, body));
  }

  @Delete(':channel')
  @HttpCode(204)
  async delete(@CurrentPrincipal() principal: Principal, @Param('channel') channel: string): Promise<void> {
    await this.#admin.channels.delete(principal, channelParam(channel));
  }
}

function channelParam(channel: string): ChannelName {
  return parseInput(channelNameSchema, channel, 'CHANNEL_INVALID');
}

/** A malformed name is APIX_ERR_CHANNEL_INVALID, as everywhere else; other mistakes APIX_ERR_INVALID_REQUEST. */
function parseCreateChannelBody(body: unknown): z.infer<typeof createChannelBodySchema> {
  const name: unknown = typeof body === 'object' && body !== null ? (body as { name?: unknown }).name : undefined;
  if (name !== undefined) parseInput(channelNameSchema, name, 'CHANNEL_INVALID');
  return parseInput(createChannelBodySchema, body);
}
