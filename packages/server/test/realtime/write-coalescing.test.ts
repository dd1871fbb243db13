import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { Connection } from '../../src/realtime/connection.js';

/**
 * Real sockets: a ws server whose accepted TCP socket we can watch. The kernel sees a write
 * for every `_write`/`_writev` Node makes; coalescing must turn N frames of one turn into one.
 */
async function connectedPair(): Promise<{ server: Server; wss: WebSocketServer; client: WebSocket; serverSocket: WebSocket; tcp: Socket }> {
  const wss = new WebSocketServer({ noServer: true });
  const server = createServer();
  let tcp!: Socket;
  const accepted = new Promise<WebSocket>((resolve) => {
    server.on('connection', (socket) => {
      tcp = socket;
      socket.once('data', (head) => {
        // Minimal HTTP upgrade: hand the raw socket to ws as an 'upgrade' would.
        const text = head.toString();
        const key = /sec-websocket-key: (.+)\r\n/i.exec(text)![1]!;
        const request = { headers: { 'sec-websocket-key': key, 'sec-websocket-version': '13', upgrade: 'websocket', connection: 'Upgrade' }, method: 'GET', url: '/' };
        wss.handleUpgrade(request as never, socket, Buffer.alloc(0), resolve);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  const serverSocket = await accepted;
  await new Promise((resolve) => client.once('open', resolve));
  return { server, wss, client, serverSocket, tcp };
}

let cleanup: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanup.splice(0)) fn();
});

function countKernelWrites(tcp: Socket): () => number {
  let writes = 0;
  const target = tcp as unknown as { _write: (...a: unknown[]) => unknown; _writev: (...a: unknown[]) => unknown };
  const write = target._write.bind(tcp);
  const writev = target._writev.bind(tcp);
  target._write = (...args: unknown[]) => (writes++, write(...args));
  target._writev = (...args: unknown[]) => (writes++, writev(...args));
  return () => writes;
}

describe('write coalescing', () => {
  it('sends the frames of one event-loop turn to the kernel as one write, in order', async () => {
    const { server, wss, client, serverSocket, tcp } = await connectedPair();
    cleanup.push(() => (client.terminate(), serverSocket.terminate(), wss.close(), server.close()));
    const connection = new Connection(serverSocket, {
      maxSendBufferBytes: 1 << 20,
      remoteAddress: undefined,
      rawSocket: tcp,
      onClosed: () => undefined,
      onSlowConsumer: () => undefined,
      onTaskFailed: () => undefined,
    });
    const received: string[] = [];
    const all = new Promise<void>((resolve) => {
      client.on('message', (data) => {
        received.push(String(data));
        if (received.length === 50) resolve();
      });
    });
    const writes = countKernelWrites(tcp);
    for (let i = 0; i < 50; i++) connection.sendRaw(JSON.stringify({ i }));
    await all;
    expect(received.map((r) => (JSON.parse(r) as { i: number }).i)).toEqual([...Array(50).keys()]);
    expect(writes()).toBe(1);
  });
});

describe('write coalescing and the send-buffer cap', () => {
  it('never counts what the turn corked against the cap: a burst a reading peer takes at once is sent whole, not closed as slow', async () => {
    const { server, wss, client, serverSocket, tcp } = await connectedPair();
    cleanup.push(() => (client.terminate(), serverSocket.terminate(), wss.close(), server.close()));
    let slow = false;
    const connection = new Connection(serverSocket, {
      // The replay below (~600 KB) is more than the cap, all in one turn; corked, it passed the backlog's mark and
      // then the cap, and a subscriber resuming on a fast socket was closed with 4004.
      maxSendBufferBytes: 256 * 1024,
      remoteAddress: undefined,
      rawSocket: tcp,
      onClosed: () => undefined,
      onSlowConsumer: () => {
        slow = true;
      },
      onTaskFailed: () => undefined,
    });
    const frames = 600;
    let received = 0;
    const all = new Promise<void>((resolve) => {
      client.on('message', () => {
        if (++received === frames) resolve();
      });
    });
    const payload = 'y'.repeat(1_000);
    // One turn, as a resume's replay is: the kernel takes it on loopback (megabytes), so an
    // uncorked socket never buffers it and a corked one must not either.
    for (let i = 0; i < frames; i++) connection.sendRaw(JSON.stringify({ i, payload }));
    await all;
    expect(slow).toBe(false);
    expect(received).toBe(frames);
  });
});
