import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { AdminController } from './admin.controller.js';
import { AuditController } from './audit.controller.js';
import { AuthController } from './auth.controller.js';
import { ChannelAdminController } from './channel-admin.controller.js';
import { ChannelsController } from './channels.controller.js';
import { ConnectionsController } from './connections.controller.js';
import { DeadLettersController } from './dead-letters.controller.js';
import { PresenceController } from './presence.controller.js';
import { PrincipalGuard } from './principal-guard.js';
import { QuotasController } from './quotas.controller.js';
import { SystemController } from './system.controller.js';
import { MetricsController } from './metrics.controller.js';
import { MonitoringController } from './monitoring.controller.js';

/**
 * The control plane. Its collaborators are built by the composition root (apix-server.ts)
 * and handed in as values: the data plane and the control plane share one publisher, one
 * history reader and one verifier, and Nest never sits on the per-message path.
 */
@Module({})
export class AppModule {
  static register(providers: Provider[]): DynamicModule {
    return {
      module: AppModule,
      controllers: [SystemController, ChannelsController, DeadLettersController, AuthController, AdminController, ChannelAdminController, ConnectionsController, AuditController, PresenceController, QuotasController, MonitoringController, MetricsController],
      providers: [...providers, PrincipalGuard],
    };
  }
}
