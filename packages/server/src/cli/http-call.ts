import type { CliIo } from './cli-command.js';

/** How long a CLI request may take before it gives up (a hung server must not hang the shell). */
const REQUEST_TIMEOUT_MS = 15_000;

/**
 * One HTTP request to the server. On an APIX error answer it prints `code: message` to
 * stderr and returns undefined; when the server cannot be reached it says so, with the URL.
 */
export async function httpCall(io: CliIo, url: URL, init: RequestInit = {}): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error instanceof Error ? error.message : String(error));
    io.err(`apix: cannot reach ${url.origin} (${cause}): is the server running? (--url or APIX_URL)\n`);
    return undefined;
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    io.err(`apix: ${response.status} ${error?.code ?? ''}${error?.message ? `: ${error.message}` : ''}\n`.replace(/ {2,}/g, ' '));
    return undefined;
  }
  return body;
}
