import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

/** Issue 11: at most 25 KB gzipped for the browser (socket.io-client is 13.6 KB, centrifuge 23.7 KB). */
const MAX_GZIPPED_BYTES = 25 * 1024;

const entry = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const protocolCore = fileURLToPath(new URL('../../protocol/src/core.ts', import.meta.url));
const protocolMain = fileURLToPath(new URL('../../protocol/src/index.ts', import.meta.url));

describe('browser bundle', () => {
  it(`the SDK's public entry, minified and gzipped, is at most ${MAX_GZIPPED_BYTES / 1024} KB and carries no zod`, async () => {
    // Bundled the way an application's bundler would: from sources, every import followed.
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      metafile: true,
      logLevel: 'silent',
      alias: { '@apix/protocol/core': protocolCore, '@apix/protocol': protocolMain },
    });
    const code = result.outputFiles[0]!.contents;
    const gzipped = gzipSync(code, { level: 9 }).length;
    const inputs = Object.keys(result.metafile.inputs);
    console.log(`SDK browser bundle: ${(code.length / 1024).toFixed(1)} KB minified, ${(gzipped / 1024).toFixed(1)} KB gzipped (limit ${MAX_GZIPPED_BYTES / 1024} KB)`);
    expect(inputs.filter((input) => input.includes('node_modules/zod'))).toEqual([]);
    expect(gzipped).toBeLessThanOrEqual(MAX_GZIPPED_BYTES);
  });
});
