import { auditEntrySchema, auditSummarySchema, complianceReportSchema, pageOf } from '@apix/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** The audit API: logs, summary, compliance report (JSON and CSV) and application events. */

let server: TestServer;
let alice: string; // acme admin
let bob: string; // acme member
let hank: string; // globex admin
let startedAt: string;

const auditPage = pageOf(auditEntrySchema);

async function get(path: string, token: string): Promise<Response> {
  return fetch(`${server.url}/api/v1/audit${path}`, { headers: { authorization: `Bearer ${token}` } });
}

async function getJson(path: string, token: string): Promise<{ status: number; body: unknown }> {
  const response = await get(path, token);
  return { status: response.status, body: await response.json() };
}

async function logEvent(token: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${server.url}/api/v1/audit/log-event`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** RFC 4180: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field), rows.push(row), (row = []), (field = ''), i++;
    } else field += c;
  }
  expect(field, 'CSV ends with CRLF').toBe('');
  return rows;
}

beforeAll(async () => {
  server = await startTestServer();
  startedAt = new Date(Date.now() - 1000).toISOString();
  alice = await server.token({ org: 'acme', user: 'alice', roles: ['admin'] });
  bob = await server.token({ org: 'acme', user: 'bob', roles: ['member'] });
  hank = await server.token({ org: 'globex', user: 'hank', roles: ['admin'] });
  // Some admin actions and application events to report on.
  for (const name of ['room:one', 'room:two']) {
    const response = await fetch(`${server.url}/api/v1/channels`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    expect(response.status).toBe(201);
  }
  expect((await logEvent(bob, { action: 'invoice.approved', channel: 'room:one', target: 'inv-1', details: { amount: 12, note: 'said "ok", then left\nearly' } })).status).toBe(202);
  expect((await logEvent(bob, { action: 'order.cancelled', outcome: 'failure', target: '=HYPERLINK("http://evil")' })).status).toBe(202);
  expect((await logEvent(hank, { action: 'invoice.approved', target: 'globex-only' })).status).toBe(202);
  await server.controlPlane.audit.flush();
});
afterAll(() => server.stop());

describe('POST /api/v1/audit/log-event', () => {
  it('records an application event with the credential as actor (202)', async () => {
    const rows = (await server.repositories.audit.query('acme', { action: 'invoice.approved' })).rows;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actorType: 'user', actorId: 'bob', channel: 'room:one', target: 'inv-1', outcome: 'success', details: { amount: 12, source: 'application' } });
  });

  it("refuses the server's own action families, so security rows cannot be forged (400)", async () => {
    for (const action of ['admin.member.removed', 'auth.login', 'auth.failure', 'connection.opened', 'subscription.denied', 'publish', 'publish.denied', 'message.failed', 'rate_limited']) {
      expect(await logEvent(alice, { action }), action).toMatchObject({ status: 400, body: { error: { code: 'APIX_ERR_INVALID_REQUEST' } } });
    }
  });

  it('refuses bodies that do not match the schema (400), and anonymous callers (401)', async () => {
    const bad = [{}, { action: 'Invoice Approved' }, { action: 'ok', outcome: 'maybe' }, { action: 'ok', channel: 'Bad:channel' }, { action: 'ok', actorId: 'someone-else' }, { action: 'ok', details: 'text' }];
    for (const body of bad) {
      expect((await logEvent(bob, body)).status, JSON.stringify(body)).toBe(400);
    }
    expect((await fetch(`${server.url}/api/v1/audit/log-event`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(401);
  });
});

describe('GET /api/v1/audit/logs', () => {
  it('lists the organisation’s rows newest first, filtered by actor, action, channel and time', async () => {
    const all = auditPage.parse((await getJson('/logs', alice)).body).items;
    expect(all.map((r) => r.action)).toEqual(expect.arrayContaining(['admin.channel.created', 'invoice.approved', 'order.cancelled']));
    expect(all.every((r) => r.target !== 'globex-only')).toBe(true);
    const sequences = all.map((r) => r.sequence);
    expect([...sequences].sort((a, b) => b - a)).toEqual(sequences);

    expect(auditPage.parse((await getJson('/logs?actorId=bob', alice)).body).items.map((r) => r.action)).toEqual(['order.cancelled', 'invoice.approved']);
    expect(auditPage.parse((await getJson('/logs?action=admin.channel.created', alice)).body).items.map((r) => r.channel)).toEqual(['room:two', 'room:one']);
    expect(auditPage.parse((await getJson('/logs?channel=room:one&action=invoice.approved', alice)).body).items).toHaveLength(1);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect(auditPage.parse((await getJson(`/logs?from=${encodeURIComponent(future)}`, alice)).body).items).toEqual([]);
    expect(auditPage.parse((await getJson(`/logs?from=${encodeURIComponent(startedAt)}&to=${encodeURIComponent(future)}`, alice)).body).items.length).toBe(all.length);
  });

  it('pages with a cursor, without overlap', async () => {
    const all = auditPage.parse((await getJson('/logs?actorId=alice', alice)).body).items.map((r) => r.sequence);
    expect(all.length).toBeGreaterThanOrEqual(2);
    const first = auditPage.parse((await getJson('/logs?actorId=alice&limit=1', alice)).body);
    const rest = auditPage.parse((await getJson(`/logs?actorId=alice&limit=1000&cursor=${first.nextCursor}`, alice)).body);
    expect([...first.items, ...rest.items].map((r) => r.sequence)).toEqual(all);
    expect(rest.nextCursor).toBeNull();
  });

  it('refuses bad queries (400), members (403), and shows another organisation nothing of acme', async () => {
    for (const query of ['?cursor=abc', '?from=yesterday', '?limit=0', '?actor=bob']) {
      expect(await getJson(`/logs${query}`, alice), query).toMatchObject({ status: 400, body: { error: { code: 'APIX_ERR_INVALID_REQUEST' } } });
    }
    for (const path of ['/logs', '/summary', `/compliance-report?from=${encodeURIComponent(startedAt)}&to=${encodeURIComponent(new Date().toISOString())}`]) {
      expect(await getJson(path, bob), path).toMatchObject({ status: 403, body: { error: { code: 'APIX_ERR_FORBIDDEN' } } });
    }
    const globex = auditPage.parse((await getJson('/logs', hank)).body).items;
    expect(globex.map((r) => r.target)).toEqual(['globex-only']);
  });
});

describe('GET /api/v1/audit/summary', () => {
  it('counts by action and outcome, optionally within a time range', async () => {
    const summary = auditSummarySchema.parse((await getJson('/summary', alice)).body);
    expect(summary.byAction).toMatchObject({ 'admin.channel.created': 2, 'invoice.approved': 1, 'order.cancelled': 1 });
    expect(summary.byOutcome.failure).toBeGreaterThanOrEqual(1);
    expect(summary.total).toBe(Object.values(summary.byAction).reduce((a, b) => a + b, 0));
    const future = encodeURIComponent(new Date(Date.now() + 60_000).toISOString());
    expect(auditSummarySchema.parse((await getJson(`/summary?from=${future}`, alice)).body).total).toBe(0);
    expect((await getJson('/summary?from=soon', alice)).status).toBe(400);
  });
});

describe('GET /api/v1/audit/compliance-report', () => {
  const range = () => `from=${encodeURIComponent(startedAt)}&to=${encodeURIComponent(new Date(Date.now() + 1000).toISOString())}`;

  it('answers JSON: every row of the range, oldest first, with its summary', async () => {
    const reply = await getJson(`/compliance-report?${range()}`, alice);
    expect(reply.status).toBe(200);
    const report = complianceReportSchema.parse(reply.body);
    expect(report.organizationId).toBe('acme');
    expect(report.entries.length).toBe(report.summary.total);
    const sequences = report.entries.map((e) => e.sequence);
    expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
    expect(report.entries.some((e) => e.target === 'globex-only')).toBe(false);
  });

  it('answers CSV that parses: header row, quoted fields, formulas neutralised, text/csv', async () => {
    const json = complianceReportSchema.parse((await getJson(`/compliance-report?${range()}`, alice)).body);
    const response = await get(`/compliance-report?${range()}&format=csv`, alice);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="apix-audit-acme-.*\.csv"$/);
    const [header, ...rows] = parseCsv(await response.text());
    expect(header).toEqual(['sequence', 'createdAt', 'actorType', 'actorId', 'action', 'channel', 'target', 'outcome', 'details']);
    // The JSON report was exported a moment earlier, so the CSV holds its rows and that export's own row.
    expect(rows.length).toBeGreaterThanOrEqual(json.entries.length);
    for (const row of rows) expect(row).toHaveLength(header!.length);
    const invoice = rows.find((r) => r[4] === 'invoice.approved')!;
    expect(invoice.slice(3, 8)).toEqual(['bob', 'invoice.approved', 'room:one', 'inv-1', 'success']);
    expect(JSON.parse(invoice[8]!)).toEqual({ amount: 12, note: 'said "ok", then left\nearly', source: 'application' });
    expect(rows.find((r) => r[4] === 'order.cancelled')![6]).toBe(`'=HYPERLINK("http://evil")`);
  });

  it('is itself audited', async () => {
    await server.controlPlane.audit.flush();
    const exports = (await server.repositories.audit.query('acme', { action: 'admin.audit.exported' })).rows;
    expect(exports.map((r) => r.details.format)).toEqual(expect.arrayContaining(['json', 'csv']));
    expect(exports[0]).toMatchObject({ actorId: 'alice', outcome: 'success' });
  });

  it('refuses a missing or inverted range and unknown formats (400)', async () => {
    const now = encodeURIComponent(new Date().toISOString());
    for (const query of ['', `?from=${now}`, `?from=${now}&to=${now}`, `?from=${now}&to=${encodeURIComponent(startedAt)}`, `?${range()}&format=xml`]) {
      expect(await getJson(`/compliance-report${query}`, alice), query).toMatchObject({ status: 400, body: { error: { code: 'APIX_ERR_INVALID_REQUEST' } } });
    }
  });
});
