import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const src = (pkg: string, entry = 'index') => fileURLToPath(new URL(`../${pkg}/src/${entry}.ts`, import.meta.url));

// Served by the APIX server at /dashboard (same origin as the API and the WebSocket). The
// protocol and SDK are compiled from source, so the dashboard builds without a prior tsc run.
export default defineConfig({
  base: '/dashboard/',
  // Exact matches: '@apix/protocol/core' (the zod-free part the SDK imports) is an entry of its own.
  resolve: {
    alias: [
      { find: /^@apix\/protocol$/, replacement: src('protocol') },
      { find: /^@apix\/protocol\/core$/, replacement: src('protocol', 'core') },
      { find: /^@apix\/sdk$/, replacement: src('sdk') },
    ],
  },
  oxc: { jsx: { runtime: 'automatic' } },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 600, reportCompressedSize: false },
  logLevel: 'warn',
});
