import { ApiXError, loginBodySchema, logoutBodySchema, refreshBodySchema, registerBodySchema, type TokenResponse, type TokenValidationResponse } from '@apix/protocol';
import { Body, Controller, Get, Header, Headers, HttpCode, Inject, Ip, Post, UseGuards } from '@nestjs/common';
import { AuthService, type ProfileResponse } from '../identity/auth-service.js';
import type { Principal } from '../identity/principal.js';
import type { ControlPlaneContext } from './control-plane-context.js';
import type { RateLimits } from '../limits/rate-limits.js';
import { CONTROL_PLANE, RATE_LIMITS } from './injection-tokens.js';
import { parseInput } from './parse-input.js';
import { CurrentPrincipal, PrincipalGuard } from './principal-guard.js';

/**
 * APIX's own accounts: register, login, refresh, logout, and what a bearer credential says
 * about its holder. Responses carrying tokens are marked `no-store`: no cache or proxy may
 * keep a credential.
 */
@Controller('api/v1/auth')
export class AuthController {
  readonly #auth: AuthService;
  readonly #context: ControlPlaneContext;

  readonly #limits: RateLimits;

  constructor(@Inject(CONTROL_PLANE) context: ControlPlaneContext, @Inject(RATE_LIMITS) limits: RateLimits) {
    this.#auth = new AuthService(context);
    this.#context = context;
    this.#limits = limits;
  }

  /**
   * Anyone may register (unless REGISTRATION=closed) and gets a generated organisation id; a
   * bearer credential is optional and only matters when it is a platform admin's, who may
   * name the id. A credential that is sent must be valid: a bad one is refused, not ignored.
   */
  @Post('register')
  @HttpCode(201)
  @Header('Cache-Control', 'no-store')
  async register(@Body() body: unknown, @Headers('authorization') authorization: string | undefined, @Ip() ip: string): Promise<TokenResponse> {
    const input = parseInput(registerBodySchema, body);
    await this.#limits.admitAuth(ip, input.email);
    const match = /^Bearer ([^\s]+)$/i.exec(authorization ?? '');
    if (authorization !== undefined && !match) throw new ApiXError('NOT_AUTHENTICATED', 'send Authorization: Bearer <token>');
    const caller = match ? await this.#context.verifier.verify(match[1]!) : undefined;
    return this.#auth.register(input, caller);
  }

  @Post('login')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async login(@Body() body: unknown, @Ip() ip: string): Promise<TokenResponse> {
    const input = parseInput(loginBodySchema, body);
    // Before any lookup: a known and an unknown email are limited alike (no enumeration).
    await this.#limits.admitAuth(ip, input.email);
    return this.#auth.login(input);
  }

  @Post('refresh')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async refresh(@Body() body: unknown, @Ip() ip: string): Promise<TokenResponse> {
    const input = parseInput(refreshBodySchema, body);
    await this.#limits.admitAuth(ip);
    return this.#auth.refresh(input);
  }

  @Post('logout')
  @HttpCode(204)
  logout(@Body() body: unknown): Promise<void> {
    return this.#auth.logout(parseInput(logoutBodySchema, body));
  }

  @Get('profile')
  @UseGuards(PrincipalGuard)
  profile(@CurrentPrincipal() principal: Principal): Promise<ProfileResponse> {
    return this.#auth.profile(principal);
  }

  @Get('validate')
  @UseGuards(PrincipalGuard)
  validate(@CurrentPrincipal() principal: Principal): Promise<TokenValidationResponse> {
    return this.#auth.validate(principal);
  }
}
