import type { ApiXConfig } from '../config/config.js';
import type { AuditLogger } from '../audit/audit-logger.js';
import type { ChannelSettingsSource } from '../channels/channel-settings.js';
import type { Broker } from '../engine/broker.js';
import type { AccessChange } from '../engine/control-bus.js';
import type { AccessDirectory } from '../identity/access-directory.js';
import type { TokenIssuer } from '../identity/token-issuer.js';
import type { CredentialVerifier } from '../identity/token-verifier.js';
import type { Logger } from '../logging/logger.js';
import type { DatabaseHandle } from '../storage/database.js';
import type { Repositories } from '../storage/repositories.js';

/**
 * Everything the control plane's services use, built once by the composition root and
 * injected under `CONTROL_PLANE`. Services take what they need from here; nothing in the
 * control plane opens its own connections or caches.
 */
export interface ControlPlaneContext {
  readonly config: ApiXConfig;
  readonly logger: Logger;
  readonly database: DatabaseHandle;
  readonly repositories: Repositories;
  readonly issuer: TokenIssuer;
  readonly verifier: CredentialVerifier;
  readonly audit: AuditLogger;
  readonly directory: AccessDirectory;
  readonly channelSettings: ChannelSettingsSource;
  readonly broker: Broker;
  /**
   * Call after any change to memberships, roles, users, API keys, organisations or channel
   * settings, naming exactly what changed. Reloads what this node cached about it and
   * re-checks only the open connections it concerns before it resolves, so a revoked member
   * receives nothing published after the admin call returned; the change also goes to every
   * other node over the engine's control bus.
   */
  accessChanged(change: AccessChange): Promise<void>;
  /**
   * Call after the organisation's quota overrides were stored: tells every other node to
   * re-read them (this node already did). Never throws: a node the message misses reads the
   * row at its next start or resync.
   */
  quotasChanged(organizationId: string): Promise<void>;
}
