import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { build } from 'vite';

/**
 * Debian's chromium (CI installs it with apt-get, see .ci/run), never a downloaded browser
 * build. CHROMIUM_PATH overrides the lookup.
 */
export function chromiumPath(): string {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) return configured;
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium not found: apt-get install -y chromium (or set CHROMIUM_PATH)');
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}

/** Builds the dashboard from source into a fresh folder (what `npm run build` does), for a test server to serve. */
export async function buildDashboard(): Promise<string> {
  const outDir = join(await mkdtemp(join(tmpdir(), 'apix-dashboard-')), 'dist');
  const root = fileURLToPath(new URL('../..', import.meta.url));
  await build({ root, configFile: join(root, 'vite.config.ts'), logLevel: 'error', build: { outDir, emptyOutDir: true } });
  return outDir;
}
