import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, startServerProcess, type ServerProcess } from '../support/built-server.js';
import { RawClient } from '../support/raw-client.js';

/**
 * Dead-peer detection runs on the monotonic clock: stepping the server's wall clock (NTP, a
 * resumed VM) neither switches it off nor closes healthy connections. The server runs under
 * libfaketime (Debian's `faketime` package; `.ci/run` installs it) with the monotonic clock
 * left alone, and the test steps its wall clock through the timestamp file.
 */
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

let dir: string;
let clockFile: string;
let server: ServerProcess;
beforeAll(async () => {
  if (!existsSync(LIBFAKETIME)) throw new Error(`${LIBFAKETIME} is missing: apt-get install -y faketime`);
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'apix-clock-'));
  clockFile = join(dir, 'faketime');
  await writeFile(clockFile, '+0s\n');
  server = await startServerProcess({
    config: { APIX_DATA_DIR: join(dir, 'data'), PING_INTERVAL_MS: 500, PONG_TIMEOUT_MS: 2_000 },
    users: ['healthy', 'silent'],
    env: { LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: clockFile, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
  });
}, 180_000);
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('a wall-clock step on the server', () => {
  it('60 s backwards: a peer that stops answering pings is still closed with 4002 on time; 120 s forwards: healthy peers stay', async () => {
    const healthy = await RawClient.connect(server.wsUrl, server.tokens.healthy!);
    const silent = await RawClient.open(server.wsUrl, { autoPong: false });
    expect((await silent.request({ type: 'connect', token: server.tokens.silent! })).ok).toBe(true);
    // Let the server send its first ping to the silent peer on the old clock, then step back.
    await new Promise((r) => setTimeout(r, 400));
    await writeFile(clockFile, '-60s\n');
    const steppedAt = performance.now();
    const closed = await Promise.race([silent.closed, new Promise<undefined>((r) => setTimeout(r, 30_000))]);
    expect(closed?.code).toBe(4002);
    // Ping interval + pong timeout, with room for a loaded machine — far less than the 60 s a wall clock would add.
    expect(performance.now() - steppedAt).toBeLessThan(20_000);

    await writeFile(clockFile, '+120s\n');
    await new Promise((r) => setTimeout(r, 4_000));
    expect(healthy.socket.readyState).toBe(healthy.socket.OPEN);
    expect(await healthy.request({ type: 'heartbeat.ping' })).toMatchObject({ type: 'heartbeat.pong' });
    await healthy.close();
  }, 60_000);
});
