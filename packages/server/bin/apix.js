#!/usr/bin/env node
// Committed launcher, so `npx apix …` works right after `npm ci` (npm links bins at install
// time, before anything is built). The CLI itself is compiled from src/cli.ts.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('apix: not built yet: run `npm run build` (or `npm start`) first\n');
  process.exit(2);
}
await import(cli.href);
