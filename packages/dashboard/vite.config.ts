import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const src = (pkg: string) => fileURLToPath(new URL(`../${pkg}/src/index.ts`, import.meta.url));

// Served by the APIX server at /dashboard (same origin as the API and the WebSocket). The
// protocol and SDK are compiled from source, so the dashboard builds without a prior tsc run.
export default defineConfig({
  base: '/dashboard/',
  resolve: { alias: { '@apix/protocol': src('protocol'), '@apix/sdk': src('sdk') } },
  oxc: { jsx: { runtime: 'automatic' } },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 600, reportCompressedSize: false },
  logLevel: 'warn',
});
