import { channelNameSchema, httpHistoryQuerySchema, httpPublishBodySchema, type HistoryResult, type PublishResult } from '@apix/protocol';
import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, UseGuards } from '@nestjs/common';
import type { EventPublisher } from '../channels/event-publisher.js';
import type { HistoryReader } from '../channels/history-reader.js';
import type { Principal } from '../identity/principal.js';
import { HISTORY_READER, PUBLISHER } from './injection-tokens.js';
import { parseInput } from './parse-input.js';
import { CurrentPrincipal, PrincipalGuard } from './principal-guard.js';

/** Publish and history over HTTP: the same publisher and history reader as the WebSocket frames. */
@Controller('api/v1/channels')
@UseGuards(PrincipalGuard)
export class ChannelsController {
  constructor(
    @Inject(PUBLISHER) private readonly publisher: EventPublisher,
    @Inject(HISTORY_READER) private readonly history: HistoryReader,
  ) {}

  @Post(':channel/events')
  @HttpCode(201)
  async publish(@CurrentPrincipal() principal: Principal, @Param('channel') channel: string, @Body() body: unknown): Promise<PublishResult> {
    const name = parseInput(channelNameSchema, channel, 'CHANNEL_INVALID');
    const { idempotencyKey, ...event } = parseInput(httpPublishBodySchema, body);
    return this.publisher.publish(principal, name, event, idempotencyKey);
  }

  @Get(':channel/history')
  async readHistory(@CurrentPrincipal() principal: Principal, @Param('channel') channel: string, @Query() query: unknown): Promise<HistoryResult> {
    const name = parseInput(channelNameSchema, channel, 'CHANNEL_INVALID');
    const q = parseInput(httpHistoryQuerySchema, query, 'POSITION_INVALID');
    return this.history.read(principal, name, {
      ...(q.sinceOffset !== undefined && q.sinceEpoch !== undefined ? { since: { offset: q.sinceOffset, epoch: q.sinceEpoch } } : {}),
      ...(q.from !== undefined ? { from: new Date(q.from) } : {}),
      ...(q.to !== undefined ? { to: new Date(q.to) } : {}),
      ...(q.limit !== undefined ? { limit: q.limit } : {}),
    });
  }
}
