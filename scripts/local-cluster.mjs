#!/usr/bin/env node
// `npm run cluster:local`: three APIX nodes on consecutive ports (3001-3003 by default), one
// Redis and one PostgreSQL — what docs/operations.md describes. Ctrl-C stops all three.
//   REDIS_URL     default redis://127.0.0.1:6379
//   DATABASE_URL  default postgres://postgres@127.0.0.1:5432/apix (create it first: createdb apix)
//   BASE_PORT     default 3001;  NODES  default 3
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../packages/server/dist/main.js', import.meta.url));
const base = Number(process.env.BASE_PORT ?? 3001);
const count = Number(process.env.NODES ?? 3);
const env = {
  ...process.env,
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/apix',
  // One data folder: every node signs and verifies with the same key.
  APIX_DATA_DIR: process.env.APIX_DATA_DIR ?? '.apix-data',
};
const children = [];
for (let i = 0; i < count; i++) {
  const child = spawn(process.execPath, [main], { env: { ...env, PORT: String(base + i), PRINT_DEV_TOKEN: i === 0 ? 'true' : 'false' }, stdio: 'inherit' });
  children.push(child);
  // The first node alone first: it creates the signing key and applies the migrations.
  if (i === 0) await new Promise((r) => setTimeout(r, 4_000));
}
const stop = () => children.forEach((c) => c.exitCode === null && c.kill('SIGTERM'));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
