import { ApiXError, type StatusResponse } from '@apix/protocol';
import { Controller, Get, Headers, Inject } from '@nestjs/common';
import { isPlatformAdmin } from '../admin/admin-access.js';
import type { CredentialVerifier } from '../identity/token-verifier.js';
import type { JWK } from 'jose';
import { WEBSOCKET_PATH } from '../realtime/apix-gateway.js';
import type { SigningKey } from '../identity/signing-key-store.js';
import { CREDENTIAL_VERIFIER, SERVER_RUNTIME, SIGNING_KEY } from './injection-tokens.js';
import type { ServerRuntime } from './server-runtime.js';

@Controller()
export class SystemController {
  constructor(
    @Inject(SERVER_RUNTIME) private readonly runtime: ServerRuntime,
    @Inject(SIGNING_KEY) private readonly signingKey: SigningKey,
    @Inject(CREDENTIAL_VERIFIER) private readonly verifier: CredentialVerifier,
  ) {}

  @Get('api/v1')
  root() {
    return {
      name: 'apix',
      version: this.runtime.version,
      websocket: WEBSOCKET_PATH,
      docs: '/api/docs',
      openapi: '/api/docs/openapi.json',
      status: '/api/v1/status',
    };
  }

  /**
   * Public: `status` and `version` only. The node's details and server-wide counts need a
   * platform admin's bearer token (they describe every tenant's traffic); a bearer token that
   * is sent must be valid.
   */
  @Get('api/v1/status')
  async status(@Headers('authorization') authorization: string | undefined): Promise<StatusResponse> {
    const summary: StatusResponse = { status: 'ok', version: this.runtime.version };
    if (authorization === undefined) return summary;
    const match = /^Bearer ([^\s]+)$/i.exec(authorization);
    if (!match) throw new ApiXError('NOT_AUTHENTICATED', 'send Authorization: Bearer <token>');
    if (!isPlatformAdmin(await this.verifier.verify(match[1]!))) return summary;
    // The node list is best effort: the status of this node stays readable while Redis is down.
    const nodes = await this.runtime.liveNodes?.().catch(() => undefined);
    return {
      ...summary,
      nodeId: this.runtime.nodeId,
      engine: this.runtime.engine,
      uptimeSeconds: Math.round((Date.now() - this.runtime.startedAt) / 1000),
      connections: this.runtime.connectionCount(),
      channels: this.runtime.channelCount(),
      ...(this.runtime.storage ? { storage: this.runtime.storage } : {}),
      ...(this.runtime.engineHealthy ? { engineHealthy: await this.runtime.engineHealthy() } : {}),
      ...(nodes
        ? {
            nodes: nodes.map(({ nodeId, version, startedAt, connections }) => ({ nodeId, version, startedAt, connections })),
            clusterConnections: nodes.reduce((sum, n) => sum + n.connections, 0),
          }
        : {}),
    };
  }

  /** Liveness: the process answers. */
  @Get('health/live')
  live() {
    return { status: 'ok' };
  }

  /** Readiness: the node takes traffic (503 while starting or shutting down). */
  @Get('health/ready')
  async ready() {
    if (!this.runtime.isReady()) throw new ApiXError('UNAVAILABLE', 'not ready');
    if ((await this.runtime.engineHealthy?.()) === false) throw new ApiXError('UNAVAILABLE', 'degraded: the engine cannot reach its store (Redis)', { degraded: true });
    return { status: 'ready' };
  }

  /** Public keys for verifying APIX-issued tokens (other services can verify them too). */
  @Get('.well-known/jwks.json')
  jwks(): { keys: JWK[] } {
    return { keys: [this.signingKey.publicJwk] };
  }
}
