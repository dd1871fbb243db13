import { useState } from 'react';
import { errorText } from '../api.js';
import { usePolling } from '../hooks.js';
import { useSession } from '../session.js';
import type { AuditEntry, AuditSummary, Page } from '../types.js';

function query(params: Record<string, string>): string {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== ''));
  return q.size > 0 ? `?${q}` : '';
}

/** Saves a Blob under a file name (a real download the browser can be asked about). */
function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The organisation's audit trail: filters, summary, compliance report as JSON or CSV. */
export function Audit() {
  const { api } = useSession();
  const [filters, setFilters] = useState({ action: '', actorId: '', channel: '' });
  const [applied, setApplied] = useState(filters);
  const logs = usePolling(() => api.get<Page<AuditEntry>>(`/api/v1/audit/logs${query({ ...applied, limit: '100' })}`), 0, [api, applied]);
  const summary = usePolling(() => api.get<AuditSummary>('/api/v1/audit/summary'), 0, [api]);
  const [message, setMessage] = useState<string>();

  const download = async (format: 'csv' | 'json') => {
    const to = new Date();
    const from = new Date(to.getTime() - 30 * 86_400_000);
    try {
      const blob = await api.blob(`/api/v1/audit/compliance-report${query({ from: from.toISOString(), to: to.toISOString(), format })}`);
      saveBlob(format === 'json' ? new Blob([blob], { type: 'application/json' }) : blob, `apix-audit-${to.toISOString().slice(0, 10)}.${format}`);
      setMessage(`Downloaded the last 30 days as ${format.toUpperCase()}.`);
    } catch (e) {
      setMessage(errorText(e));
    }
  };

  return (
    <div className="screen">
      <h2>Audit</h2>
      <div className="toolbar">
        {(['action', 'actorId', 'channel'] as const).map((k) => (
          <input key={k} placeholder={k} value={filters[k]} data-testid={`audit-filter-${k}`} onChange={(e) => setFilters({ ...filters, [k]: e.target.value })} />
        ))}
        <button onClick={() => setApplied(filters)} data-testid="audit-apply">
          Filter
        </button>
        <button onClick={() => void download('csv')} data-testid="audit-download-csv">
          Download CSV
        </button>
        <button onClick={() => void download('json')} data-testid="audit-download-json">
          Download JSON
        </button>
      </div>
      {message && <p className="muted">{message}</p>}
      {logs.error && <p className="error">{logs.error}</p>}
      <div className="columns">
        <section className="card wide">
          <table data-testid="audit-table">
            <thead>
              <tr>
                <th>time</th>
                <th>action</th>
                <th>outcome</th>
                <th>actor</th>
                <th>channel / target</th>
              </tr>
            </thead>
            <tbody>
              {logs.data?.items.map((e) => (
                <tr key={e.sequence} title={JSON.stringify(e.details)}>
                  <td className="small">{new Date(e.createdAt).toLocaleString()}</td>
                  <td>{e.action}</td>
                  <td className={e.outcome}>{e.outcome}</td>
                  <td className="small">
                    {e.actorType}:{e.actorId ?? '—'}
                  </td>
                  <td className="small">{e.channel ?? e.target ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section className="card" data-testid="audit-summary">
          <h3>Summary {summary.data ? `(${summary.data.total})` : ''}</h3>
          <ul className="list">
            {Object.entries(summary.data?.byAction ?? {})
              .sort((a, b) => b[1] - a[1])
              .slice(0, 20)
              .map(([action, count]) => (
                <li key={action}>
                  {action}: <b>{count}</b>
                </li>
              ))}
          </ul>
        </section>
      </div>
    </div>
  );
}
