/**
 * Where the client connects: one URL, several (tried in turn, moving to the next after each
 * failed or dropped connection — a cluster without a load balancer), or a function that
 * returns the URL for the n-th attempt (1-based, counted over the client's lifetime).
 */
export type ApiXEndpoints = string | readonly string[] | ((attempt: number) => string);

export function endpointPicker(endpoints: ApiXEndpoints): (attempt: number) => string {
  if (typeof endpoints === 'string') return () => endpoints;
  if (typeof endpoints === 'function') return endpoints;
  if (endpoints.length === 0) throw new TypeError('the list of URLs is empty');
  const list = [...endpoints];
  return (attempt) => list[(attempt - 1) % list.length]!;
}
