import type { z } from 'zod';

/**
 * What PostgreSQL (and PGlite) cannot hold: the NUL character (refused in `text`, 22021, and
 * as `\u0000` in `jsonb`, 22P05), and unpaired UTF-16 surrogates (refused as `\uD800` escapes
 * in `jsonb`; silently replaced by U+FFFD in `text`, which would corrupt the value). One such
 * character in one row once stalled every tenant's batch writes: every field that reaches
 * storage is checked at the edge, and refused with APIX_ERR_UNSTORABLE_VALUE.
 */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Values deeper than this are not walked (the frame's own depth limit refuses them first). */
const MAX_WALK_DEPTH = 256;

export type UnstorableReason = 'nul' | 'lone-surrogate';

/** Why `value` cannot be stored, or undefined if it can. */
export function unstorableReason(value: string): UnstorableReason | undefined {
  const match = UNSTORABLE.exec(value);
  if (!match) return undefined;
  return match[0] === '\u0000' ? 'nul' : 'lone-surrogate';
}

export interface UnstorableValue {
  /** Where in the value: keys and indexes from the root. A key that is itself unstorable ends the path. */
  readonly path: ReadonlyArray<string | number>;
  readonly reason: UnstorableReason;
  /** True when the offending string is an object key rather than a value. */
  readonly inKey: boolean;
}

/**
 * The first string (value or object key) in a JSON-like value that storage cannot hold, or
 * undefined. Walks iteratively (no recursion limit to hit) up to MAX_WALK_DEPTH levels.
 */
export function findUnstorable(value: unknown): UnstorableValue | undefined {
  const stack: Array<{ value: unknown; path: Array<string | number> }> = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      const reason = unstorableReason(current);
      if (reason) return { path, reason, inKey: false };
      continue;
    }
    if (current === null || typeof current !== 'object' || path.length >= MAX_WALK_DEPTH) continue;
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], path: [...path, i] });
      continue;
    }
    const entries = Object.entries(current as Record<string, unknown>);
    for (const [key] of entries) {
      const reason = unstorableReason(key);
      if (reason) return { path: [...path, key], reason, inKey: true };
    }
    for (let i = entries.length - 1; i >= 0; i--) stack.push({ value: entries[i]![1], path: [...path, entries[i]![0]] });
  }
  return undefined;
}

/**
 * True when every string (and key) in `value` can be stored. The common case, on every frame:
 * no path is built and nothing is allocated per node (findUnstorable does that, once something
 * was found). Same walk order and depth limit as findUnstorable.
 */
export function isStorable(value: unknown): boolean {
  if (typeof value === 'string') return !UNSTORABLE.test(value);
  if (value === null || typeof value !== 'object') return true;
  const values: unknown[] = [value];
  const depths: number[] = [0];
  while (values.length > 0) {
    const current = values.pop()!;
    const depth = depths.pop()!;
    if (typeof current === 'string') {
      if (UNSTORABLE.test(current)) return false;
      continue;
    }
    if (current === null || typeof current !== 'object' || depth >= MAX_WALK_DEPTH) continue;
    if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) {
        values.push(current[i]);
        depths.push(depth + 1);
      }
      continue;
    }
    for (const key in current as Record<string, unknown>) {
      if (!Object.hasOwn(current, key)) continue;
      if (UNSTORABLE.test(key)) return false;
      values.push((current as Record<string, unknown>)[key]);
      depths.push(depth + 1);
    }
  }
  return true;
}

/**
 * A zod refinement that refuses a value storage cannot hold, with an issue naming
 * APIX_ERR_UNSTORABLE_VALUE (through `params.apixError`, which both planes map to the code).
 * Use on whole request bodies and frames: `schema.superRefine(refineStorable)`.
 */
export function refineStorable(value: unknown, ctx: z.RefinementCtx): void {
  // A value that already failed a more precise rule (e.g. a channel name's grammar) keeps that error.
  if (ctx.issues.length > 0) return;
  if (isStorable(value)) return;
  const found = findUnstorable(value);
  if (!found) return;
  const what = found.reason === 'nul' ? 'a NUL character (\\u0000)' : 'an unpaired UTF-16 surrogate';
  ctx.addIssue({
    code: 'custom',
    path: [...found.path],
    message: `${found.inKey ? 'a key' : 'a value'} contains ${what}, which cannot be stored`,
    params: { apixError: 'UNSTORABLE_VALUE' },
  });
}
