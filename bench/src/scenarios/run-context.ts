import type { BenchSettings } from '../bench-settings.js';

/** What every scenario gets from run-all. */
export interface RunContext {
  readonly settings: BenchSettings;
  /** APIX_DATA_DIR for every APIX start (holds the signing key the tokens were minted with). */
  readonly dataDir: string;
  readonly tokens: string[];
  /** Progress line on stderr (the results table goes to stdout). */
  log(message: string): void;
}
