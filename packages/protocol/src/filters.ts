import { z } from 'zod';

/**
 * Subscription filters (the seed's `filters`), applied on the server before an event is sent:
 *
 *   { "types": ["tool_call_start", "tool_call_error"],
 *     "payload": { "agentId": "a-1", "error.code": "TIMEOUT" },
 *     "metadata": { "correlation_id": "c-9" } }
 *
 * - `types`: the event's type must be one of these.
 * - `payload` / `metadata`: each key is a dot-separated path into the payload or metadata;
 *   the value found there must equal (===) the given scalar (string, number, boolean, null).
 * - All conditions must hold (AND). An absent filter matches everything.
 */
const scalar = z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]);
const fieldPath = z.string().regex(/^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$/, 'filter path must be dot-separated words');
/**
 * zod leaves a "__proto__" key out of a parsed record without reporting it (a prototype-pollution
 * guard). For a filter that would silently drop a condition and widen the subscription, so such a
 * key (an own property, as JSON.parse makes it) is refused instead.
 */
function refuseProtoKey(value: unknown, ctx: z.RefinementCtx): unknown {
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, '__proto__')) {
    ctx.addIssue({ code: 'custom', path: ['__proto__'], message: 'filter path "__proto__" is not allowed', input: value });
  }
  return value;
}
const equalities = z.preprocess(
  refuseProtoKey,
  z.record(fieldPath, scalar).refine((r) => Object.keys(r).length <= 16, 'at most 16 field conditions'),
);

export const subscriptionFiltersSchema = z.strictObject({
  types: z.array(z.string().min(1).max(100)).min(1).max(32).optional(),
  payload: equalities.optional(),
  metadata: equalities.optional(),
});
export type SubscriptionFilters = z.infer<typeof subscriptionFiltersSchema>;

type Scalar = z.infer<typeof scalar>;

function valueAt(root: unknown, path: string): unknown {
  let node: unknown = root;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function allEqual(root: unknown, conditions: Record<string, Scalar> | undefined): boolean {
  if (!conditions) return true;
  for (const path in conditions) {
    if (valueAt(root, path) !== conditions[path]) return false;
  }
  return true;
}

/** Whether an event passes the filters. The single definition of the filter language's meaning. */
export function matchesFilters(
  filters: SubscriptionFilters | undefined,
  event: { type: string; payload?: unknown; metadata?: unknown },
): boolean {
  if (!filters) return true;
  if (filters.types && !filters.types.includes(event.type)) return false;
  return allEqual(event.payload, filters.payload) && allEqual(event.metadata, filters.metadata);
}
