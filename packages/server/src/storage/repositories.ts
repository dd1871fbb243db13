import { ApiKeyRepository } from './api-key-repository.js';
import { AuditRepository } from './audit-repository.js';
import { ChannelRepository } from './channel-repository.js';
import { ConnectionRepository } from './connection-repository.js';
import type { ApixDatabase } from './database.js';
import { EventArchiveRepository } from './event-archive-repository.js';
import { MembershipRepository } from './membership-repository.js';
import { OrganizationRepository } from './organization-repository.js';
import { RefreshTokenRepository } from './refresh-token-repository.js';
import { UserRepository } from './user-repository.js';

/** Every repository over one database handle. */
export interface Repositories {
  readonly organizations: OrganizationRepository;
  readonly users: UserRepository;
  readonly memberships: MembershipRepository;
  readonly apiKeys: ApiKeyRepository;
  readonly refreshTokens: RefreshTokenRepository;
  readonly channels: ChannelRepository;
  readonly connections: ConnectionRepository;
  readonly events: EventArchiveRepository;
  readonly audit: AuditRepository;
}

export function createRepositories(db: ApixDatabase): Repositories {
  return {
    organizations: new OrganizationRepository(db),
    users: new UserRepository(db),
    memberships: new MembershipRepository(db),
    apiKeys: new ApiKeyRepository(db),
    refreshTokens: new RefreshTokenRepository(db),
    channels: new ChannelRepository(db),
    connections: new ConnectionRepository(db),
    events: new EventArchiveRepository(db),
    audit: new AuditRepository(db),
  };
}
