import { useEffect, useState } from 'react';
import type { ChannelPermissions } from '@apix/protocol';
import type { ChannelConfig, Page } from '../types.js';
import { errorText } from '../api.js';
import { usePolling } from '../hooks.js';
import { createClient } from '../sdk-client.js';
import { useSession } from '../session.js';

const ACTIONS = ['subscribe', 'publish', 'history'] as const;

const roleList = (text: string) =>
  text
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);

/** Create or edit a channel's settings (docs/permissions.md: role names, `*`, `api_key`). */
function ChannelForm({ existing, onSaved }: { existing: ChannelConfig | undefined; onSaved: () => void }) {
  const { api } = useSession();
  const [name, setName] = useState(existing?.name ?? '');
  const [permissions, setPermissions] = useState<Record<string, string>>(() =>
    Object.fromEntries(ACTIONS.map((a) => [a, existing?.permissions[a]?.join(', ') ?? ''])),
  );
  const [historySize, setHistorySize] = useState(existing?.historySize?.toString() ?? '');
  const [persistEvents, setPersistEvents] = useState(existing?.persistEvents ?? false);
  const [message, setMessage] = useState<string>();

  const save = async () => {
    const perms: ChannelPermissions = {};
    for (const a of ACTIONS) if (permissions[a]) perms[a] = roleList(permissions[a]!) as never;
    const settings = { permissions: perms, persistEvents, ...(historySize ? { historySize: Number(historySize) } : {}) };
    try {
      if (existing) await api.send('PATCH', `/api/v1/channels/${encodeURIComponent(existing.name)}`, settings);
      else await api.send('POST', '/api/v1/channels', { name, ...settings });
      setMessage('Saved.');
      onSaved();
    } catch (e) {
      setMessage(errorText(e));
    }
  };

  return (
    <section className="card" data-testid="channel-form">
      <h3>{existing ? `Edit ${existing.name}` : 'Create a channel'}</h3>
      {!existing && (
        <label>
          Name <input data-testid="channel-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="agent:support-bot" />
        </label>
      )}
      {ACTIONS.map((a) => (
        <label key={a}>
          {a} roles{' '}
          <input data-testid={`perm-${a}`} value={permissions[a]} onChange={(e) => setPermissions({ ...permissions, [a]: e.target.value })} placeholder="default policy (e.g. admin, member, *, api_key)" />
        </label>
      ))}
      <label>
        History size <input value={historySize} onChange={(e) => setHistorySize(e.target.value)} placeholder="server default" />
      </label>
      <label className="inline">
        <input type="checkbox" checked={persistEvents} onChange={(e) => setPersistEvents(e.target.checked)} /> archive events in storage
      </label>
      <button data-testid="channel-save" onClick={() => void save()}>
        {existing ? 'Save' : 'Create'}
      </button>
      {message && <p className="muted" data-testid="channel-form-message">{message}</p>}
    </section>
  );
}

/** Live tail of one channel through the SDK (the same subscribe any client does). */
function Tail({ channel }: { channel: string }) {
  const { session } = useSession();
  const [lines, setLines] = useState<string[]>([]);
  const [status, setStatus] = useState('connecting');
  useEffect(() => {
    const client = createClient(session!.token);
    client.on('state', ({ current }) => setStatus(current));
    client.subscribe(channel, {
      subscribed: (ctx) => setStatus(`subscribed at offset ${ctx.position.offset}`),
      publication: (p) => setLines((l) => [...l.slice(-199), `#${p.offset} ${p.event.type} ${JSON.stringify(p.event.payload)}`]),
      unsubscribed: (ctx) => setStatus(`unsubscribed: ${ctx.reason} ${ctx.error?.message ?? ''}`),
    });
    client.connect();
    return () => client.disconnect();
  }, [channel, session]);
  return (
    <section className="card" data-testid="tail">
      <h3>
        Live tail: {channel} <span className="muted" data-testid="tail-status">{status}</span>
      </h3>
      <pre className="log" data-testid="tail-log">
        {lines.join('\n') || 'waiting for publications…'}
      </pre>
    </section>
  );
}

export function Channels() {
  const { api } = useSession();
  const list = usePolling(() => api.get<Page<ChannelConfig>>('/api/v1/channels?limit=200'), 5_000, [api]);
  const [editing, setEditing] = useState<ChannelConfig | 'new'>();
  const [tail, setTail] = useState<string>();
  const [tailInput, setTailInput] = useState('');
  return (
    <div className="screen">
      <h2>Channels</h2>
      {list.error && <p className="error">{list.error}</p>}
      <div className="toolbar">
        <button data-testid="channel-new" onClick={() => setEditing('new')}>
          New channel
        </button>
        <input value={tailInput} onChange={(e) => setTailInput(e.target.value)} placeholder="any channel to tail, e.g. agent:bot" data-testid="tail-input" />
        <button onClick={() => setTail(tailInput)} data-testid="tail-open">
          Tail
        </button>
      </div>
      <table data-testid="channel-table">
        <thead>
          <tr>
            <th>name</th>
            <th>type</th>
            <th>subscribers</th>
            <th>retention</th>
            <th>permissions</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((c) => (
            <tr key={c.name}>
              <td>{c.name}</td>
              <td>{c.type}</td>
              <td>{c.subscribers}</td>
              <td>
                {c.historySize ?? 'default'} events{c.historyTtlMs ? `, ${Math.round(c.historyTtlMs / 1000)} s` : ''}
                {c.persistEvents ? ', archived' : ''}
              </td>
              <td className="small">
                {ACTIONS.map((a) => (c.permissions[a] ? `${a}: ${c.permissions[a]!.join(', ')}` : null))
                  .filter(Boolean)
                  .join(' · ') || 'default'}
              </td>
              <td>
                <button onClick={() => setEditing(c)}>Edit</button> <button onClick={() => setTail(c.name)} data-testid={`tail-${c.name}`}>Tail</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {editing && <ChannelForm key={editing === 'new' ? 'new' : editing.name} existing={editing === 'new' ? undefined : editing} onSaved={() => list.reload()} />}
      {tail && <Tail key={tail} channel={tail} />}
    </div>
  );
}
