import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/http/http-hardening.js';

describe('redactUrl', () => {
  it('redacts credential-carrying query parameters, whatever their case or separator', () => {
    expect(redactUrl('/ws?token=a&access_token=b&API-KEY=c&x=1&Password=d&refreshToken=e')).toBe(
      '/ws?token=[redacted]&access_token=[redacted]&API-KEY=[redacted]&x=1&Password=[redacted]&refreshToken=[redacted]',
    );
  });

  it('leaves URLs without credentials alone, and copes with malformed escapes', () => {
    expect(redactUrl('/api/v1/status')).toBe('/api/v1/status');
    expect(redactUrl('/a?limit=5&since=3')).toBe('/a?limit=5&since=3');
    expect(redactUrl('/a?%E0%A4%A=1&%74oken=x')).toBe('/a?%E0%A4%A=1&%74oken=[redacted]');
  });
});
