import { describe, expect, it } from 'vitest';
import { ApiXError, CloseCodes, ErrorCodes, errorBodySchema, errorDefinition, shouldReconnect, type ErrorKey } from '@apix/protocol';

const definitions = Object.entries(ErrorCodes);

describe('error catalogue', () => {
  it('is not empty', () => {
    expect(definitions.length).toBeGreaterThan(10);
  });

  it('has unique codes', () => {
    const codes = definitions.map(([, d]) => d.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it.each(definitions)('%s: code is APIX_ERR_<KEY>, upper-case snake case', (key, def) => {
    expect(def.code).toMatch(/^APIX_ERR_[A-Z][A-Z0-9_]*$/);
    expect(def.code).toBe(`APIX_ERR_${key}`);
  });

  it.each(definitions)('%s: HTTP status is a 4xx or 5xx error status', (_key, def) => {
    expect(Number.isInteger(def.httpStatus)).toBe(true);
    expect(def.httpStatus).toBeGreaterThanOrEqual(400);
    expect(def.httpStatus).toBeLessThanOrEqual(599);
  });

  it.each(definitions)('%s: has a default message and a boolean retryable flag', (_key, def) => {
    expect(def.message.trim().length).toBeGreaterThan(0);
    expect(typeof def.retryable).toBe('boolean');
  });

  it('marks exactly the transient failures as retryable', () => {
    const retryable = definitions.filter(([, d]) => d.retryable).map(([k]) => k).sort();
    expect(retryable).toEqual(['INTERNAL', 'RATE_LIMITED', 'STREAM_RESET', 'UNAVAILABLE']);
  });

  it.each([
    // The codes other documents promise, with the status they imply.
    ['APIX_ERR_CHANNEL_FORBIDDEN', 403],
    ['APIX_ERR_CHANNEL_INVALID', 400],
    ['APIX_ERR_NOT_SUPPORTED', 501],
    ['APIX_ERR_DUPLICATE_REQUEST_ID', 409],
    ['APIX_ERR_NOT_AUTHENTICATED', 401],
    ['APIX_ERR_AUTH_FAILED', 401],
    ['APIX_ERR_TOKEN_EXPIRED', 401],
    ['APIX_ERR_IDENTITY_MISMATCH', 403],
    ['APIX_ERR_RATE_LIMITED', 429],
    ['APIX_ERR_FRAME_TOO_LARGE', 413],
    ['APIX_ERR_BINARY_NOT_SUPPORTED', 400],
    ['APIX_ERR_EVENT_TYPE_RESERVED', 400],
    ['APIX_ERR_UNAVAILABLE', 503],
    ['APIX_ERR_INTERNAL', 500],
  ])('%s exists with HTTP %i', (code, status) => {
    expect(errorDefinition(code)?.httpStatus).toBe(status);
  });

  it('errorDefinition finds each entry by code and nothing else', () => {
    for (const [, def] of definitions) expect(errorDefinition(def.code)).toEqual(def);
    for (const code of ['', 'CHANNEL_FORBIDDEN', 'apix_err_internal', 'APIX_ERR_NOPE', '__proto__', 'constructor']) {
      expect(errorDefinition(code)).toBeUndefined();
    }
  });
});

describe('ApiXError', () => {
  it('carries the catalogue entry for its key', () => {
    const err = new ApiXError('CHANNEL_FORBIDDEN');
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ApiXError');
    expect(err.code).toBe('APIX_ERR_CHANNEL_FORBIDDEN');
    expect(err.httpStatus).toBe(403);
    expect(err.retryable).toBe(false);
    expect(err.message).toBe(ErrorCodes.CHANNEL_FORBIDDEN.message);
  });

  it('takes a more precise message and details', () => {
    const err = new ApiXError('RATE_LIMITED', 'slow down', { retryAfterMs: 500 });
    expect(err.message).toBe('slow down');
    expect(err.toBody()).toEqual({ code: 'APIX_ERR_RATE_LIMITED', message: 'slow down', retryable: true, details: { retryAfterMs: 500 } });
  });

  it('leaves details out of the body when there are none', () => {
    expect(new ApiXError('INTERNAL').toBody()).not.toHaveProperty('details');
  });

  it.each(Object.keys(ErrorCodes) as ErrorKey[])('%s: toBody() is a valid wire error body', (key) => {
    const body = new ApiXError(key).toBody();
    expect(errorBodySchema.safeParse(body).success).toBe(true);
    expect(body.code).toBe(ErrorCodes[key].code);
    expect(body.retryable).toBe(ErrorCodes[key].retryable);
  });
});

describe('close codes', () => {
  it('are unique', () => {
    const values = Object.values(CloseCodes);
    expect(new Set(values).size).toBe(values.length);
  });

  it('use the numbers the protocol documents', () => {
    expect(CloseCodes.NORMAL).toBe(1000);
    expect(CloseCodes.MESSAGE_TOO_BIG).toBe(1009);
    expect(CloseCodes.HANDSHAKE_TIMEOUT).toBe(4001);
    expect(CloseCodes.DEAD_PEER).toBe(4002);
    expect(CloseCodes.TOKEN_EXPIRED).toBe(4003);
  });

  it.each(Object.entries(CloseCodes))('%s (%i) is a standard code or in an APIX range', (_name, code) => {
    const standard = code >= 1000 && code <= 1015;
    const apix = code >= 4000 && code <= 4999;
    expect(standard || apix).toBe(true);
  });

  it('APIX transient codes are in 4000–4499 and terminal ones in 4500–4999', () => {
    const transient = ['SERVER_SHUTDOWN', 'HANDSHAKE_TIMEOUT', 'DEAD_PEER', 'TOKEN_EXPIRED', 'SLOW_CONSUMER', 'RATE_LIMITED'] as const;
    const terminal = ['UNAUTHORIZED', 'FORBIDDEN', 'PROTOCOL_VIOLATION'] as const;
    for (const k of transient) {
      expect(CloseCodes[k]).toBeGreaterThanOrEqual(4000);
      expect(CloseCodes[k]).toBeLessThanOrEqual(4499);
    }
    for (const k of terminal) {
      expect(CloseCodes[k]).toBeGreaterThanOrEqual(4500);
      expect(CloseCodes[k]).toBeLessThanOrEqual(4999);
    }
  });
});

describe('shouldReconnect', () => {
  it.each([
    // 1000: the client asked for it
    [1000, false],
    // RFC 6455 codes: reconnect, except the two that say "don't send that again"
    [1001, true],
    [1002, true],
    [1003, false],
    [1005, true],
    [1006, true],
    [1007, true],
    [1008, false],
    [1009, true],
    [1010, true],
    [1011, true],
    [1012, true],
    [1013, true],
    [1014, true],
    [1015, true],
    // 3000–3999: library/framework codes, unknown to us: reconnect with backoff
    [3000, true],
    [3999, true],
    // APIX transient range, both ends and every named code
    [4000, true],
    [4001, true],
    [4002, true],
    [4003, true],
    [4004, true],
    [4005, true],
    [4250, true],
    [4499, true],
    // APIX terminal range, both ends and every named code
    [4500, false],
    [4501, false],
    [4502, false],
    [4750, false],
    [4999, false],
    // outside every documented range: reconnect with backoff
    [0, true],
    [999, true],
    [1016, true],
    [2000, true],
    [5000, true],
  ])('%i → %s', (code, expected) => {
    expect(shouldReconnect(code)).toBe(expected);
  });

  it('agrees with the documented meaning of every named close code', () => {
    const reconnect: Record<keyof typeof CloseCodes, boolean> = {
      NORMAL: false,
      GOING_AWAY: true,
      UNSUPPORTED_DATA: false,
      POLICY_VIOLATION: false,
      MESSAGE_TOO_BIG: true,
      INTERNAL_ERROR: true,
      SERVER_SHUTDOWN: true,
      HANDSHAKE_TIMEOUT: true,
      DEAD_PEER: true,
      TOKEN_EXPIRED: true,
      SLOW_CONSUMER: true,
      RATE_LIMITED: true,
      UNAUTHORIZED: false,
      FORBIDDEN: false,
      PROTOCOL_VIOLATION: false,
      SESSION_REPLACED: false,
    };
    for (const [name, code] of Object.entries(CloseCodes) as Array<[keyof typeof CloseCodes, number]>) {
      expect(shouldReconnect(code), name).toBe(reconnect[name]);
    }
  });

  it('is total over the 4000–4999 range: below 4500 reconnect, from 4500 stop', () => {
    for (let code = 4000; code <= 4999; code++) expect(shouldReconnect(code)).toBe(code < 4500);
  });
});
