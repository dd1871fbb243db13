import { loginBodySchema, logoutBodySchema, refreshBodySchema, registerBodySchema, type TokenResponse, type TokenValidationResponse } from '@apix/protocol';
import { Body, Controller, Get, Header, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { AuthService, type ProfileResponse } from '../identity/auth-service.js';
import type { Principal } from '../identity/principal.js';
import type { ControlPlaneContext } from './control-plane-context.js';
import { CONTROL_PLANE } from './injection-tokens.js';
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

  constructor(@Inject(CONTROL_PLANE) context: ControlPlaneContext) {
    this.#auth = new AuthService(context);
  }

  @Post('register')
  @HttpCode(201)
  @Header('Cache-Control', 'no-store')
  register(@Body() body: unknown): Promise<TokenResponse> {
    return this.#auth.register(parseInput(registerBodySchema, body));
  }

  @Post('login')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  login(@Body() body: unknown): Promise<TokenResponse> {
    return this.#auth.login(parseInput(loginBodySchema, body));
  }

  @Post('refresh')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  refresh(@Body() body: unknown): Promise<TokenResponse> {
    return this.#auth.refresh(parseInput(refreshBodySchema, body));
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
