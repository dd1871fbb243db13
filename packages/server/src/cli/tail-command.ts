import { parseArgs } from 'node:util';
import { ApiXClient, type StreamPosition } from '@apix/sdk';
import { EPOCH_PATTERN, parseChannelName } from '@apix/protocol';
import { WebSocket } from 'ws';
import { CONNECTION_OPTIONS_HELP, credential, withUsageErrors, positiveInteger, serverUrl, UsageError, type CliCommand, type CliIo } from './cli-command.js';

/** How long to wait for the first connection before saying why it failed. */
const CONNECT_WAIT_MS = 15_000;

export const tailCommand: CliCommand = {
  name: 'tail',
  summary: 'subscribe to a channel and print its events (resumable with --since)',
  usage: `usage: apix tail <channel> [--since <epoch>:<offset>] [--count <n>] [--url <url>] [--token <token>]

Subscribes and prints one JSON line per event: { channel, offset, epoch, type, payload, metadata }.
Reconnects by itself and resumes without gaps or repeats. On exit (Ctrl-C, or after --count
events) it prints to stderr the --since that resumes exactly where it stopped.

  --since <epoch>:<offset>   start after this position (from a previous run)
  --count <n>                exit after n events
${CONNECTION_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = withUsageErrors(() => parseArgs({ args, options: { since: { type: 'string' }, count: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' } }, strict: true, allowPositionals: true }));
    const [channel, ...extra] = positionals;
    if (!channel || extra.length > 0) throw new UsageError('give exactly one channel');
    const problem = parseChannelName(channel);
    if (typeof problem === 'string') throw new UsageError(`channel: ${problem}`);
    const since = values.since === undefined ? undefined : parsePosition(values.since);
    const count = positiveInteger('count', values.count);
    const base = serverUrl(values.url, io.env);
    const wsUrl = new URL('/ws', base);
    wsUrl.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
    return tail(io, { url: wsUrl.toString(), token: credential(values.token, io.env), channel, since, count });
  },
};

function parsePosition(value: string): StreamPosition {
  const match = /^(.+):([0-9]+)$/.exec(value);
  if (!match || !EPOCH_PATTERN.test(match[1]!) || !Number.isSafeInteger(Number(match[2]))) {
    throw new UsageError(`--since must be <epoch>:<offset>, as printed by a previous run (got "${value}")`);
  }
  return { epoch: match[1]!, offset: Number(match[2]) };
}

async function tail(io: CliIo, options: { url: string; token: string; channel: string; since: StreamPosition | undefined; count: number | undefined }): Promise<number> {
  const client = new ApiXClient(options.url, { token: options.token, WebSocket, clientType: 'API_CLIENT', name: 'apix tail' });
  const sub = client.newSubscription(options.channel, options.since ? { since: options.since } : {});
  let received = 0;
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const stop = (code: number): void => {
    const position = sub.position;
    if (position) io.err(`resume with: --since ${position.epoch}:${position.offset}\n`);
    client.disconnect();
    finish(code);
  };
  client.on('disconnected', ({ cause }) => io.err(`apix: disconnected (${cause.message}); reconnecting\n`));
  client.on('closed', ({ cause }) => {
    if (cause.kind !== 'client-closed') {
      io.err(`apix: stopped: ${cause.message}\n`);
      finish(1);
    }
  });
  sub.on('subscribed', ({ channel, recovering, recovered, missed, position }) => {
    io.err(`apix: tailing ${channel} (stream at ${position.epoch}:${position.offset}${recovering && recovered ? ', resumed with nothing missed' : ''})\n`);
    if (recovering && !recovered) io.err(`apix: gap: ${missed ?? 'an unknown number of'} events are no longer in the log; continuing from ${position.epoch}:${position.offset}\n`);
  });
  sub.on('unsubscribed', ({ error }) => {
    if (error) {
      io.err(`apix: ${error.code}: ${error.message}\n`);
      stop(1);
    }
  });
  sub.on('publication', ({ channel, offset, epoch, event }) => {
    io.out(`${JSON.stringify({ channel, offset, epoch, type: event.type, payload: event.payload, metadata: event.metadata })}\n`);
    received += 1;
    if (options.count !== undefined && received >= options.count) stop(0);
  });
  const onSignal = (): void => stop(0);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  sub.subscribe();
  client.connect();
  try {
    await client.ready(CONNECT_WAIT_MS);
  } catch (error) {
    io.err(`apix: ${error instanceof Error ? error.message : String(error)}\n`);
    client.disconnect();
    return 1;
  }
  const code = await finished;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return code;
}
