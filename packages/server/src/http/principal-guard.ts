import { ApiXError } from '@apix/protocol';
import { Inject, Injectable, createParamDecorator, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../identity/principal.js';
import type { CredentialVerifier } from '../identity/token-verifier.js';
import type { RealtimeObserver } from '../realtime/realtime-observer.js';
import type { RateLimits } from '../limits/rate-limits.js';
import { CREDENTIAL_VERIFIER, RATE_LIMITS, REALTIME_OBSERVER } from './injection-tokens.js';

type RequestWithPrincipal = FastifyRequest & { apixPrincipal?: Principal };

/** Authenticates an HTTP request with the same RS256 bearer token the WebSocket gateway accepts. */
@Injectable()
export class PrincipalGuard implements CanActivate {
  constructor(
    @Inject(CREDENTIAL_VERIFIER) private readonly verifier: CredentialVerifier,
    @Inject(REALTIME_OBSERVER) private readonly observer: RealtimeObserver,
    @Inject(RATE_LIMITS) private readonly limits: RateLimits,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestWithPrincipal>();
    const match = /^Bearer ([^\s]+)$/i.exec(request.headers.authorization ?? '');
    if (!match) throw new ApiXError('NOT_AUTHENTICATED', 'send Authorization: Bearer <token>');
    try {
      request.apixPrincipal = await this.verifier.verify(match[1]!);
    } catch (error) {
      const code = error instanceof ApiXError ? error.code : 'APIX_ERR_INTERNAL';
      this.observer.authenticationFailed?.({ via: 'http', code, remoteAddress: request.ip });
      throw error;
    }
    // Per credential and per organisation, after verification: a forged token cannot spend someone else's budget.
    await this.limits.admitHttp(request.apixPrincipal);
    return true;
  }
}

/** The principal the guard established. */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<RequestWithPrincipal>().apixPrincipal;
  if (!principal) throw new ApiXError('NOT_AUTHENTICATED');
  return principal;
});
