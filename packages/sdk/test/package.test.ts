import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeServer } from './helpers/fake-server.js';
import { ensureBuilt } from '../../server/test/support/built-server.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

let scratch: string | undefined;
let server: FakeServer | undefined;
afterAll(async () => {
  await server?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Every .map under `dir` names sources that exist next to it (source maps point at shipped sources). */
function brokenSourceMaps(dir: string): string[] {
  const broken: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.map')) {
        const map = JSON.parse(readFileSync(path, 'utf8')) as { sources: string[]; sourcesContent?: unknown[] };
        // A map with the sources inlined needs nothing else shipped.
        if (map.sourcesContent?.length === map.sources.length) continue;
        for (const source of map.sources) if (!existsSync(resolve(dirname(path), source))) broken.push(`${path} -> ${source}`);
      }
    }
  };
  walk(dir);
  return broken;
}

describe('the published packages', () => {
  it('npm pack of protocol and sdk installs offline into a scratch project, type-checks and talks to a server', async () => {
    await ensureBuilt();
    scratch = await mkdtemp(join(tmpdir(), 'apix-pack-'));
    // zod and ws are packed from the workspace's own install: the test needs no registry.
    await run('npm', ['pack', '-w', '@apix/protocol', '-w', '@apix/sdk', '--pack-destination', scratch], { cwd: root });
    await run('npm', ['pack', join(root, 'node_modules/zod'), join(root, 'node_modules/ws'), '--pack-destination', scratch], { cwd: root });
    const tarballs = readdirSync(scratch).filter((f) => f.endsWith('.tgz'));
    expect(tarballs.sort()).toEqual(['apix-protocol-0.1.0.tgz', 'apix-sdk-0.1.0.tgz', expect.stringMatching(/^ws-/), expect.stringMatching(/^zod-/)]);
    await writeFile(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', ...tarballs.map((t) => `./${t}`)], { cwd: scratch });

    const sdk = join(scratch, 'node_modules/@apix/sdk');
    const protocol = join(scratch, 'node_modules/@apix/protocol');
    for (const dir of [sdk, protocol]) {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
      expect(manifest).toMatchObject({ sideEffects: false, license: 'MIT', exports: { '.': { types: './dist/index.d.ts' } } });
      expect(existsSync(join(dir, 'README.md')) && existsSync(join(dir, 'LICENSE'))).toBe(true);
      expect(brokenSourceMaps(join(dir, 'dist'))).toEqual([]);
    }
    const browserBundle = readFileSync(join(sdk, 'dist/browser/apix-sdk.min.js'));
    expect(gzipSync(browserBundle).length).toBeLessThanOrEqual(25 * 1024);

    // Types resolve through `exports` the way a TypeScript user's project sees them.
    await writeFile(
      join(scratch, 'check.ts'),
      [
        "import { ApiXClient, type PublicationContext } from '@apix/sdk';",
        "import { parseChannelName } from '@apix/protocol/core';",
        "const client = new ApiXClient('ws://localhost:3000/ws', { token: 't' });",
        "client.subscribe('tool:t', { publication: (c: PublicationContext) => c.offset });",
        "void client.publish('agent:a', { type: 'agent_status_update', payload: { agentId: 'a', status: 'running' } });",
        "export const ok: boolean = typeof parseChannelName('agent:a') !== 'string';",
      ].join('\n'),
    );
    await writeFile(
      join(scratch, 'tsconfig.json'),
      // A browser project: DOM types, no @types/node; the SDK's declarations must be checked too (skipLibCheck off).
      JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], strict: true, noEmit: true, skipLibCheck: false, types: [] }, files: ['check.ts'] }),
    );
    await run(bin('tsc'), ['-p', scratch], { cwd: scratch });

    // And it runs: connect, subscribe, publish, receive, exit.
    server = await FakeServer.start();
    await writeFile(
      join(scratch, 'use.mjs'),
      `import { ApiXClient } from '@apix/sdk';
import { WebSocket } from 'ws';
const client = new ApiXClient(process.argv[2], { token: 'good', WebSocket });
const got = new Promise((resolve) => client.subscribe('agent:pack', { publication: (c) => resolve(c) }));
client.connect();
await client.ready(5000);
await client.getSubscription('agent:pack').ready(5000);
const published = await client.publish('agent:pack', { type: 'note', payload: 'from a packed SDK' });
const received = await got;
console.log(JSON.stringify({ published: published.offset, received: received.event.payload }));
client.disconnect();
`,
    );
    const { stdout } = await run('node', ['use.mjs', server.url], { cwd: scratch, timeout: 20_000 });
    expect(JSON.parse(stdout.trim())).toEqual({ published: 1, received: 'from a packed SDK' });
  }, 120_000);
});
