import { listConnectionsQuerySchema } from '@apix/protocol';
import { Controller, Get, Inject, Query, UseGuards } from '@nestjs/common';
import { adminServicesFor, type AdminServices } from '../admin/admin-services.js';
import type { Principal } from '../identity/principal.js';
import type { ControlPlaneContext } from './control-plane-context.js';
import { CONTROL_PLANE } from './injection-tokens.js';
import { parseInput } from './parse-input.js';
import { CurrentPrincipal, PrincipalGuard } from './principal-guard.js';

/** Connections of the caller's organisation, as tracked in storage across the cluster. */
@Controller('api/v1/connections')
@UseGuards(PrincipalGuard)
export class ConnectionsController {
  readonly #admin: AdminServices;

  constructor(@Inject(CONTROL_PLANE) ctx: ControlPlaneContext) {
    this.#admin = adminServicesFor(ctx);
  }

  @Get()
  list(@CurrentPrincipal() principal: Principal, @Query() query: unknown) {
    return this.#admin.connections.list(principal, parseInput(listConnectionsQuerySchema, query));
  }
}
