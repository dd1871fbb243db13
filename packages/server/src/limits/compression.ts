import type { PerMessageDeflateOptions } from 'ws';

export interface CompressionSettings {
  /** permessage-deflate on (opt-in). Off: the extension is never negotiated. */
  readonly enabled: boolean;
  /** Messages smaller than this are sent uncompressed. */
  readonly thresholdBytes: number;
  /** LZ77 window of the server's compressor, 2^bits bytes (9–15); smaller: less memory per compressor. */
  readonly serverMaxWindowBits: number;
  /** Compression/decompression jobs running at once, process-wide (ws queues the rest). */
  readonly concurrencyLimit: number;
}

/** zlib memory level of the compressor (1–9): 2^(memLevel+9) bytes of state; 4 keeps it at 8 KiB. */
const DEFLATE_MEM_LEVEL = 4;

/**
 * ws `perMessageDeflate` options with bounded memory: off unless enabled; when on, no context
 * takeover in either direction (no zlib state kept per connection between messages), a small
 * window, a process-wide concurrency limit, and a size threshold. The inflated size of an
 * incoming message is limited by ws `maxPayload` (MAX_FRAME_BYTES): a deflate bomb is cut
 * off at that size with close 1009, never inflated further.
 */
export function perMessageDeflateOptions(settings: CompressionSettings): PerMessageDeflateOptions | false {
  if (!settings.enabled) return false;
  return {
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
    serverMaxWindowBits: settings.serverMaxWindowBits,
    concurrencyLimit: settings.concurrencyLimit,
    threshold: settings.thresholdBytes,
    zlibDeflateOptions: { memLevel: DEFLATE_MEM_LEVEL, level: 6 },
  };
}
