import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';

describe('logger', () => {
  it('writes JSON lines and never writes tokens, passwords or API keys', async () => {
    const sink = new PassThrough();
    const lines: string[] = [];
    sink.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
    const logger = createLogger('info', sink);
    logger.info({ req: { headers: { authorization: 'Bearer SECRET-1' } }, frame: { token: 'SECRET-2' }, password: 'SECRET-3', apiKey: 'SECRET-4' }, 'hello');
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(entry).toMatchObject({ msg: 'hello', service: 'apix' });
    expect(lines[0]).not.toMatch(/SECRET/);
  });
});
