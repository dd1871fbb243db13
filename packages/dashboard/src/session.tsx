import { createContext, useContext, useMemo, useState, type ReactNode } from 'react';
import type { TokenResponse, TokenValidationResponse } from '@apix/protocol';
import { createApi, type Api } from './api.js';

export interface Session {
  readonly token: string;
  readonly kind: 'user' | 'api_key';
  readonly userId: string;
  readonly organizationId: string;
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
}

interface SessionContextValue {
  readonly session: Session | undefined;
  readonly api: Api;
  signInWithToken(token: string): Promise<void>;
  signInWithPassword(email: string, password: string, organizationId?: string): Promise<void>;
  signOut(): void;
}

const STORAGE_KEY = 'apix.dashboard.session';
const SessionContext = createContext<SessionContextValue | undefined>(undefined);

function stored(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Session) : undefined;
  } catch {
    return undefined;
  }
}

/** The signed-in credential: a pasted token (JWT or API key) or a login through the auth API; kept for the tab only. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | undefined>(stored);
  const value = useMemo<SessionContextValue>(() => {
    const establish = async (token: string) => {
      // Roles come from the server's current view (`validate`), not from the token's claims.
      const who = await createApi(token).get<TokenValidationResponse>('/api/v1/auth/validate');
      const next: Session = { token, kind: who.kind, userId: who.userId, organizationId: who.organizationId, roles: who.roles, scopes: who.scopes };
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
      setSession(next);
    };
    return {
      session,
      api: createApi(session?.token),
      signInWithToken: (token) => establish(token.trim()),
      signInWithPassword: async (email, password, organizationId) => {
        const tokens = await createApi(undefined).send<TokenResponse>('POST', '/api/v1/auth/login', { email, password, ...(organizationId ? { organizationId } : {}) });
        await establish(tokens.accessToken);
      },
      signOut: () => {
        sessionStorage.removeItem(STORAGE_KEY);
        setSession(undefined);
      },
    };
  }, [session]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}

/** What a session may see: admin screens need an organisation admin (or an admin-scoped key) or a platform admin. */
export function capabilities(session: Session): { admin: boolean; platform: boolean } {
  const platform = session.kind === 'user' && session.roles.includes('platform-admin');
  const admin = platform || session.roles.includes('admin') || (session.kind === 'api_key' && session.scopes.includes('admin'));
  return { admin, platform };
}
