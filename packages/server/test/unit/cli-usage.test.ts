import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/built-server.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../../', import.meta.url));

/** `apix --help` and argument errors of the built CLI (cli.ts). */
const cli = (args: string[], env: Record<string, string> = {}) => run('node', ['packages/server/dist/cli.js', ...args], { cwd: root, env: { ...process.env, ...env }, timeout: 30_000 });
const failure = (args: string[], env: Record<string, string> = {}) =>
  cli(args, env).then(
    () => {
      throw new Error(`apix ${args.join(' ')} succeeded`);
    },
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

describe('apix help and argument errors', () => {
  beforeAll(async () => {
    await ensureBuilt();
  }, 120_000);

  it('apix --help, -h, help [command] and <command> --help print usage to stdout and exit 0', async () => {
    const cases = [['--help'], ['-h'], ['help'], ['help', 'tail'], ['token', '--help'], ['publish', '--help'], ['tail', '-h'], ['status', '--help'], ['migrate', '--help']];
    const results = await Promise.all(cases.map((args) => cli(args)));
    for (const { stdout, stderr } of results) {
      expect(stdout).toMatch(/^usage: apix/);
      expect(stderr).toBe('');
    }
    expect(results[3]!.stdout).toMatch(/^usage: apix tail/);
  }, 60_000);

  it('lists every command in the top-level help', async () => {
    const { stdout } = await cli(['--help']);
    for (const command of ['token', 'publish', 'tail', 'status', 'migrate']) expect(stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it('bad values are errors, never silently defaulted: exit 2, the message on stderr, nothing on stdout', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['token', '--org', 'acme', '--user', 'alice', '--ttl', 'abc'], /--ttl must be a whole number greater than 0 \(got "abc"\)/],
      [['token', '--org', 'acme', '--user', 'alice', '--ttl', '0'], /--ttl must be a whole number/],
      [['token', '--org', 'acme', '--user', 'alice', '--bogus'], /Unknown option '--bogus'/],
      [['publish', 'agent:x', '--type', 'note', '--payload', '{not json', '--token', 't'], /--payload must be JSON/],
      [['publish', 'Agent:x', '--type', 'note', '--token', 't'], /channel: unknown channel namespace/],
      [['publish', 'agent:x', '--type', 'note'], /a credential is needed/],
      [['tail', 'agent:x', '--since', 'nonsense', '--token', 't'], /--since must be <epoch>:<offset>/],
      [['tail', 'agent:x', '--count', 'many', '--token', 't'], /--count must be a whole number/],
      [['status', '--url', 'ftp://x'], /--url must be http/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [[], /^usage: apix/],
    ];
    const results = await Promise.all(cases.map(([args]) => failure(args, { APIX_TOKEN: '' })));
    results.forEach((error, i) => {
      expect(error.code, cases[i]![0].join(' ')).toBe(2);
      expect(error.stderr, cases[i]![0].join(' ')).toMatch(cases[i]![1]);
      expect(error.stdout).toBe('');
    });
  }, 60_000);
});

