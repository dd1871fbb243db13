import { useState } from 'react';
import { errorText } from '../api.js';
import { usePolling } from '../hooks.js';
import { useSession } from '../session.js';
import type { ApiKeySummary, CreatedApiKey, Member, Page } from '../types.js';

const SCOPES = ['publish', 'subscribe', 'history', 'admin'] as const;

/** Members, roles and API keys of the signed-in organisation (a new key is shown once). */
export function Organization() {
  const { api, session } = useSession();
  const org = encodeURIComponent(session!.organizationId);
  const members = usePolling(() => api.get<Page<Member>>(`/api/v1/admin/organizations/${org}/members?limit=200`), 0, [api]);
  const keys = usePolling(() => api.get<Page<ApiKeySummary>>(`/api/v1/admin/organizations/${org}/api-keys?limit=200`), 0, [api]);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [roles, setRoles] = useState('member');
  const [keyName, setKeyName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['publish']);
  const [created, setCreated] = useState<CreatedApiKey>();
  const [message, setMessage] = useState<string>();

  const act = async (what: () => Promise<unknown>, done: string, reload: () => void) => {
    try {
      await what();
      setMessage(done);
      reload();
    } catch (e) {
      setMessage(errorText(e));
    }
  };
  const roleList = (text: string) =>
    text
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean);

  return (
    <div className="screen">
      <h2>Organisation {session!.organizationId}</h2>
      {message && <p className="muted" data-testid="org-message">{message}</p>}
      <section className="card">
        <h3>Members</h3>
        {members.error && <p className="error">{members.error}</p>}
        <table data-testid="member-table">
          <thead>
            <tr>
              <th>user</th>
              <th>email</th>
              <th>roles</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {members.data?.items.map((m) => (
              <tr key={m.userId}>
                <td>{m.name ?? m.userId}</td>
                <td>{m.email}</td>
                <td>
                  <input
                    defaultValue={m.roles.join(', ')}
                    onBlur={(e) => {
                      if (e.target.value !== m.roles.join(', '))
                        void act(() => api.send('PATCH', `/api/v1/admin/organizations/${org}/members/${encodeURIComponent(m.userId)}`, { roles: roleList(e.target.value) }), `Roles of ${m.email} saved.`, members.reload);
                    }}
                  />
                </td>
                <td>
                  <button className="danger" onClick={() => void act(() => api.send('DELETE', `/api/v1/admin/organizations/${org}/members/${encodeURIComponent(m.userId)}`), `${m.email} removed.`, members.reload)}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="toolbar">
          <input placeholder="email" value={email} onChange={(e) => setEmail(e.target.value)} />
          <input placeholder="password (new user)" type="password" value={password} onChange={(e) => setPassword(e.target.value)} />
          <input placeholder="roles" value={roles} onChange={(e) => setRoles(e.target.value)} />
          <button
            onClick={() =>
              void act(
                () => api.send('POST', `/api/v1/admin/organizations/${org}/members`, { email, ...(password ? { password } : {}), roles: roleList(roles) }),
                `${email} added.`,
                members.reload,
              )
            }
          >
            Add member
          </button>
        </div>
      </section>
      <section className="card">
        <h3>API keys</h3>
        {keys.error && <p className="error">{keys.error}</p>}
        {created && (
          <p className="resume" data-testid="created-key">
            New key <b>{created.name}</b> — copy it now, it is shown once: <code>{created.key}</code>
          </p>
        )}
        <table>
          <thead>
            <tr>
              <th>name</th>
              <th>prefix</th>
              <th>scopes</th>
              <th>created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.data?.items.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>
                  <code>{k.prefix}</code>
                </td>
                <td>{k.scopes.join(', ')}</td>
                <td className="small">{new Date(k.createdAt).toLocaleString()}</td>
                <td>
                  <button className="danger" onClick={() => void act(() => api.send('DELETE', `/api/v1/admin/organizations/${org}/api-keys/${encodeURIComponent(k.id)}`), `${k.name} revoked.`, keys.reload)}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="toolbar">
          <input placeholder="key name" value={keyName} onChange={(e) => setKeyName(e.target.value)} />
          {SCOPES.map((s) => (
            <label key={s} className="inline">
              <input type="checkbox" checked={scopes.includes(s)} onChange={(e) => setScopes(e.target.checked ? [...scopes, s] : scopes.filter((x) => x !== s))} /> {s}
            </label>
          ))}
          <button
            onClick={() =>
              void act(
                async () => setCreated(await api.send<CreatedApiKey>('POST', `/api/v1/admin/organizations/${org}/api-keys`, { name: keyName, scopes })),
                'Key created.',
                keys.reload,
              )
            }
          >
            Create key
          </button>
        </div>
      </section>
    </div>
  );
}
