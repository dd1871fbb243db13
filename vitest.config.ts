import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

// Tests run against the TypeScript sources (no build step); Vite keeps Nest's decorator metadata.
export default defineConfig({
  resolve: {
    alias: {
      // Before '@apix/sdk', which would otherwise take its subpath too.
      '@apix/sdk/encryption': fileURLToPath(new URL('./packages/sdk/src/encryption.ts', import.meta.url)),
      '@apix/protocol': src('protocol'),
      '@apix/sdk': src('sdk'),
      '@apix/server': src('server'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    pool: 'forks',
    // 2 cores here: two test files at a time keeps timing-sensitive e2e tests stable.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    reporters: ['default'],
  },
});
