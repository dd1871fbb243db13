import type { BenchSettings } from '../bench-settings.js';
import type { LoadGeneratorProcess } from '../load-generator-process.js';
import type { Target } from '../targets.js';

/** What every scenario gets from run-all. */
export interface RunContext {
  readonly settings: BenchSettings;
  /** APIX_DATA_DIR for every APIX start (holds the signing key the tokens were minted with). */
  readonly dataDir: string;
  readonly tokens: string[];
  /** Progress line on stderr (the results table goes to stdout). */
  log(message: string): void;
}

/**
 * Opens `count` clients of the target in the load generator (authenticated where the target
 * needs it) and fails the scenario if any could not connect.
 */
export async function connectClients(
  load: LoadGeneratorProcess,
  target: Target,
  serverUrl: string,
  ctx: RunContext,
  count: number,
  concurrency: number,
): Promise<void> {
  const connected = await load.connect({
    kind: target.clientKind,
    url: serverUrl,
    tokens: target.authenticated ? ctx.tokens : [],
    count,
    concurrency,
    timeoutMs: 30_000,
  });
  if (connected.failed > 0) throw new Error(`${connected.failed} connections failed: ${JSON.stringify(connected.errors)}`);
}
