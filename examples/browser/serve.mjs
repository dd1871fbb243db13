// Serves a page that signs in, subscribes and shows events live, with APIX behind the same origin.
import { readFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const apix = new URL(process.env.APIX_HTTP_URL ?? 'http://127.0.0.1:3000');
const port = Number(process.env.PORT ?? 8080);
const files = {
  '/': { type: 'text/html; charset=utf-8', body: readFileSync(new URL('./index.html', import.meta.url)) },
  // The SDK's browser build: one ES module, no bundler needed (`npm run build` makes it).
  '/apix-sdk.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(fileURLToPath(import.meta.resolve('@apix/sdk/browser'))) },
};

const server = createServer((req, res) => {
  const file = files[req.url];
  if (file) return res.writeHead(200, { 'content-type': file.type }).end(file.body);
  if (!req.url.startsWith('/api/')) return res.writeHead(404).end('not found');
  // /api/* goes to APIX unchanged, so the page needs no CORS.
  const upstream = request({ host: apix.hostname, port: apix.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => res.writeHead(502).end('APIX is not reachable'));
  req.pipe(upstream);
});

// The WebSocket upgrade too, headers untouched: APIX sees the page's Origin and Host agree (the default ALLOWED_ORIGINS).
server.on('upgrade', (req, socket, head) => {
  const upstream = connect(Number(apix.port), apix.hostname, () => {
    const headers = Object.entries(req.headers).map(([name, value]) => `${name}: ${value}`).join('\r\n');
    upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers}\r\n\r\n`);
    upstream.write(head);
    socket.pipe(upstream).pipe(socket);
  });
  upstream.on('error', () => socket.destroy());
  socket.on('error', () => upstream.destroy());
});

server.listen(port, '127.0.0.1', () => console.log(`open http://127.0.0.1:${server.address().port}/ (APIX at ${apix.origin})`));
