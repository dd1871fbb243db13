import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'drizzle-kit';

// drizzle-kit resolves `schema` and `out` against the working directory; computing them
// from this file's location makes `drizzle-kit generate` work from the repository root
// (`--config packages/server/drizzle.config.ts`) and from packages/server alike.
const here = dirname(fileURLToPath(import.meta.url));
const fromCwd = (path: string): string => relative(process.cwd(), join(here, path)) || '.';

export default defineConfig({
  dialect: 'postgresql',
  schema: fromCwd('src/storage/schema.ts'),
  out: fromCwd('drizzle'),
  strict: true,
  verbose: true,
});
