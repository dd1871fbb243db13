/**
 * What every benchmark publication carries, whichever server relays it. `sentAt` is the
 * publisher's wall clock (see clock.ts) when the frame left it; `phase` lets subscribers
 * ignore stragglers from an earlier phase.
 */
export interface BenchPayload {
  seq: number;
  sentAt: number;
  phase: string;
  pad: string;
}

export const BENCH_EVENT_TYPE = 'bench_tick';

/** A payload of roughly `bytes` bytes of JSON. */
export function makePayload(phase: string, seq: number, sentAt: number, bytes: number): BenchPayload {
  return { seq, sentAt, phase, pad: padding(bytes) };
}

const pads = new Map<number, string>();
function padding(bytes: number): string {
  const length = Math.max(0, bytes - 60);
  let pad = pads.get(length);
  if (pad === undefined) {
    pad = 'x'.repeat(length);
    pads.set(length, pad);
  }
  return pad;
}
