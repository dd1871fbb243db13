import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string, entry = 'index') => fileURLToPath(new URL(`./packages/${pkg}/src/${entry}.ts`, import.meta.url));

// Tests run against the TypeScript sources (no build step); Vite keeps Nest's decorator metadata.
export default defineConfig({
  resolve: {
    // Exact matches: '@apix/protocol/core' is a subpath of its own (the zod-free part the SDK imports).
    alias: [
      { find: /^@apix\/protocol$/, replacement: src('protocol') },
      { find: /^@apix\/protocol\/core$/, replacement: src('protocol', 'core') },
      { find: /^@apix\/sdk$/, replacement: src('sdk') },
      { find: /^@apix\/sdk\/encryption$/, replacement: fileURLToPath(new URL('./packages/sdk/src/encryption.ts', import.meta.url)) },
      { find: /^@apix\/server$/, replacement: src('server') },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    // After every file: no timer left running (see the file); servers check their own state on stop.
    setupFiles: ['packages/server/test/support/leak-check.ts'],
    pool: 'forks',
    // 2 cores here: two test files at a time keeps timing-sensitive e2e tests stable.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    reporters: ['default'],
  },
});
