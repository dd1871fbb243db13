import { parseArgs } from 'node:util';
import { parseChannelName } from '@apix/protocol';
import { CONNECTION_OPTIONS_HELP, credential, withUsageErrors, serverUrl, UsageError, type CliCommand } from './cli-command.js';
import { httpCall } from './http-call.js';

export const publishCommand: CliCommand = {
  name: 'publish',
  summary: 'publish one event to a channel (HTTP)',
  usage: `usage: apix publish <channel> --type <type> [--payload <json>] [--idempotency-key <key>] [--url <url>] [--token <token>]

Publishes one event and prints its position as JSON ({ channel, offset, epoch, duplicate }).

  --type <type>              event type, e.g. agent_status_update or order.created
  --payload <json>           the payload as JSON (default null)
  --idempotency-key <key>    repeat the command with the same key: appended once
${CONNECTION_OPTIONS_HELP}

example: apix publish agent:demo --type agent_status_update --payload '{"agentId":"demo","status":"running"}'`,
  async run(args, io) {
    const { values, positionals } = withUsageErrors(() => parseArgs({ args, options: { type: { type: 'string' }, payload: { type: 'string' }, 'idempotency-key': { type: 'string' }, url: { type: 'string' }, token: { type: 'string' } }, strict: true, allowPositionals: true }));
    const [channel, ...extra] = positionals;
    if (!channel || extra.length > 0) throw new UsageError('give exactly one channel');
    const problem = parseChannelName(channel);
    if (typeof problem === 'string') throw new UsageError(`channel: ${problem}`);
    if (!values.type) throw new UsageError('--type is required');
    let payload: unknown = null;
    if (values.payload !== undefined) {
      try {
        payload = JSON.parse(values.payload);
      } catch {
        throw new UsageError(`--payload must be JSON (got ${values.payload.slice(0, 60)})`);
      }
    }
    const url = new URL(`/api/v1/channels/${encodeURIComponent(channel)}/events`, serverUrl(values.url, io.env));
    const result = await httpCall(io, url, {
      method: 'POST',
      headers: { authorization: `Bearer ${credential(values.token, io.env)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: values.type, payload, ...(values['idempotency-key'] ? { idempotencyKey: values['idempotency-key'] } : {}) }),
    });
    if (result === undefined) return 1;
    io.out(`${JSON.stringify(result)}\n`);
    return 0;
  },
};
