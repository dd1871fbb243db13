import { ApiXError, type ErrorKey } from '@apix/protocol';
import type { z } from 'zod';

/** Validates control-plane input against a protocol schema; failures carry a catalogue code and the issues. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, key: ErrorKey = 'INVALID_REQUEST'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 5).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  throw new ApiXError(key, issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '), { issues });
}
