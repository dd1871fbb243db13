import type { ControlPlaneContext } from '../http/control-plane-context.js';
import { AdminAccess } from './admin-access.js';
import { AdminAuditTrail } from './admin-audit-trail.js';
import { ApiKeyService } from './api-key-service.js';
import { AuditService } from './audit-service.js';
import { ChannelAdminService } from './channel-admin-service.js';
import { ConnectionListing } from './connection-listing.js';
import { MemberService } from './member-service.js';
import { OrganizationService } from './organization-service.js';

/** The administration services over one control-plane context. */
export interface AdminServices {
  readonly organizations: OrganizationService;
  readonly members: MemberService;
  readonly apiKeys: ApiKeyService;
  readonly channels: ChannelAdminService;
  readonly connections: ConnectionListing;
  readonly audit: AuditService;
}

const built = new WeakMap<ControlPlaneContext, AdminServices>();

/**
 * The services for `ctx`, built once and shared by every controller (they hold no state of
 * their own; everything stateful lives in the context).
 */
export function adminServicesFor(ctx: ControlPlaneContext): AdminServices {
  let services = built.get(ctx);
  if (services === undefined) {
    const trail = new AdminAuditTrail(ctx.audit, ctx.logger.child({ component: 'admin' }));
    const deps = { ctx, trail, access: new AdminAccess(ctx.directory, trail) };
    services = {
      organizations: new OrganizationService(deps),
      members: new MemberService(deps),
      apiKeys: new ApiKeyService(deps),
      channels: new ChannelAdminService(deps),
      connections: new ConnectionListing(deps),
      audit: new AuditService(deps),
    };
    built.set(ctx, services);
  }
  return services;
}
