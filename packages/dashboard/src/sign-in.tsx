import { useState } from 'react';
import { errorText } from './api.js';
import { useSession } from './session.js';

/** Sign in with a token (`apix token …`, the start-up dev token, an API key) or email and password. */
export function SignIn() {
  const { signInWithToken, signInWithPassword } = useSession();
  const [token, setToken] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [organizationId, setOrganizationId] = useState('');
  const [error, setError] = useState<string>();
  const attempt = (what: () => Promise<void>) => () => void what().catch((e: unknown) => setError(errorText(e)));
  return (
    <div className="sign-in">
      <h1>APIX</h1>
      <section className="card">
        <h3>Sign in with a token</h3>
        <textarea rows={4} placeholder="JWT or API key" value={token} onChange={(e) => setToken(e.target.value)} data-testid="signin-token" />
        <button onClick={attempt(() => signInWithToken(token))} data-testid="signin-token-submit">
          Sign in
        </button>
      </section>
      <section className="card">
        <h3>…or with your account</h3>
        <input placeholder="email" value={email} onChange={(e) => setEmail(e.target.value)} data-testid="signin-email" />
        <input placeholder="password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} data-testid="signin-password" />
        <input placeholder="organisation (if you have several)" value={organizationId} onChange={(e) => setOrganizationId(e.target.value)} />
        <button onClick={attempt(() => signInWithPassword(email, password, organizationId || undefined))} data-testid="signin-password-submit">
          Sign in
        </button>
      </section>
      {error && (
        <p className="error" data-testid="signin-error">
          {error}
        </p>
      )}
    </div>
  );
}
