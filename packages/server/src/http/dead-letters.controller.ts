import { channelNameSchema, deadLetterIdSchema, httpDeadLettersQuerySchema, type DeadLetterPageView } from '@apix/protocol';
import { Controller, Get, HttpCode, Inject, Param, Post, Query, UseGuards } from '@nestjs/common';
import type { DeadLetters } from '../channels/dead-letters.js';
import type { Principal } from '../identity/principal.js';
import { DEAD_LETTERS } from './injection-tokens.js';
import { parseInput } from './parse-input.js';
import { CurrentPrincipal, PrincipalGuard } from './principal-guard.js';

/** A channel's dead letters (acknowledged delivery): list, and redeliver one. */
@Controller('api/v1/channels')
@UseGuards(PrincipalGuard)
export class DeadLettersController {
  constructor(@Inject(DEAD_LETTERS) private readonly deadLetters: DeadLetters) {}

  @Get(':channel/dead-letters')
  async list(@CurrentPrincipal() principal: Principal, @Param('channel') channel: string, @Query() query: unknown): Promise<DeadLetterPageView> {
    const name = parseInput(channelNameSchema, channel, 'CHANNEL_INVALID');
    const q = parseInput(httpDeadLettersQuerySchema, query);
    return this.deadLetters.list(principal, name, { ...(q.after !== undefined ? { after: q.after } : {}), ...(q.limit !== undefined ? { limit: q.limit } : {}) });
  }

  @Post(':channel/dead-letters/:id/redeliver')
  @HttpCode(200)
  async redeliver(@CurrentPrincipal() principal: Principal, @Param('channel') channel: string, @Param('id') id: string) {
    const name = parseInput(channelNameSchema, channel, 'CHANNEL_INVALID');
    return this.deadLetters.redeliver(principal, name, parseInput(deadLetterIdSchema, id, 'NOT_FOUND'));
  }
}
