import type { BenchSettings } from '../bench-settings.js';
import type { TokenBook } from '../bench-tokens.js';
import type { LoadGeneratorProcess } from '../load-generator-process.js';
import type { Target, TargetEnvironment } from '../targets.js';

/** What every scenario gets from run-all. */
export interface RunContext {
  readonly settings: BenchSettings;
  /** Data directory and database every server of the run starts with. */
  readonly environment: TargetEnvironment;
  /** 50 tokens of organisation `bench` (users bench-u0…49), for scenarios that need a few. */
  readonly tokens: string[];
  /** More tokens, of any organisation, minted on demand. */
  readonly tokenBook: TokenBook;
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
  tokens: string[] = ctx.tokens,
): Promise<void> {
  const connected = await load.connect({
    kind: target.clientKind,
    url: serverUrl,
    tokens: target.authenticated ? tokens : [],
    count,
    concurrency,
    timeoutMs: 30_000,
  });
  if (connected.failed > 0) throw new Error(`${connected.failed} connections failed: ${JSON.stringify(connected.errors)}`);
}

/** Stops a scenario's server, saying so when that was slow (a slow stop is a finding too). */
export async function stopServer(server: { stop(): Promise<number> }, target: Target, ctx: RunContext): Promise<void> {
  const stopMs = await server.stop();
  if (stopMs > 2_000) ctx.log(`  ${target.label} server took ${(stopMs / 1000).toFixed(1)} s to stop`);
}
