import { timingSafeEqual } from 'node:crypto';
import { ApiXError } from '@apix/protocol';
import { Controller, Get, Headers, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import { isPlatformAdmin } from '../admin/admin-access.js';
import type { CredentialVerifier } from '../identity/token-verifier.js';
import { CREDENTIAL_VERIFIER } from './injection-tokens.js';

/** Injection token of what `/metrics` on the main port needs (absent when metrics have their own port). */
export const METRICS = Symbol('Metrics');

export interface MetricsEndpoint {
  readonly registry: Registry;
  /** METRICS_TOKEN, when configured. */
  readonly token: string | undefined;
}

/**
 * Prometheus `/metrics` on the main port. Scrapers send `Authorization: Bearer <METRICS_TOKEN>`;
 * a platform admin's token works too. With METRICS_PORT set, this route answers 404 and the
 * metrics are served on that port instead (metrics-server.ts).
 */
@Controller()
export class MetricsController {
  constructor(
    @Inject(METRICS) private readonly metrics: MetricsEndpoint | null,
    @Inject(CREDENTIAL_VERIFIER) private readonly verifier: CredentialVerifier,
  ) {}

  @Get('metrics')
  async scrape(@Headers('authorization') authorization: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    if (!this.metrics) throw new ApiXError('NOT_FOUND', 'metrics are served on METRICS_PORT');
    const match = /^Bearer ([^\s]+)$/i.exec(authorization ?? '');
    if (!match) throw new ApiXError('NOT_AUTHENTICATED', 'send Authorization: Bearer <METRICS_TOKEN or a platform-admin token>');
    const presented = match[1]!;
    if (!(this.metrics.token !== undefined && sameSecret(presented, this.metrics.token))) {
      const principal = await this.verifier.verify(presented);
      if (!isPlatformAdmin(principal)) throw new ApiXError('FORBIDDEN', 'metrics need METRICS_TOKEN or a platform-admin token');
    }
    void reply.header('content-type', this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
