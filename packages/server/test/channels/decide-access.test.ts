import { parseChannelName, type ChannelPermissions, type ParsedChannel } from '@apix/protocol';
import { describe, expect, it } from 'vitest';
import { decideAccess, type ChannelAction } from '../../src/channels/channel-authorizer.js';
import type { Principal } from '../../src/identity/principal.js';

const user = (userId: string, roles: string[] = []): Principal => ({ kind: 'user', userId, organizationId: 'o', roles, scopes: [], expiresAt: Infinity });
const key = (...scopes: Principal['scopes'][number][]): Principal => ({ kind: 'api_key', userId: 'key_1', organizationId: 'o', roles: [], scopes, expiresAt: Infinity, credentialId: '1' });
const ch = (name: string) => parseChannelName(name) as ParsedChannel;

describe('decideAccess', () => {
  const cases: Array<[string, Principal, string, ChannelAction, ChannelPermissions | undefined, boolean]> = [
    ['own user channel', user('ann'), 'user:ann', 'subscribe', undefined, true],
    ["someone else's user channel", user('bob'), 'user:ann', 'subscribe', undefined, false],
    ['a row cannot open a user channel', user('bob'), 'user:ann:inbox', 'subscribe', { subscribe: ['*'] }, false],
    ['API key publishes to a user channel', key('publish'), 'user:ann', 'publish', undefined, true],
    ['API key cannot read a user channel', key('subscribe', 'history'), 'user:ann', 'subscribe', undefined, false],
    ['default: member publishes to agent', user('ann'), 'agent:a', 'publish', undefined, true],
    ['default: member cannot publish to system', user('ann', ['member']), 'system:n', 'publish', undefined, false],
    ['default: service publishes to system', user('svc', ['service']), 'system:n', 'publish', undefined, true],
    ['default: member reads system', user('ann'), 'system:n', 'history', undefined, true],
    ['row: role listed', user('ann', ['ops']), 'room:r', 'publish', { publish: ['ops'] }, true],
    ['row: role not listed', user('ann', ['member']), 'room:r', 'publish', { publish: ['ops'] }, false],
    ['row: star admits every member', user('ann'), 'room:r', 'subscribe', { subscribe: ['*'] }, true],
    ['row: other actions keep the default', user('ann'), 'room:r', 'history', { publish: ['ops'] }, true],
    ['row: empty list admits nobody', user('ann', ['admin']), 'room:r', 'subscribe', { subscribe: [] }, false],
    ['row: api_key with scope', key('subscribe'), 'room:r', 'subscribe', { subscribe: ['api_key'] }, true],
    ['row: api_key without scope', key('publish'), 'room:r', 'subscribe', { subscribe: ['api_key'] }, false],
    ['row: list without api_key refuses keys', key('admin'), 'room:r', 'subscribe', { subscribe: ['*'] }, false],
    ['default: key scope decides', key('history'), 'agent:a', 'history', undefined, true],
    ['default: key lacking scope', key('history'), 'agent:a', 'publish', undefined, false],
    ['default: admin scope implies all', key('admin'), 'system:n', 'publish', undefined, true],
  ];
  it.each(cases)('%s', (_name, principal, channel, action, permissions, expected) => {
    expect(decideAccess(principal, principal.roles, ch(channel), action, permissions)).toBe(expected);
  });
});
