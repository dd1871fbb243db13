#!/usr/bin/env node
/**
 * Baseline 2: a minimal Socket.IO server (WebSocket transport only, no compression). A
 * `subscribe` joins rooms and `unsubscribe` leaves them; a `publish` is acknowledged and
 * broadcast to the room with `io.to(channel).emit` (Socket.IO encodes a broadcast once and
 * writes the same packet to every socket). The event object has APIX's `event` frame shape.
 * `heartbeat.ping` is acknowledged at once. No authentication.
 *
 * Env: PORT, HOST (default 127.0.0.1).
 */
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { Server } from 'socket.io';

interface PublishRequest {
  channel: string;
  event: { type: string; payload?: unknown; metadata?: Record<string, unknown> };
}

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const epoch = randomBytes(6).toString('base64url');
const offsets = new Map<string, number>();

const http = createServer((request, response) => {
  const ok = request.url === '/health/ready' || request.url === '/health/live';
  response.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' }).end(ok ? '{"status":"ok"}' : '{}');
});
const io = new Server(http, { serveClient: false, transports: ['websocket'], perMessageDeflate: false, httpCompression: false });

io.on('connection', (socket) => {
  socket.on('subscribe', (request: { channels: string[] }, ack: (result: unknown) => void) => {
    void socket.join(request.channels);
    ack({
      subscriptions: request.channels.map((channel) => ({ channel, position: { offset: offsets.get(channel) ?? 0, epoch } })),
    });
  });
  socket.on('unsubscribe', (request: { channels: string[] }, ack: (result: unknown) => void) => {
    for (const channel of request.channels) void socket.leave(channel);
    ack({ channels: request.channels });
  });
  // The bystander scenario's application-level round trip (APIX's heartbeat.ping → heartbeat.pong).
  socket.on('heartbeat.ping', (request: { ts?: number }, ack: (result: unknown) => void) => {
    ack({ type: 'heartbeat.pong', ts: request.ts, serverTime: Date.now() });
  });
  // No history kept: the latest position and no publications (the bystander scenario's storm reads history).
  socket.on('history', (request: { channel: string }, ack: (result: unknown) => void) => {
    const offset = offsets.get(request.channel) ?? 0;
    ack({ channel: request.channel, epoch, publications: [], position: { offset, epoch }, complete: true });
  });
  // Who is in the room, as APIX answers a presence request (the bystander scenario's storm asks).
  socket.on('presence', async (request: { channel: string }, ack: (result: unknown) => void) => {
    const members = await io.in(request.channel).fetchSockets();
    ack({ channel: request.channel, members: members.map((m) => ({ clientId: m.id })) });
  });
  socket.on('publish', (request: PublishRequest, ack: (result: unknown) => void) => {
    const offset = (offsets.get(request.channel) ?? 0) + 1;
    offsets.set(request.channel, offset);
    const event = {
      type: request.event.type,
      payload: request.event.payload ?? null,
      metadata: { ...request.event.metadata, timestamp: Date.now(), version: '1' },
    };
    io.to(request.channel).emit('event', { type: 'event', channel: request.channel, offset, epoch, event });
    ack({ channel: request.channel, offset, epoch, duplicate: false });
  });
});

http.listen(port, host);
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
