import { useState } from 'react';
import { errorText } from '../api.js';
import { usePolling } from '../hooks.js';
import { useSession } from '../session.js';

interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string }>;
}
type OpenApi = { info: { title: string; version: string }; paths: Record<string, Record<string, Operation>> };

/** The request as a shell command, with the token left as a variable (it is never printed). */
function curlExample(method: string, path: string, body: string): string {
  const lines = [`curl -X ${method.toUpperCase()} '${location.origin}${path}'`, `  -H "Authorization: Bearer $TOKEN"`];
  if (body.trim()) lines.push(`  -H 'content-type: application/json' -d '${body.trim()}'`);
  return lines.join(' \\\n');
}

/**
 * The server's OpenAPI document (`/api/docs/openapi.json`), browsable, with "Try it" for
 * requests: the signed-in token is sent. The full Swagger UI is at /api/docs.
 */
export function Explorer() {
  const { api } = useSession();
  const doc = usePolling(() => api.get<OpenApi>('/api/docs/openapi.json'), 0, [api]);
  const [selected, setSelected] = useState<{ method: string; path: string }>();
  const [path, setPath] = useState('');
  const [body, setBody] = useState('');
  const [result, setResult] = useState('');
  const [filter, setFilter] = useState('');
  if (!doc.data) return <p className={doc.error ? 'error' : 'muted'}>{doc.error ?? 'Loading…'}</p>;
  const operations = Object.entries(doc.data.paths).flatMap(([p, methods]) => Object.entries(methods).map(([method, op]) => ({ path: p, method, op })));
  const visible = operations.filter((o) => `${o.method} ${o.path} ${o.op.summary ?? ''}`.toLowerCase().includes(filter.toLowerCase()));
  const op = selected && doc.data.paths[selected.path]?.[selected.method];

  const send = async () => {
    if (!selected) return;
    try {
      const method = selected.method.toUpperCase();
      const parsed = body.trim() ? (JSON.parse(body) as unknown) : undefined;
      const value = method === 'GET' ? await api.get<unknown>(path) : await api.send<unknown>(method as 'POST', path, parsed);
      setResult(JSON.stringify(value, null, 2));
    } catch (e) {
      setResult(errorText(e));
    }
  };

  return (
    <div className="screen">
      <h2>
        API explorer <span className="muted">{doc.data.info.title} {doc.data.info.version} · <a href="/api/docs">Swagger UI</a></span>
      </h2>
      <div className="columns">
        <section className="card">
          <input placeholder="filter" value={filter} onChange={(e) => setFilter(e.target.value)} data-testid="explorer-filter" />
          <ul className="list operations" data-testid="explorer-operations">
            {visible.map((o) => (
              <li key={`${o.method} ${o.path}`}>
                <button
                  className="link"
                  onClick={() => {
                    setSelected({ method: o.method, path: o.path });
                    setPath(o.path);
                    setBody('');
                    setResult('');
                  }}
                >
                  <span className={`method ${o.method}`}>{o.method.toUpperCase()}</span> {o.path}
                </button>{' '}
                <span className="muted small">{o.op.summary}</span>
              </li>
            ))}
          </ul>
        </section>
        <section className="card wide">
          {!op && <p className="muted">Pick an operation.</p>}
          {op && selected && (
            <>
              <h3>
                {selected.method.toUpperCase()} {selected.path}
              </h3>
              <p>{op.summary}</p>
              {op.description && <p className="muted small">{op.description}</p>}
              <h4>Responses</h4>
              <ul className="list small">
                {Object.entries(op.responses ?? {}).map(([status, r]) => (
                  <li key={status}>
                    <b>{status}</b> {r.description}
                  </li>
                ))}
              </ul>
              {op.requestBody && (
                <details>
                  <summary>Request body schema</summary>
                  <pre className="log">{JSON.stringify(op.requestBody.content?.['application/json']?.schema, null, 2)}</pre>
                </details>
              )}
              <h4>Example</h4>
              <pre className="log" data-testid="explorer-curl">{curlExample(selected.method, path, body)}</pre>
              <h4>Try it</h4>
              <input className="wide" value={path} onChange={(e) => setPath(e.target.value)} data-testid="explorer-path" />
              {selected.method !== 'get' && <textarea value={body} onChange={(e) => setBody(e.target.value)} placeholder="JSON body" rows={5} />}
              <button onClick={() => void send()} data-testid="explorer-send">
                Send
              </button>
              <pre className="log" data-testid="explorer-result">
                {result}
              </pre>
            </>
          )}
        </section>
      </div>
    </div>
  );
}
