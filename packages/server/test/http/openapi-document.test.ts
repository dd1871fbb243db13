import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.js';

const run = promisify(execFile);
const redocly = fileURLToPath(new URL('../../../../node_modules/.bin/redocly', import.meta.url));

/** Probes that answer 200 or 5xx only: no 4xx exists to document for them. */
const PROBES = ['/api/v1/status', '/api/v1', '/health/live', '/health/ready', '/.well-known/jwks.json'];

interface Operation {
  operationId?: string;
  security?: unknown[];
  requestBody?: { content: { 'application/json': { example?: unknown } } };
  responses: Record<string, { content?: unknown }>;
}
type Document = { servers?: unknown[]; paths: Record<string, Record<string, Operation>> };

let server: TestServer;
let document: Document;
let dir: string;
beforeAll(async () => {
  server = await startTestServer();
  document = (await (await fetch(`${server.url}/api/docs/openapi.json`)).json()) as Document;
  dir = await mkdtemp(join(tmpdir(), 'apix-openapi-'));
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the served OpenAPI document', () => {
  it('passes `redocly lint` (recommended rules) with 0 errors; the only warnings are probes without a 4xx', async () => {
    const file = join(dir, 'openapi.json');
    await writeFile(file, JSON.stringify(document));
    // redocly exits 1 when it finds errors; the JSON report says which either way.
    const { stdout } = await run(redocly, ['lint', file, '--extends', 'recommended', '--format', 'json'], { cwd: dir, timeout: 60_000 }).catch(
      (failure: { stdout: string }) => ({ stdout: failure.stdout }),
    );
    const report = JSON.parse(stdout) as {
      totals: { errors: number; warnings: number };
      problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer: string }> }>;
    };
    console.log(`OpenAPI lint (redocly, recommended): ${report.totals.errors} errors, ${report.totals.warnings} warnings`);
    const problems = report.problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`);
    expect(problems.filter((p) => p.startsWith('error'))).toEqual([]);
    const probePointers = PROBES.map((path) => `#/paths/${path.replaceAll('/', '~1')}/get/responses`);
    for (const problem of report.problems) {
      expect(problem.ruleId).toBe('operation-4xx-response');
      expect(probePointers).toContain(problem.location[0]?.pointer);
    }
  }, 90_000);

  it('every operation has an operationId, a response schema for every success, and a security decision', () => {
    expect(document.servers).toEqual([{ url: '/', description: expect.any(String) }]);
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        expect(operation.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]+$/);
        ids.add(operation.operationId!);
        expect(operation.security, `${method} ${path}`).toBeDefined();
        for (const [status, response] of Object.entries(operation.responses)) {
          if (status !== '204') expect(response.content, `${method} ${path} ${status}`).toBeDefined();
        }
      }
    }
    expect(ids.size).toBe(Object.values(document.paths).reduce((n, item) => n + Object.keys(item).length, 0));
  });

  it('"Try it out" with the documented examples works: register, then publish with the new token', async () => {
    const register = document.paths['/api/v1/auth/register']!.post!.requestBody!.content['application/json'].example;
    const registered = await fetch(`${server.url}/api/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(register) });
    expect(registered.status).toBe(201);
    const { accessToken } = (await registered.json()) as { accessToken: string };

    const publish = document.paths['/api/v1/channels/{channel}/events']!.post!;
    const body = publish.requestBody!.content['application/json'].example as { idempotencyKey: string; payload: unknown };
    expect(body.idempotencyKey).not.toBe('string');
    const channel = (publish as unknown as { parameters: Array<{ name: string; example: string }> }).parameters.find((p) => p.name === 'channel')!.example;
    const published = await fetch(`${server.url}/api/v1/channels/${channel}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(published.status).toBe(201);
  }, 30_000);
});
