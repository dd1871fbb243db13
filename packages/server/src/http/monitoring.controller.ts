import { z } from 'zod';
import { Controller, Delete, Get, Inject, Param, Query, UseGuards } from '@nestjs/common';
import type { Principal } from '../identity/principal.js';
import type { MonitoringService } from '../monitoring/monitoring-service.js';
import { parseInput } from './parse-input.js';
import { CurrentPrincipal, PrincipalGuard } from './principal-guard.js';

/** Injection token of the node's MonitoringService (built by the composition root). */
export const MONITORING = Symbol('MonitoringService');

export const disconnectQuerySchema = z.strictObject({
  /** `true`: close with 4000 so the client reconnects and resumes; default: 4501, it must not reconnect. */
  reconnect: z.enum(['true', 'false']).optional(),
});

/**
 * `/api/v1/monitoring/*` (docs/monitoring.md): the node's latency, alerts, dashboard
 * document, component health and live connections. Organisation admins see their
 * organisation; platform admins see the platform.
 */
@Controller('api/v1/monitoring')
@UseGuards(PrincipalGuard)
export class MonitoringController {
  constructor(@Inject(MONITORING) private readonly monitoring: MonitoringService) {}

  @Get('latency/stats')
  latencyStats(@CurrentPrincipal() principal: Principal) {
    return this.monitoring.latencyStats(principal);
  }

  @Get('alerts')
  alerts(@CurrentPrincipal() principal: Principal) {
    return this.monitoring.alerts(principal);
  }

  @Get('dashboard')
  dashboard(@CurrentPrincipal() principal: Principal) {
    return this.monitoring.dashboard(principal);
  }

  @Get('health')
  health(@CurrentPrincipal() principal: Principal) {
    return this.monitoring.health(principal);
  }

  @Get('connections')
  connections(@CurrentPrincipal() principal: Principal) {
    return this.monitoring.liveConnections(principal);
  }

  @Delete('connections/:connectionId')
  disconnect(@CurrentPrincipal() principal: Principal, @Param('connectionId') connectionId: string, @Query() query: unknown) {
    const { reconnect } = parseInput(disconnectQuerySchema, query);
    return this.monitoring.disconnect(principal, connectionId.slice(0, 100), reconnect === 'true');
  }
}
