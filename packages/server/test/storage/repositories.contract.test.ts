import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ChannelType, ClientType, ConnectionStatus } from '@apix/protocol';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRowInput } from '../../src/storage/audit-repository.js';
import { InvalidAuditCursorError } from '../../src/storage/audit-repository.js';
import { InvalidChannelNameError } from '../../src/storage/channel-repository.js';
import { DEFAULT_MIGRATIONS_FOLDER } from '../../src/storage/database.js';
import type { ArchivedEventInput } from '../../src/storage/event-archive-repository.js';
import { createRepositories, type Repositories } from '../../src/storage/repositories.js';
import { AuditActorType, AuditOutcome } from '../../src/storage/schema.js';
import { StorageConflictError } from '../../src/storage/storage-errors.js';
import { BACKENDS, openTestDatabase, rowsOf, uniqueId, type TestDatabase } from './support/test-databases.js';

/**
 * One contract for every repository, run over embedded PGlite and the machine's real
 * PostgreSQL. Each backend gets one fresh database for the whole file (PGlite's first open
 * is slow); tests stay independent by using their own random organisation and user ids.
 */
describe.each(BACKENDS)('storage contract over %s', (kind) => {
  let database: TestDatabase;
  let repos: Repositories;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    repos = createRepositories(database.handle.db);
  });

  afterAll(async () => {
    await database?.dispose();
  });

  const at = (iso: string) => new Date(iso);

  async function newOrganization(): Promise<string> {
    const org = await repos.organizations.create({ id: uniqueId('org'), name: 'Test org' });
    return org.id;
  }

  async function newUser(): Promise<string> {
    const user = await repos.users.create({ email: `${uniqueId('u')}@example.test`, passwordHash: 'hash' });
    return user.id;
  }

  describe('migrations', () => {
    it('create every table from scratch and record each migration once', async () => {
      expect(database.handle.kind).toBe(kind);
      const tables = await rowsOf<{ table_name: string }>(
        database.handle,
        sql`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
      );
      expect(tables.map((t) => t.table_name)).toEqual([
        'api_keys',
        'audit_log',
        'channels',
        'connections',
        'events',
        'memberships',
        'organization_quotas',
        'organizations',
        'refresh_tokens',
        'users',
      ]);
      const journal = JSON.parse(await readFile(join(DEFAULT_MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as {
        entries: unknown[];
      };
      const applied = await rowsOf<{ count: number }>(database.handle, sql`SELECT count(*)::integer AS count FROM drizzle.__drizzle_migrations`);
      expect(Number(applied[0]!.count)).toBe(journal.entries.length);
      await expect(database.handle.ping()).resolves.toBeUndefined();
    });
  });

  describe('organizations', () => {
    it('creates, finds, renames and deletes', async () => {
      const id = uniqueId('org');
      const created = await repos.organizations.create({ id, name: 'Acme' });
      expect(created).toMatchObject({ id, name: 'Acme' });
      expect(created.createdAt).toBeInstanceOf(Date);
      expect(await repos.organizations.findById(id)).toEqual(created);
      expect((await repos.organizations.rename(id, 'Acme 2'))?.name).toBe('Acme 2');
      expect(await repos.organizations.delete(id)).toBe(true);
      expect(await repos.organizations.findById(id)).toBeUndefined();
      expect(await repos.organizations.delete(id)).toBe(false);
    });

    it('generates an id in the channel-key grammar when none is given', async () => {
      const created = await repos.organizations.create({ name: 'Generated' });
      expect(created.id).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    });

    it('refuses a duplicate id and an id outside the grammar', async () => {
      const id = uniqueId('org');
      await repos.organizations.create({ id, name: 'A' });
      await expect(repos.organizations.create({ id, name: 'B' })).rejects.toBeInstanceOf(StorageConflictError);
      await expect(repos.organizations.create({ id: 'acme/evil', name: 'C' })).rejects.toThrow();
    });
  });

  describe('users', () => {
    it('stores emails lower-cased and finds them case-insensitively', async () => {
      const local = uniqueId('Mixed');
      const user = await repos.users.create({ email: `  ${local}@Example.TEST `, passwordHash: 'h1', displayName: 'Ann' });
      expect(user.email).toBe(`${local.toLowerCase()}@example.test`);
      expect(await repos.users.findByEmail(`${local.toUpperCase()}@EXAMPLE.test`)).toEqual(user);
      expect(await repos.users.findById(user.id)).toEqual(user);
      await expect(repos.users.create({ email: `${local}@example.test` })).rejects.toBeInstanceOf(StorageConflictError);
    });

    it('changes the password hash and disables and re-enables', async () => {
      const id = await newUser();
      expect(await repos.users.setPasswordHash(id, 'h2')).toBe(true);
      expect((await repos.users.findById(id))?.passwordHash).toBe('h2');
      expect(await repos.users.disable(id, at('2026-01-01T00:00:00Z'))).toBe(true);
      expect((await repos.users.findById(id))?.disabledAt?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
      expect(await repos.users.enable(id)).toBe(true);
      expect((await repos.users.findById(id))?.disabledAt).toBeNull();
      expect(await repos.users.setDisplayName('no-such-user', 'x')).toBe(false);
    });
  });

  describe('memberships', () => {
    it('adds, updates and removes members, never exposing password hashes', async () => {
      const org = await newOrganization();
      const [u1, u2] = [await newUser(), await newUser()];
      await repos.memberships.put(org, u1, ['owner']);
      await repos.memberships.put(org, u2, ['member']);
      await repos.memberships.put(org, u2, ['member', 'publisher']); // put again replaces roles
      expect((await repos.memberships.find(org, u2))?.roles).toEqual(['member', 'publisher']);
      expect((await repos.memberships.setRoles(org, u1, ['admin']))?.roles).toEqual(['admin']);

      const members = await repos.memberships.listMembers(org);
      expect(members.map((m) => m.userId)).toEqual([u1, u2].sort());
      for (const member of members) expect(member).not.toHaveProperty('passwordHash');

      const page1 = await repos.memberships.listMembers(org, { limit: 1 });
      const page2 = await repos.memberships.listMembers(org, { limit: 1, afterUserId: page1[0]!.userId });
      expect([...page1, ...page2].map((m) => m.userId)).toEqual([u1, u2].sort());

      const orgsOfU1 = await repos.memberships.listOrganizationsOfUser(u1);
      expect(orgsOfU1).toEqual([{ organizationId: org, name: 'Test org', roles: ['admin'] }]);

      expect(await repos.memberships.remove(org, u2)).toBe(true);
      expect(await repos.memberships.find(org, u2)).toBeUndefined();
      expect(await repos.memberships.setRoles(org, u2, ['x'])).toBeUndefined();
    });

    it('disappear with their organisation', async () => {
      const org = await newOrganization();
      const user = await newUser();
      await repos.memberships.put(org, user, ['owner']);
      await repos.organizations.delete(org);
      expect(await repos.memberships.listOrganizationsOfUser(user)).toEqual([]);
    });
  });

  describe('api keys', () => {
    it('creates, authenticates by prefix, lists without hashes and revokes', async () => {
      const org = await newOrganization();
      const prefix = uniqueId('ak');
      const created = await repos.apiKeys.create({ organizationId: org, name: 'ci', keyPrefix: prefix, keyHash: 'sha256:abc', scopes: ['publish'] });
      expect(created).not.toHaveProperty('keyHash');
      expect(created).toMatchObject({ organizationId: org, name: 'ci', keyPrefix: prefix, scopes: ['publish'], revokedAt: null });

      const found = await repos.apiKeys.findActiveByPrefix(prefix);
      expect(found).toMatchObject({ id: created.id, organizationId: org, keyHash: 'sha256:abc' });

      const listed = await repos.apiKeys.listByOrganization(org);
      expect(listed.map((k) => k.id)).toEqual([created.id]);
      expect(listed[0]).not.toHaveProperty('keyHash');

      await expect(
        repos.apiKeys.create({ organizationId: org, name: 'dup', keyPrefix: prefix, keyHash: 'x', scopes: [] }),
      ).rejects.toBeInstanceOf(StorageConflictError);

      expect(await repos.apiKeys.revoke(org, created.id, at('2026-02-01T00:00:00Z'))).toBe(true);
      expect(await repos.apiKeys.revoke(org, created.id, at('2026-02-02T00:00:00Z'))).toBe(false);
      expect(await repos.apiKeys.findActiveByPrefix(prefix)).toBeUndefined();
      expect((await repos.apiKeys.findById(org, created.id))?.revokedAt?.toISOString()).toBe('2026-02-01T00:00:00.000Z');
    });

    it('only moves lastUsedAt forward', async () => {
      const org = await newOrganization();
      const key = await repos.apiKeys.create({ organizationId: org, name: 'k', keyPrefix: uniqueId('ak'), keyHash: 'h', scopes: [] });
      await repos.apiKeys.touchLastUsed(org, key.id, at('2026-03-02T00:00:00Z'));
      await repos.apiKeys.touchLastUsed(org, key.id, at('2026-03-01T00:00:00Z'));
      expect((await repos.apiKeys.findById(org, key.id))?.lastUsedAt?.toISOString()).toBe('2026-03-02T00:00:00.000Z');
    });
  });

  describe('refresh tokens', () => {
    async function login(expiresAt = at('2099-01-01T00:00:00Z')) {
      const org = await newOrganization();
      const user = await newUser();
      const token = await repos.refreshTokens.issue({ tokenHash: uniqueId('rt'), userId: user, organizationId: org, expiresAt });
      return { org, user, token };
    }
    const now = at('2026-06-01T00:00:00Z');
    const next = () => ({ tokenHash: uniqueId('rt'), expiresAt: at('2099-01-01T00:00:00Z') });

    it('rotates within the family and links the old token to its successor', async () => {
      const { token } = await login();
      const rotation = await repos.refreshTokens.rotate(token.tokenHash, next(), now);
      if (rotation.status !== 'rotated') throw new Error(`expected rotated, got ${rotation.status}`);
      expect(rotation.token.familyId).toBe(token.familyId);
      expect(rotation.previous).toMatchObject({ id: token.id, replacedById: rotation.token.id });
      expect(rotation.previous.revokedAt?.toISOString()).toBe(now.toISOString());
      const again = await repos.refreshTokens.rotate(rotation.token.tokenHash, next(), now);
      expect(again.status).toBe('rotated');
    });

    it('treats reuse of a rotated token as theft and revokes the whole family', async () => {
      const { token, user, org } = await login();
      const first = await repos.refreshTokens.rotate(token.tokenHash, next(), now);
      if (first.status !== 'rotated') throw new Error('expected rotated');
      const reuse = await repos.refreshTokens.rotate(token.tokenHash, next(), now);
      expect(reuse).toEqual({ status: 'reused', familyId: token.familyId, userId: user, organizationId: org });
      // The successor, in the attacker's or the victim's hands, is dead too.
      expect(await repos.refreshTokens.rotate(first.token.tokenHash, next(), now)).toMatchObject({ status: 'reused' });
      expect((await repos.refreshTokens.findByHash(first.token.tokenHash))?.revokedAt).not.toBeNull();
    });

    it('lets exactly one of two concurrent uses of the same token rotate it', async () => {
      const { token } = await login();
      const results = await Promise.all([
        repos.refreshTokens.rotate(token.tokenHash, next(), now),
        repos.refreshTokens.rotate(token.tokenHash, next(), now),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['reused', 'rotated']);
    });

    it('reports expired and unknown tokens without changing anything', async () => {
      const { token } = await login(at('2026-05-01T00:00:00Z'));
      expect(await repos.refreshTokens.rotate(token.tokenHash, next(), now)).toMatchObject({ status: 'expired' });
      expect((await repos.refreshTokens.findByHash(token.tokenHash))?.revokedAt).toBeNull();
      expect(await repos.refreshTokens.rotate('no-such-hash', next(), now)).toEqual({ status: 'unknown' });
    });

    it('revokes a family, all tokens of a user, and deletes expired tokens', async () => {
      const { token, user, org } = await login();
      const other = await repos.refreshTokens.issue({ tokenHash: uniqueId('rt'), userId: user, organizationId: org, expiresAt: at('2099-01-01T00:00:00Z') });
      expect(await repos.refreshTokens.revokeFamily(token.familyId, now)).toBe(1);
      expect(await repos.refreshTokens.revokeFamily(token.familyId, now)).toBe(0);
      expect(await repos.refreshTokens.revokeAllOfUser(user, now)).toBe(1);
      expect((await repos.refreshTokens.findByHash(other.tokenHash))?.revokedAt).not.toBeNull();

      const old = await login(at('2000-01-01T00:00:00Z'));
      expect(await repos.refreshTokens.deleteExpired(at('2001-01-01T00:00:00Z'))).toBeGreaterThanOrEqual(1);
      expect(await repos.refreshTokens.findByHash(old.token.tokenHash)).toBeUndefined();
    });
  });

  describe('channels', () => {
    it('derives the type from the name and keeps names unique per organisation only', async () => {
      const [orgA, orgB] = [await newOrganization(), await newOrganization()];
      const channel = await repos.channels.create(orgA, 'agent:a1', { persistEvents: true, historySize: 50 });
      expect(channel).toMatchObject({
        organizationId: orgA,
        name: 'agent:a1',
        type: ChannelType.AGENT_EVENTS,
        persistEvents: true,
        historySize: 50,
        historyTtlMs: null,
        acknowledgmentRequired: false,
        auditPublishMode: 'all',
        subscribers: 0,
        permissions: {},
      });
      await expect(repos.channels.create(orgA, 'agent:a1')).rejects.toBeInstanceOf(StorageConflictError);
      // The seed made names globally unique; here another organisation may use the same name.
      expect((await repos.channels.create(orgB, 'agent:a1')).organizationId).toBe(orgB);
      expect((await repos.channels.create(orgA, 'user:u1')).type).toBe(ChannelType.PRIVATE_USER);
      expect((await repos.channels.create(orgA, 'room:r1')).type).toBe(ChannelType.ORGANIZATION);
    });

    it('refuses names outside the channel grammar before touching SQL', async () => {
      const org = await newOrganization();
      for (const bad of ['', 'Agent:x', 'agent:a b', 'agent:*', "agent:x'; DROP TABLE channels; --", 'nope:x']) {
        await expect(repos.channels.create(org, bad)).rejects.toBeInstanceOf(InvalidChannelNameError);
        await expect(repos.channels.ensure(org, bad)).rejects.toBeInstanceOf(InvalidChannelNameError);
      }
    });

    it('ensures a channel exactly once under concurrency', async () => {
      const org = await newOrganization();
      const rows = await Promise.all(Array.from({ length: 8 }, () => repos.channels.ensure(org, 'tool:t1')));
      expect(new Set(rows.map((r) => r.id)).size).toBe(1);
      expect(await repos.channels.list(org)).toHaveLength(1);
    });

    it('lists by type with name-cursor pages, updates settings and deletes', async () => {
      const org = await newOrganization();
      for (const name of ['workflow:w2', 'workflow:w1', 'agent:a1', 'workflow:w3']) await repos.channels.create(org, name);
      const workflows = await repos.channels.list(org, { type: ChannelType.WORKFLOW_EVENTS, limit: 2 });
      expect(workflows.map((c) => c.name)).toEqual(['workflow:w1', 'workflow:w2']);
      const rest = await repos.channels.list(org, { type: ChannelType.WORKFLOW_EVENTS, afterName: 'workflow:w2' });
      expect(rest.map((c) => c.name)).toEqual(['workflow:w3']);

      const updated = await repos.channels.updateSettings(org, 'agent:a1', {
        acknowledgmentRequired: true,
        auditPublishMode: 'sampled',
        auditSampleRate: 0.5,
        archiveRetentionMs: 86_400_000,
        permissions: { subscribe: ['member'] },
      });
      expect(updated).toMatchObject({ acknowledgmentRequired: true, auditPublishMode: 'sampled', auditSampleRate: 0.5, archiveRetentionMs: 86_400_000, permissions: { subscribe: ['member'] } });
      await expect(repos.channels.updateSettings(org, 'agent:a1', { auditSampleRate: 2 })).rejects.toThrow();
      expect(await repos.channels.delete(org, 'agent:a1')).toBe(true);
      expect(await repos.channels.findByName(org, 'agent:a1')).toBeUndefined();
    });

    it('adjusts subscriber counts atomically and never below zero', async () => {
      const org = await newOrganization();
      await repos.channels.create(org, 'system:s1');
      await Promise.all(Array.from({ length: 20 }, () => repos.channels.adjustSubscribers(org, 'system:s1', 1)));
      expect((await repos.channels.findByName(org, 'system:s1'))?.subscribers).toBe(20);
      expect(await repos.channels.adjustSubscribers(org, 'system:s1', -25)).toBe(0);
      expect(await repos.channels.adjustSubscribers(org, 'system:none', 1)).toBeUndefined();
    });
  });

  describe('connections', () => {
    const opened = (organizationId: string, sessionId: string, extra: Partial<{ userId: string; nodeId: string; at: Date }> = {}) => ({
      organizationId,
      sessionId,
      userId: extra.userId ?? 'user-1',
      clientType: ClientType.WEB_APP,
      channels: ['agent:a1'],
      metadata: { ua: 'test' },
      nodeId: extra.nodeId ?? 'node-1',
      at: extra.at ?? at('2026-04-01T00:00:00Z'),
    });

    it('records a connection and updates the same row on resume', async () => {
      const org = await newOrganization();
      const session = uniqueId('s');
      const first = await repos.connections.recordConnected(opened(org, session));
      expect(first).toMatchObject({ organizationId: org, sessionId: session, status: ConnectionStatus.CONNECTED, channels: ['agent:a1'], metadata: { ua: 'test' } });
      await repos.connections.setStatus(org, session, ConnectionStatus.DISCONNECTED, at('2026-04-01T00:01:00Z'));
      const resumed = await repos.connections.recordConnected({ ...opened(org, session, { nodeId: 'node-2', at: at('2026-04-01T00:02:00Z') }) });
      expect(resumed.id).toBe(first.id);
      expect(resumed).toMatchObject({ status: ConnectionStatus.CONNECTED, nodeId: 'node-2', disconnectedAt: null });
      expect(resumed.connectedAt.toISOString()).toBe('2026-04-01T00:00:00.000Z');
      expect(resumed.lastHeartbeat.toISOString()).toBe('2026-04-01T00:02:00.000Z');
    });

    it('ignores status and channel writes of an earlier connection of a resumed session (the row belongs to its latest connection)', async () => {
      const org = await newOrganization();
      const session = uniqueId('s');
      const old = { ...opened(org, session), metadata: { connectionId: 'conn_old' } };
      await repos.connections.recordConnected(old);
      await repos.connections.recordConnected({ ...opened(org, session, { nodeId: 'node-2' }), metadata: { connectionId: 'conn_new' } });
      // The old connection's close lands late, from its node: it must not mark the resumed one.
      const late = { organizationId: org, sessionId: session, connectionId: 'conn_old' };
      expect(await repos.connections.setStatusBatch([{ ...late, status: ConnectionStatus.DISCONNECTED, at: at('2026-04-01T00:05:00Z') }])).toBe(0);
      expect(await repos.connections.setChannelsBatch([{ ...late, channels: [] }])).toBe(0);
      expect(await repos.connections.findBySessionId(org, session)).toMatchObject({ status: ConnectionStatus.CONNECTED, nodeId: 'node-2', channels: ['agent:a1'] });
      const current = { organizationId: org, sessionId: session, connectionId: 'conn_new' };
      expect(await repos.connections.setStatusBatch([{ ...current, status: ConnectionStatus.DISCONNECTED, at: at('2026-04-01T00:06:00Z') }])).toBe(1);
    });

    it('never lets another organisation take over a session id', async () => {
      const [orgA, orgB] = [await newOrganization(), await newOrganization()];
      const session = uniqueId('s');
      await repos.connections.recordConnected(opened(orgA, session));
      await expect(repos.connections.recordConnected(opened(orgB, session, { userId: 'intruder' }))).rejects.toBeInstanceOf(StorageConflictError);
      expect((await repos.connections.findBySessionId(orgA, session))?.userId).toBe('user-1');
    });

    it('writes opens, status changes and channel lists of many sessions in one statement each, each in its own organisation', async () => {
      const [orgA, orgB] = [await newOrganization(), await newOrganization()];
      const [s1, s2, taken] = [uniqueId('b1'), uniqueId('b2'), uniqueId('b3')];
      await repos.connections.recordConnected(opened(orgA, taken));
      // The batch may not take over orgA's session for orgB, but writes the others.
      expect(await repos.connections.recordConnectedBatch([opened(orgB, s1), opened(orgB, s2), opened(orgB, taken, { userId: 'intruder' })])).toBe(2);
      expect((await repos.connections.findBySessionId(orgA, taken))?.userId).toBe('user-1');
      expect(
        await repos.connections.setStatusBatch([
          { organizationId: orgB, sessionId: s1, status: ConnectionStatus.DISCONNECTED, at: at('2026-04-01T00:09:00Z') },
          { organizationId: orgB, sessionId: s2, status: ConnectionStatus.RECONNECTING, at: at('2026-04-01T00:09:00Z') },
          { organizationId: orgB, sessionId: taken, status: ConnectionStatus.DISCONNECTED, at: at('2026-04-01T00:09:00Z') },
        ]),
      ).toBe(2);
      expect(await repos.connections.findBySessionId(orgB, s1)).toMatchObject({ status: ConnectionStatus.DISCONNECTED });
      expect((await repos.connections.findBySessionId(orgB, s1))?.disconnectedAt?.toISOString()).toBe('2026-04-01T00:09:00.000Z');
      expect(await repos.connections.findBySessionId(orgB, s2)).toMatchObject({ status: ConnectionStatus.RECONNECTING, disconnectedAt: null });
      expect(await repos.connections.findBySessionId(orgA, taken)).toMatchObject({ status: ConnectionStatus.CONNECTED });
      expect(
        await repos.connections.setChannelsBatch([
          { organizationId: orgB, sessionId: s1, channels: ['room:x', 'agent:y'] },
          { organizationId: orgB, sessionId: s2, channels: [] },
          { organizationId: orgB, sessionId: taken, channels: ['agent:stolen'] },
        ]),
      ).toBe(2);
      expect((await repos.connections.findBySessionId(orgB, s1))?.channels).toEqual(['room:x', 'agent:y']);
      expect((await repos.connections.findBySessionId(orgB, s2))?.channels).toEqual([]);
      expect((await repos.connections.findBySessionId(orgA, taken))?.channels).toEqual(['agent:a1']);
    });

    it('sets status and channels, lists with filters, counts by status', async () => {
      const org = await newOrganization();
      const sessions = ['s1', 's2', 's3'].map((s) => `${uniqueId(s)}`).sort();
      for (const [i, session] of sessions.entries()) await repos.connections.recordConnected(opened(org, session, { userId: `user-${i % 2}` }));
      expect(await repos.connections.setStatus(org, sessions[0]!, ConnectionStatus.SUSPENDED, at('2026-04-01T00:05:00Z'))).toBe(true);
      expect(await repos.connections.setChannels(org, sessions[1]!, ['tool:t1', 'agent:a2'])).toBe(true);
      expect((await repos.connections.findBySessionId(org, sessions[1]!))?.channels).toEqual(['tool:t1', 'agent:a2']);
      expect((await repos.connections.list(org, { status: ConnectionStatus.CONNECTED })).map((c) => c.sessionId)).toEqual(sessions.slice(1));
      expect((await repos.connections.list(org, { userId: 'user-0' })).map((c) => c.sessionId)).toEqual([sessions[0], sessions[2]]);
      expect((await repos.connections.list(org, { limit: 1, afterSessionId: sessions[0] })).map((c) => c.sessionId)).toEqual([sessions[1]]);
      expect(await repos.connections.countByStatus(org)).toEqual({ CONNECTED: 2, SUSPENDED: 1, DISCONNECTED: 0, RECONNECTING: 0 });
    });

    it('touches many heartbeats in one statement, with one array parameter and forward only', async () => {
      const org = await newOrganization();
      const sessions = Array.from({ length: 300 }, () => uniqueId('hb'));
      for (const session of sessions) await repos.connections.recordConnected(opened(org, session));
      // 70,000 ids: more than PostgreSQL's 65,535 bind parameters, so an IN-list would fail.
      const ids = [...sessions, ...Array.from({ length: 70_000 - sessions.length }, (_, i) => `missing-${i}`)];
      expect(await repos.connections.touchHeartbeats(ids, at('2026-04-01T00:10:00Z'))).toBe(300);
      expect(await repos.connections.touchHeartbeats(sessions.slice(0, 5), at('2026-04-01T00:09:00Z'))).toBe(5);
      const rows = await repos.connections.list(org, { limit: 1000 });
      expect(new Set(rows.map((r) => r.lastHeartbeat.toISOString()))).toEqual(new Set(['2026-04-01T00:10:00.000Z']));
      expect(await repos.connections.touchHeartbeats([], new Date())).toBe(0);
    });

    it('marks stale and dead-node connections disconnected and cleans up', async () => {
      const org = await newOrganization();
      const node = uniqueId('node');
      const [fresh, stale, onNode] = [uniqueId('s'), uniqueId('s'), uniqueId('s')];
      await repos.connections.recordConnected(opened(org, fresh, { at: at('2030-01-01T00:00:00Z') }));
      await repos.connections.recordConnected(opened(org, stale, { at: at('2000-01-01T00:00:00Z') }));
      await repos.connections.recordConnected(opened(org, onNode, { nodeId: node, at: at('2030-01-01T00:00:00Z') }));
      expect(await repos.connections.markStaleDisconnected(at('2001-01-01T00:00:00Z'), at('2026-04-02T00:00:00Z'))).toBeGreaterThanOrEqual(1);
      expect((await repos.connections.findBySessionId(org, stale))?.status).toBe(ConnectionStatus.DISCONNECTED);
      expect((await repos.connections.findBySessionId(org, fresh))?.status).toBe(ConnectionStatus.CONNECTED);
      expect(await repos.connections.markNodeDisconnected(node, at('2026-04-02T00:00:00Z'))).toBe(1);
      expect((await repos.connections.findBySessionId(org, onNode))?.disconnectedAt?.toISOString()).toBe('2026-04-02T00:00:00.000Z');
      expect(await repos.connections.deleteDisconnectedBefore(at('2026-04-03T00:00:00Z'))).toBeGreaterThanOrEqual(2);
      expect(await repos.connections.findBySessionId(org, stale)).toBeUndefined();
      expect(await repos.connections.findBySessionId(org, fresh)).toBeDefined();
    });
  });

  describe('event archive', () => {
    const event = (organizationId: string, channel: string, epoch: string, offset: number, createdAt?: Date): ArchivedEventInput => ({
      organizationId,
      channel,
      epoch,
      offset,
      eventType: 'agent_status_update',
      payload: { offset, nested: { ok: true } },
      metadata: { timestamp: offset, version: '1' },
      ...(createdAt === undefined ? {} : { createdAt }),
    });

    it('is idempotent: the same batch twice stores each position once', async () => {
      const org = await newOrganization();
      const batch = Array.from({ length: 10 }, (_, i) => event(org, 'agent:a1', 'e1', i + 1));
      expect(await repos.events.appendBatch(batch)).toBe(10);
      expect(await repos.events.appendBatch(batch)).toBe(0);
      const overlapping = Array.from({ length: 10 }, (_, i) => event(org, 'agent:a1', 'e1', i + 6));
      expect(await repos.events.appendBatch(overlapping)).toBe(5);
      const stored = await repos.events.range(org, 'agent:a1', { limit: 1000 });
      expect(stored.map((e) => e.offset)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
      expect(stored[0]).toMatchObject({ eventType: 'agent_status_update', payload: { offset: 1, nested: { ok: true } }, acknowledgment: false, retryCount: 0 });
    });

    it('archives batches larger than one INSERT statement in one transaction', async () => {
      const org = await newOrganization();
      const batch = Array.from({ length: 2500 }, (_, i) => event(org, 'tool:big', 'e1', i + 1));
      expect(await repos.events.appendBatch(batch)).toBe(2500);
      expect(await repos.events.appendBatch(batch)).toBe(0);
    });

    it('reads ranges after a position, by time, newest first, and the latest position', async () => {
      const org = await newOrganization();
      const t = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));
      await repos.events.appendBatch([
        event(org, 'agent:a1', 'old', 1, t(0)),
        event(org, 'agent:a1', 'old', 2, t(1)),
        event(org, 'agent:a1', 'new', 1, t(2)),
        event(org, 'agent:a1', 'new', 2, t(3)),
        event(org, 'agent:a1', 'new', 3, t(4)),
        event(org, 'agent:other', 'new', 4, t(5)),
      ]);
      const since = await repos.events.range(org, 'agent:a1', { since: { epoch: 'new', offset: 1 } });
      expect(since.map((e) => [e.epoch, e.offset])).toEqual([['new', 2], ['new', 3]]);
      const byTime = await repos.events.range(org, 'agent:a1', { from: t(1), to: t(3) });
      expect(byTime.map((e) => [e.epoch, e.offset])).toEqual([['old', 2], ['new', 1]]);
      const latestTwo = await repos.events.range(org, 'agent:a1', { order: 'desc', limit: 2 });
      expect(latestTwo.map((e) => [e.epoch, e.offset])).toEqual([['new', 3], ['new', 2]]);
      expect(await repos.events.latestPosition(org, 'agent:a1')).toEqual({ epoch: 'new', offset: 3 });
      expect(await repos.events.latestPosition(org, 'agent:none')).toBeUndefined();
      expect(await repos.events.deleteBefore(org, 'agent:a1', t(2))).toBe(2);
      expect(await repos.events.range(org, 'agent:a1')).toHaveLength(3);
    });

    it('purges events past their channel retention only', async () => {
      const org = await newOrganization();
      await repos.channels.create(org, 'agent:kept');
      await repos.channels.create(org, 'agent:short', { archiveRetentionMs: 60_000 });
      const now = new Date('2026-01-01T01:00:00Z');
      await repos.events.appendBatch([
        event(org, 'agent:kept', 'e', 1, new Date('2025-01-01T00:00:00Z')),
        event(org, 'agent:short', 'e', 1, new Date('2026-01-01T00:58:00Z')),
        event(org, 'agent:short', 'e', 2, new Date('2026-01-01T00:59:30Z')),
      ]);
      expect(await repos.events.purgeExpired(now)).toBe(1);
      expect((await repos.events.range(org, 'agent:short')).map((e) => e.offset)).toEqual([2]);
      expect(await repos.events.range(org, 'agent:kept')).toHaveLength(1);
    });
  });

  describe('audit log', () => {
    const row = (organizationId: string | null, i: number, overrides: Partial<AuditRowInput> = {}): AuditRowInput => ({
      organizationId,
      actorType: AuditActorType.USER,
      actorId: `user-${i % 3}`,
      action: i % 2 === 0 ? 'subscription.added' : 'admin.api_key.created',
      channel: `agent:a${i % 2}`,
      target: null,
      outcome: i % 5 === 0 ? AuditOutcome.DENIED : AuditOutcome.SUCCESS,
      details: { i },
      createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
      ...overrides,
    });

    it('inserts a batch in order, across INSERT chunks', async () => {
      const org = await newOrganization();
      const rows = Array.from({ length: 1200 }, (_, i) => row(org, i));
      await repos.audit.insertBatch(rows);
      const seen: number[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await repos.audit.query(org, { order: 'oldest', limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
        seen.push(...page.rows.map((r) => r.details['i'] as number));
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      expect(seen).toEqual(rows.map((_, i) => i));
    });

    it('pages newest first without gaps or repeats', async () => {
      const org = await newOrganization();
      await repos.audit.insertBatch(Array.from({ length: 25 }, (_, i) => row(org, i)));
      const seen: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await repos.audit.query(org, { limit: 10, ...(cursor === undefined ? {} : { cursor }) });
        seen.push(...page.rows.map((r) => r.details['i'] as number));
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor !== undefined);
      expect(pages).toBe(3);
      expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => 24 - i));
      await expect(repos.audit.query(org, { cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidAuditCursorError);
    });

    it('property: pages concatenate to exactly the filtered rows, in either order', async () => {
      const org = await newOrganization();
      const rows = Array.from({ length: 40 }, (_, i) => row(org, i));
      await repos.audit.insertBatch(rows);
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 15 }),
          fc.constantFrom('newest' as const, 'oldest' as const),
          fc.option(fc.constantFrom('user-0', 'user-1', 'user-2'), { nil: undefined }),
          async (limit, order, actorId) => {
            const seen: unknown[] = [];
            let cursor: string | undefined;
            do {
              const page = await repos.audit.query(org, {
                limit,
                order,
                ...(actorId === undefined ? {} : { actorId }),
                ...(cursor === undefined ? {} : { cursor }),
              });
              expect(page.rows.length).toBeLessThanOrEqual(limit);
              seen.push(...page.rows.map((r) => r.details['i']));
              cursor = page.nextCursor ?? undefined;
            } while (cursor !== undefined);
            const expected = rows.map((r, i) => ({ r, i })).filter(({ r }) => actorId === undefined || r.actorId === actorId).map(({ i }) => i);
            expect(seen).toEqual(order === 'oldest' ? expected : expected.reverse());
          },
        ),
        { numRuns: 25 },
      );
    });

    it('filters by actor, action, action family, channel, outcome and time', async () => {
      const org = await newOrganization();
      await repos.audit.insertBatch(Array.from({ length: 20 }, (_, i) => row(org, i)));
      await repos.audit.insertBatch([row(org, 100, { action: 'admin.apixkey.created', actorType: AuditActorType.API_KEY, actorId: 'key-1' })]);
      const ids = async (query: Parameters<Repositories['audit']['query']>[1]) =>
        (await repos.audit.query(org, { ...query, order: 'oldest' })).rows.map((r) => r.details['i']);
      expect(await ids({ actorId: 'user-1' })).toEqual([1, 4, 7, 10, 13, 16, 19]);
      expect(await ids({ actorType: AuditActorType.API_KEY })).toEqual([100]);
      expect(await ids({ action: 'subscription.added', outcome: AuditOutcome.DENIED })).toEqual([0, 10]);
      // `_` in the prefix is literal, not LIKE's single-character wildcard.
      expect(await ids({ actionPrefix: 'admin.api_' })).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
      expect(await ids({ actionPrefix: 'admin.' })).toHaveLength(11);
      expect(await ids({ channel: 'agent:a0', outcome: AuditOutcome.SUCCESS })).toEqual([2, 4, 6, 8, 12, 14, 16, 18]);
      expect(await ids({ from: new Date(Date.UTC(2026, 0, 1, 0, 0, 5)), to: new Date(Date.UTC(2026, 0, 1, 0, 0, 8)) })).toEqual([5, 6, 7]);
    });

    it('summarises counts by action and outcome', async () => {
      const org = await newOrganization();
      await repos.audit.insertBatch(Array.from({ length: 10 }, (_, i) => row(org, i)));
      const summary = await repos.audit.summarize(org);
      expect(summary.total).toBe(10);
      expect(summary.byAction).toEqual({ 'subscription.added': 5, 'admin.api_key.created': 5 });
      expect(summary.byOutcome).toEqual({ success: 8, failure: 0, denied: 2 });
      expect(summary.byActionAndOutcome).toContainEqual({ action: 'admin.api_key.created', outcome: 'denied', count: 1 });
      const windowed = await repos.audit.summarize(org, { from: new Date(Date.UTC(2026, 0, 1, 0, 0, 5)) });
      expect(windowed.total).toBe(5);
    });

    it('keeps unattributed rows apart from every organisation', async () => {
      const org = await newOrganization();
      const marker = uniqueId('anon');
      await repos.audit.insertBatch([row(null, 1, { action: 'auth.failure', outcome: AuditOutcome.FAILURE, target: marker, actorType: AuditActorType.ANONYMOUS })]);
      expect((await repos.audit.query(org)).rows).toEqual([]);
      const unattributed = await repos.audit.queryUnattributed({ action: 'auth.failure', limit: 1000 });
      expect(unattributed.rows.some((r) => r.target === marker)).toBe(true);
      expect(unattributed.rows.every((r) => r.organizationId === null)).toBe(true);
    });

    it('deletes rows older than the retention horizon', async () => {
      const org = await newOrganization();
      await repos.audit.insertBatch([row(org, 1, { createdAt: new Date('1990-01-01T00:00:00Z') }), row(org, 2)]);
      expect(await repos.audit.deleteBefore(new Date('1991-01-01T00:00:00Z'))).toBeGreaterThanOrEqual(1);
      expect((await repos.audit.query(org)).rows.map((r) => r.details['i'])).toEqual([2]);
    });
  });

  describe('organisation scoping', () => {
    it('never shows or changes organisation A rows through organisation B', async () => {
      const [orgA, orgB] = [await newOrganization(), await newOrganization()];
      const userA = await newUser();
      await repos.memberships.put(orgA, userA, ['owner']);
      const keyA = await repos.apiKeys.create({ organizationId: orgA, name: 'a', keyPrefix: uniqueId('ak'), keyHash: 'h', scopes: ['publish'] });
      await repos.channels.create(orgA, 'agent:secret', { persistEvents: true });
      const sessionA = uniqueId('s');
      await repos.connections.recordConnected({ organizationId: orgA, sessionId: sessionA, userId: userA, clientType: ClientType.API_CLIENT, at: new Date() });
      await repos.events.appendBatch([{ organizationId: orgA, channel: 'agent:secret', epoch: 'e', offset: 1, eventType: 'x', payload: { secret: true } }]);
      await repos.audit.insertBatch([
        { organizationId: orgA, actorType: AuditActorType.USER, actorId: userA, action: 'publish', channel: 'agent:secret', target: null, outcome: AuditOutcome.SUCCESS, details: {}, createdAt: new Date() },
      ]);

      // Reads through B see nothing of A.
      expect(await repos.memberships.find(orgB, userA)).toBeUndefined();
      expect(await repos.memberships.listMembers(orgB)).toEqual([]);
      expect(await repos.apiKeys.findById(orgB, keyA.id)).toBeUndefined();
      expect(await repos.apiKeys.listByOrganization(orgB)).toEqual([]);
      expect(await repos.channels.findByName(orgB, 'agent:secret')).toBeUndefined();
      expect(await repos.channels.list(orgB)).toEqual([]);
      expect(await repos.connections.findBySessionId(orgB, sessionA)).toBeUndefined();
      expect(await repos.connections.list(orgB)).toEqual([]);
      expect(await repos.connections.countByStatus(orgB)).toEqual({ CONNECTED: 0, DISCONNECTED: 0, RECONNECTING: 0, SUSPENDED: 0 });
      expect(await repos.events.range(orgB, 'agent:secret')).toEqual([]);
      expect(await repos.events.latestPosition(orgB, 'agent:secret')).toBeUndefined();
      expect((await repos.audit.query(orgB)).rows).toEqual([]);
      expect((await repos.audit.query(orgB, { channel: 'agent:secret' })).rows).toEqual([]);
      expect((await repos.audit.summarize(orgB)).total).toBe(0);

      // Writes through B change nothing of A.
      expect(await repos.memberships.setRoles(orgB, userA, ['owner'])).toBeUndefined();
      expect(await repos.memberships.remove(orgB, userA)).toBe(false);
      expect(await repos.apiKeys.revoke(orgB, keyA.id, new Date())).toBe(false);
      await repos.apiKeys.touchLastUsed(orgB, keyA.id, new Date());
      expect(await repos.channels.updateSettings(orgB, 'agent:secret', { persistEvents: false })).toBeUndefined();
      expect(await repos.channels.adjustSubscribers(orgB, 'agent:secret', 5)).toBeUndefined();
      expect(await repos.channels.delete(orgB, 'agent:secret')).toBe(false);
      expect(await repos.connections.setStatus(orgB, sessionA, ConnectionStatus.DISCONNECTED, new Date())).toBe(false);
      expect(await repos.connections.setChannels(orgB, sessionA, ['agent:x'])).toBe(false);
      expect(await repos.events.deleteBefore(orgB, 'agent:secret', new Date('2999-01-01T00:00:00Z'))).toBe(0);

      // …and A's rows are intact.
      expect((await repos.memberships.find(orgA, userA))?.roles).toEqual(['owner']);
      expect(await repos.apiKeys.findById(orgA, keyA.id)).toMatchObject({ revokedAt: null, lastUsedAt: null });
      expect(await repos.channels.findByName(orgA, 'agent:secret')).toMatchObject({ persistEvents: true, subscribers: 0 });
      expect(await repos.connections.findBySessionId(orgA, sessionA)).toMatchObject({ status: ConnectionStatus.CONNECTED, channels: [] });
      expect(await repos.events.range(orgA, 'agent:secret')).toHaveLength(1);
      expect((await repos.audit.query(orgA)).rows).toHaveLength(1);
    });
  });
});
