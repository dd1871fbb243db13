import { channelNameSchema } from '@apix/protocol';
import { Controller, Get, Inject, Param, UseGuards } from '@nestjs/common';
import type { PresenceQuery, PresenceResult } from '../engine/presence-query.js';
import type { Principal } from '../identity/principal.js';
import { PRESENCE_QUERY } from './injection-tokens.js';
import { parseInput } from './parse-input.js';
import { CurrentPrincipal, PrincipalGuard } from './principal-guard.js';

/** Who is present on a channel (rooms): members and counts, cluster-wide with the Redis engine. */
@Controller('api/v1/channels')
@UseGuards(PrincipalGuard)
export class PresenceController {
  constructor(@Inject(PRESENCE_QUERY) private readonly presence: PresenceQuery) {}

  @Get(':channel/presence')
  async read(@CurrentPrincipal() principal: Principal, @Param('channel') channel: string): Promise<PresenceResult> {
    return this.presence.read(principal, parseInput(channelNameSchema, channel, 'CHANNEL_INVALID'));
  }
}
