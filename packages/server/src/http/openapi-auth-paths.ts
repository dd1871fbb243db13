import {
  loginBodySchema,
  logoutBodySchema,
  profileResponseSchema,
  refreshBodySchema,
  registerBodySchema,
  tokenResponseSchema,
  tokenValidationResponseSchema,
} from '@apix/protocol';
import { errorResponse, jsonBody, okResponse } from './openapi-schema.js';

/**
 * OpenAPI 3.0 path items of `/api/v1/auth/*`, generated from the schemas the controller
 * validates with. They refer to `#/components/schemas/Error` and the `bearer` security
 * scheme of the document they are merged into (http/openapi-document.ts).
 */


const tags = ['auth'];
const invalidBody = errorResponse('`APIX_ERR_INVALID_REQUEST`: the body does not match its schema (`details.issues` name the fields) or is not JSON');

export const authOpenApiPaths: Record<string, Record<string, unknown>> = {
  '/api/v1/auth/register': {
    post: {
      tags,
      summary: 'Create an account: a new organisation and its first user, who becomes its admin',
      description:
        'Organisation, user, membership (role `admin`) and the first refresh token are written in one transaction: on any failure nothing is. ' +
        'The server generates the organisation id; only a platform admin (bearer token) may name one, and never one already in use.',
      requestBody: jsonBody(registerBodySchema),
      responses: {
        201: okResponse('Registered and logged in', tokenResponseSchema),
        400: invalidBody,
        403: errorResponse('`APIX_ERR_FORBIDDEN`: registration is closed, or `organization.id` was sent without a platform admin token'),
        409: errorResponse('`APIX_ERR_CONFLICT`: the email or the organisation id is taken'),
      },
    },
  },
  '/api/v1/auth/login': {
    post: {
      tags,
      summary: 'Log in with email and password',
      description:
        'An unknown email and a wrong password get the same answer. A user who belongs to several organisations must name one in `organizationId` ' +
        '(otherwise 400, with the choices in `details.organizations`).',
      requestBody: jsonBody(loginBodySchema),
      responses: {
        200: okResponse('An access token (RS256 JWT for the WebSocket and the HTTP API) and a refresh token', tokenResponseSchema),
        400: errorResponse('`APIX_ERR_INVALID_REQUEST`: malformed body, or `organizationId` needed'),
        401: errorResponse('`APIX_ERR_AUTH_FAILED`: email or password is wrong'),
        403: errorResponse('`APIX_ERR_FORBIDDEN`: the account is disabled or not a member of the organisation'),
      },
    },
  },
  '/api/v1/auth/refresh': {
    post: {
      tags,
      summary: 'Exchange a refresh token for new tokens (the refresh token is single-use)',
      description:
        'Returns a new access token and a new refresh token; the presented one is spent. Presenting a spent refresh token again is treated as theft: ' +
        'every token descending from the same login is revoked.',
      requestBody: jsonBody(refreshBodySchema),
      responses: {
        200: okResponse('New tokens', tokenResponseSchema),
        400: invalidBody,
        401: errorResponse('`APIX_ERR_AUTH_FAILED` (unknown, reused or revoked token; access lost) or `APIX_ERR_TOKEN_EXPIRED`: log in again'),
      },
    },
  },
  '/api/v1/auth/logout': {
    post: {
      tags,
      summary: 'End a login: revoke its refresh tokens',
      description: 'Idempotent; an unknown token also answers 204. Access tokens already issued stay valid until they expire.',
      requestBody: jsonBody(logoutBodySchema),
      responses: { 204: { description: 'Logged out' }, 400: invalidBody },
    },
  },
  '/api/v1/auth/profile': {
    get: {
      tags,
      summary: 'Who the bearer credential belongs to, with current roles',
      security: [{ bearer: [] }],
      responses: {
        200: okResponse('The profile (email and name for users APIX stores)', profileResponseSchema),
        401: errorResponse('Missing, invalid or expired credential, or access since revoked'),
      },
    },
  },
  '/api/v1/auth/validate': {
    get: {
      tags,
      summary: 'Check a bearer credential (signature, expiry, revocation)',
      security: [{ bearer: [] }],
      responses: {
        200: okResponse('The credential is valid; `expiresAt` is in ms since the epoch (null for API keys)', tokenValidationResponseSchema),
        401: errorResponse('Missing, invalid or expired credential, or access since revoked'),
      },
    },
  },
};
