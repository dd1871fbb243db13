import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CloseCodes,
  DOMAIN_EVENT_TYPES,
  ErrorCodes,
  PROTOCOL_EVENT_TYPES,
  clientFrameSchema,
  historyResultSchema,
  isClientFrameType,
  publishEventSchema,
  publishResultSchema,
  serverFrameSchema,
  shouldReconnect,
  subscribeResultSchema,
  subscriptionFiltersSchema,
} from '@apix/protocol';
import type { z } from 'zod';

// docs/protocol.md is the newcomer's reference; these checks keep its tables in step with the code.
const doc = readFileSync(fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url)), 'utf8');

/** Cells of the markdown table row whose first cell is exactly `first`. */
function row(first: string): string[] | undefined {
  for (const line of doc.split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells[0] === first) return cells;
  }
  return undefined;
}

const SERVER_FRAME_TYPES = ['reply', 'heartbeat.pong', 'connection.established', 'connection.error', 'subscription.added', 'subscription.removed', 'event', 'connection.closing', 'message.failed', 'session.renewed'];

/** Which schema a JSON example of the document is an instance of, judged by its shape. */
function schemaFor(example: Record<string, unknown>): z.ZodType | undefined {
  const type = example.type;
  if (typeof type === 'string') {
    if (isClientFrameType(type)) return clientFrameSchema;
    if (SERVER_FRAME_TYPES.includes(type)) return serverFrameSchema;
    return publishEventSchema;
  }
  if ('subscriptions' in example) return subscribeResultSchema;
  if ('publications' in example) return historyResultSchema;
  if ('duplicate' in example) return publishResultSchema;
  if ('types' in example || 'payload' in example || 'metadata' in example) return subscriptionFiltersSchema;
  return undefined;
}

describe('docs/protocol.md', () => {
  it.each(Object.values(ErrorCodes))('lists $code with its HTTP status and retryable flag', (def) => {
    const cells = row(`\`${def.code}\``);
    expect(cells, `no error table row for ${def.code}`).toBeDefined();
    expect(cells![1]).toBe(String(def.httpStatus));
    expect(cells![2]).toBe(def.retryable ? 'yes' : 'no');
  });

  it('lists no error code that the catalogue does not have', () => {
    const known = new Set<string>(Object.values(ErrorCodes).map((d) => d.code));
    const mentioned = new Set(doc.match(/APIX_ERR_[A-Z_]+/g) ?? []);
    expect([...mentioned].filter((c) => !known.has(c))).toEqual([]);
  });

  it.each(Object.entries(CloseCodes))('lists close code %s (%i) with the reconnect answer shouldReconnect gives', (name, code) => {
    const cells = row(String(code));
    expect(cells, `no close-code row for ${code}`).toBeDefined();
    expect(cells![1]).toBe(`\`${name}\``);
    expect(cells![3]!.startsWith(shouldReconnect(code) ? 'yes' : 'no')).toBe(true);
  });

  it('names every reserved protocol event type and every domain event type', () => {
    for (const type of [...PROTOCOL_EVENT_TYPES, ...DOMAIN_EVENT_TYPES]) expect(doc).toContain(`\`${type}\``);
  });

  it('describes all seven client frames and all nine server frames', () => {
    for (const t of ['connect', 'subscribe', 'unsubscribe', 'publish', 'history', 'heartbeat.ping', 'refresh']) {
      expect(doc).toContain(`### ${t}\n`);
    }
    for (const t of SERVER_FRAME_TYPES) {
      expect(doc).toContain(`### ${t}\n`);
    }
  });

  it('has JSON examples that the protocol schemas accept', () => {
    const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThan(15);
    for (const block of blocks) {
      const example = JSON.parse(block) as Record<string, unknown>;
      const schema = schemaFor(example);
      expect(schema, `no schema recognises this example:\n${block}`).toBeDefined();
      const result = schema!.safeParse(example);
      expect(result.success, `${block}\n${JSON.stringify(result.error?.issues)}`).toBe(true);
    }
  });
});
