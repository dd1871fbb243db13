import WebSocket from 'ws';

export interface HeapSnapshotFigures {
  heapUsedBytes: number;
  rssBytes: number;
}

/**
 * Forces a full garbage collection in a process started with `--inspect=127.0.0.1:<port>`
 * (Chrome DevTools Protocol, `HeapProfiler.collectGarbage`), then reads its
 * `process.memoryUsage()`. Lets the connections scenario tell memory a connection keeps
 * from garbage its handshake left behind. The server's own code is not touched.
 */
export async function collectGarbage(inspectPort: number): Promise<HeapSnapshotFigures> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error('no inspector target');
  const socket = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let nextId = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<{ result?: { result?: { value?: unknown } } }>((resolve, reject) => {
      const id = ++nextId;
      const onMessage = (data: WebSocket.RawData) => {
        const message = JSON.parse(data.toString()) as { id?: number; error?: { message: string } };
        if (message.id !== id) return;
        socket.off('message', onMessage);
        if (message.error) reject(new Error(`${method}: ${message.error.message}`));
        else resolve(message as { result?: { result?: { value?: unknown } } });
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id, method, params }));
    });
  try {
    // Twice: the first pass runs finalizers that free more on the second.
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const evaluated = await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
    const usage = JSON.parse(String(evaluated.result?.result?.value)) as { heapUsed: number; rss: number };
    return { heapUsedBytes: usage.heapUsed, rssBytes: usage.rss };
  } finally {
    socket.close();
  }
}
