#!/usr/bin/env node
/**
 * Baseline 1: the least a WebSocket broadcast server can do, with APIX's frame shapes so
 * the load generator is the same. No validation, no authentication (the bearer header is
 * accepted unread), no history, no per-connection request queue. Each publication is
 * encoded once and the same Buffer is sent to every subscriber, as APIX does.
 *
 * Env: PORT, HOST (default 127.0.0.1).
 */
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';

interface Frame {
  type: string;
  id?: string;
  token?: string;
  channels?: string[];
  channel?: string;
  event?: { type: string; payload?: unknown; metadata?: Record<string, unknown> };
}

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const epoch = randomBytes(6).toString('base64url');
const channels = new Map<string, { offset: number; subscribers: Set<WebSocket> }>();
let nextConnection = 0;

const http = createServer((request, response) => {
  const ok = request.url === '/health/ready' || request.url === '/health/live';
  response.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' }).end(ok ? '{"status":"ok"}' : '{}');
});
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false, maxPayload: 64 * 1024 });

http.on('upgrade', (request, socket, head) => {
  if (!request.url?.startsWith('/ws')) return socket.destroy();
  wss.handleUpgrade(request, socket, head, (ws) => {
    const joined = new Set<string>();
    const established = () =>
      ws.send(
        JSON.stringify({
          type: 'connection.established',
          connectionId: `conn_${++nextConnection}`,
          sessionId: `sess_${nextConnection}`,
          organizationId: 'bench',
          userId: 'bench',
          heartbeatIntervalMs: 25_000,
          expiresAt: Date.now() + 3_600_000,
          serverTime: Date.now(),
        }),
      );
    if (request.headers.authorization) established();
    ws.on('message', (data) => {
      let frame: Frame;
      try {
        frame = JSON.parse(data.toString()) as Frame;
      } catch {
        return;
      }
      const reply = (result: unknown) => ws.send(JSON.stringify({ type: 'reply', id: frame.id, ok: true, result }));
      switch (frame.type) {
        case 'connect':
          reply({ connectionId: 'conn', sessionId: 'sess' });
          return established();
        case 'subscribe': {
          const states = (frame.channels ?? []).map((name) => {
            const channel = channelOf(name);
            channel.subscribers.add(ws);
            joined.add(name);
            return { channel: name, channelType: 'agent_events', position: { offset: channel.offset, epoch }, recovered: false, recovering: false };
          });
          reply({ subscriptions: states });
          for (const state of states) ws.send(JSON.stringify({ type: 'subscription.added', ...state }));
          return;
        }
        case 'unsubscribe': {
          const names = frame.channels ?? [];
          for (const name of names) {
            channels.get(name)?.subscribers.delete(ws);
            joined.delete(name);
          }
          return reply({ channels: names });
        }
        case 'publish': {
          const name = frame.channel!;
          const channel = channelOf(name);
          const offset = ++channel.offset;
          const event = frame.event!;
          const data = JSON.stringify({
            type: event.type,
            payload: event.payload ?? null,
            metadata: { ...event.metadata, timestamp: Date.now(), version: '1' },
          });
          const bytes = Buffer.from(`{"type":"event","channel":${JSON.stringify(name)},"offset":${offset},"epoch":"${epoch}","event":${data}}`);
          for (const subscriber of channel.subscribers) subscriber.send(bytes, { binary: false });
          return reply({ channel: name, offset, epoch, duplicate: false });
        }
        case 'history': {
          // No history kept: the latest position and no publications (the bystander scenario's storm reads history).
          const offset = channels.get(frame.channel!)?.offset ?? 0;
          return reply({ channel: frame.channel, epoch, publications: [], position: { offset, epoch }, complete: true });
        }
        case 'presence': {
          // Who is subscribed, as APIX answers a presence request (the bystander scenario's storm asks).
          const members = [...(channels.get(frame.channel!)?.subscribers ?? [])].map((_, i) => ({ clientId: `c${i}` }));
          return reply({ channel: frame.channel, members });
        }
        case 'heartbeat.ping':
          return ws.send(JSON.stringify({ type: 'heartbeat.pong', id: frame.id, serverTime: Date.now() }));
        default:
          return;
      }
    });
    ws.on('close', () => {
      for (const name of joined) channels.get(name)?.subscribers.delete(ws);
    });
    ws.on('error', () => undefined);
  });
});

function channelOf(name: string) {
  let channel = channels.get(name);
  if (!channel) {
    channel = { offset: 0, subscribers: new Set() };
    channels.set(name, channel);
  }
  return channel;
}

http.listen(port, host);
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
