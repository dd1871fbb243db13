import { describe, expect, it } from 'vitest';
import { describeStorage, isLoopbackHost, startupBanner } from '../../src/startup-banner.js';

describe('start-up banner', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.20', false],
    ['apix.example.com', false],
  ])('isLoopbackHost(%s) is %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });

  it('names the storage without a password', () => {
    expect(describeStorage(undefined, '.apix-data')).toBe('embedded PGlite in .apix-data');
    expect(describeStorage('postgres://apix:s3cret@db:5432/apix', '.apix-data')).toBe('PostgreSQL postgres://apix:***@db:5432/apix');
  });

  it('prints the dev token only when given one, and says why not otherwise', () => {
    const base = { engine: 'memory', storage: 'embedded PGlite in .apix-data', nodes: ['node_a'], url: 'http://127.0.0.1:3000', wsUrl: 'ws://127.0.0.1:3000/ws', host: '0.0.0.0' };
    expect(startupBanner({ ...base, devToken: undefined })).toContain('No dev token printed: HOST=0.0.0.0');
    expect(startupBanner({ ...base, host: '127.0.0.1', devToken: 'eyJ.x.y' })).toContain('eyJ.x.y');
    expect(startupBanner({ ...base, devToken: undefined })).toContain('engine: memory, storage: embedded PGlite in .apix-data');
  });
});
