/** The public HTTP API, with the signed-in credential. Errors carry the catalogue code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Api {
  get<T>(path: string): Promise<T>;
  send<T>(method: 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>;
  /** Fetches a file (e.g. a CSV export) as a Blob. */
  blob(path: string): Promise<Blob>;
}

async function failure(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    return new ApiError(response.status, body.error?.code ?? `HTTP_${response.status}`, body.error?.message ?? response.statusText);
  } catch {
    return new ApiError(response.status, `HTTP_${response.status}`, response.statusText);
  }
}

export function createApi(token: string | undefined): Api {
  const headers = (json: boolean): Record<string, string> => ({
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...(json ? { 'content-type': 'application/json' } : {}),
  });
  return {
    async get<T>(path: string): Promise<T> {
      const response = await fetch(path, { headers: headers(false) });
      if (!response.ok) throw await failure(response);
      return (await response.json()) as T;
    },
    async send<T>(method: 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
      const response = await fetch(path, { method, headers: headers(body !== undefined), ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      if (!response.ok) throw await failure(response);
      return (response.status === 204 ? undefined : await response.json()) as T;
    },
    async blob(path: string): Promise<Blob> {
      const response = await fetch(path, { headers: headers(false) });
      if (!response.ok) throw await failure(response);
      return response.blob();
    },
  };
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
