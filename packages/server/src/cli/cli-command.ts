/** Where a command writes: stdout for results and help, stderr for diagnostics. Injectable for tests. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
}

export interface CliCommand {
  readonly name: string;
  /** One line for `apix --help`. */
  readonly summary: string;
  /** The full text of `apix <command> --help`. */
  readonly usage: string;
  /** Resolves with the exit code. Throw `UsageError` for bad arguments (exit 2 with the usage). */
  run(args: string[], io: CliIo): Promise<number>;
}

/** Bad arguments: the message and the command's usage go to stderr, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Runs node:util's parseArgs (strict), turning its errors ("Unknown option '--x'") into UsageError. */
export function withUsageErrors<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** A whole number > 0, or a UsageError naming the option: `--ttl abc` is an error, never a silent default. */
export function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]+$/.test(value) || Number(value) <= 0 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`--${name} must be a whole number greater than 0 (got "${value}")`);
  }
  return Number(value);
}

/** The server to talk to: --url, else APIX_URL, else the local default. Checked to be http(s). */
export function serverUrl(flag: string | undefined, env: NodeJS.ProcessEnv): URL {
  const raw = flag ?? env.APIX_URL ?? `http://127.0.0.1:${env.PORT ?? '3000'}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url must be an http(s) URL such as http://127.0.0.1:3000 (got "${raw}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url must be http:// or https:// (got "${raw}")`);
  return url;
}

/** The credential: --token, else APIX_TOKEN (a JWT or an `apix_` API key). */
export function credential(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const token = flag ?? env.APIX_TOKEN;
  if (!token) throw new UsageError('a credential is needed: --token <jwt or apix_ key>, or APIX_TOKEN in the environment (`apix token` mints one)');
  return token;
}

export const CONNECTION_OPTIONS_HELP = `  --url <url>       the server (default: APIX_URL, else http://127.0.0.1:$PORT or :3000)
  --token <token>   a JWT or an apix_ API key (default: APIX_TOKEN)`;
