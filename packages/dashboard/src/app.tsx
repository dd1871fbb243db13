import { useEffect, useState, type ComponentType } from 'react';
import { Audit } from './screens/audit.js';
import { Channels } from './screens/channels.js';
import { Connections } from './screens/connections.js';
import { Console } from './screens/console.js';
import { Explorer } from './screens/explorer.js';
import { Organization } from './screens/organization.js';
import { Overview } from './screens/overview.js';
import { capabilities, useSession } from './session.js';
import { SignIn } from './sign-in.js';

interface Screen {
  readonly id: string;
  readonly title: string;
  readonly component: ComponentType;
  /** Needs an organisation admin (or platform admin): the API would refuse the rest with 403 anyway. */
  readonly admin: boolean;
}

const SCREENS: readonly Screen[] = [
  { id: 'overview', title: 'Overview', component: Overview, admin: true },
  { id: 'channels', title: 'Channels', component: Channels, admin: true },
  { id: 'connections', title: 'Connections', component: Connections, admin: true },
  { id: 'audit', title: 'Audit', component: Audit, admin: true },
  { id: 'console', title: 'WebSocket console', component: Console, admin: false },
  { id: 'explorer', title: 'API explorer', component: Explorer, admin: false },
  { id: 'organization', title: 'Organisation', component: Organization, admin: true },
];

/** Hash routes (`#/channels`): one index.html serves every screen, no server-side routing. */
function useRoute(): string {
  const read = () => location.hash.replace(/^#\/?/, '');
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function App() {
  const { session, signOut } = useSession();
  const route = useRoute();
  if (!session) return <SignIn />;
  const { admin, platform } = capabilities(session);
  const allowed = SCREENS.filter((s) => admin || !s.admin);
  const screen = allowed.find((s) => s.id === route) ?? allowed[0]!;
  const Current = screen.component;
  return (
    <div className="layout">
      <nav>
        <div className="brand">APIX</div>
        {allowed.map((s) => (
          <a key={s.id} href={`#/${s.id}`} className={s === screen ? 'active' : ''} data-testid={`nav-${s.id}`}>
            {s.title}
          </a>
        ))}
        <div className="who" data-testid="who">
          {session.userId}
          <br />
          <span className="muted">
            {session.organizationId} · {platform ? 'platform admin' : admin ? 'admin' : session.roles.join(', ') || session.kind}
          </span>
          <br />
          <button className="link" onClick={signOut} data-testid="sign-out">
            Sign out
          </button>
        </div>
      </nav>
      <main>
        <Current />
      </main>
    </div>
  );
}
