import type { ErrorKey } from '@apix/protocol';
import type { z } from 'zod';
import { schemaError } from '../realtime/schema-errors.js';

/** Validates control-plane input against a protocol schema; failures carry a catalogue code and the issues. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, key: ErrorKey = 'INVALID_REQUEST'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw schemaError(result.error, key);
}
