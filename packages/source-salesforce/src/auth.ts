// OAuth 2.0 for a server-side connector: JWT bearer (signed here with node:crypto), client credentials,
// username-password. The token requests go through jsforce's OAuth2 client; the Connection gets a
// refresh function, so a REST call answered 401 re-authenticates and retries in place, and the stream
// (which jsforce does not refresh) is told the new token through `onRefresh`.
import { createPrivateKey, sign } from 'node:crypto';
import { Connection, OAuth2, type TokenResponse } from 'jsforce';
import { FatalError, RetryableError, errorMessage, withRetry, type Logger } from '@tributary/sdk';
import type { AuthConfig, SalesforceConfig } from './config.ts';

/** A compact JWT for the JWT bearer flow: RS256 over `iss` (consumer key), `sub` (username), `aud`
 * (login URL) and a short `exp`, as Salesforce requires. */
export function jwtAssertion(
  a: { clientId: string; username: string; privateKey: string; audience: string },
  nowMs = Date.now(),
): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = b64({ alg: 'RS256', typ: 'JWT' });
  const claims = b64({
    iss: a.clientId,
    sub: a.username,
    aud: a.audience,
    exp: Math.floor(nowMs / 1000) + 180,
  });
  const sig = sign('RSA-SHA256', Buffer.from(`${head}.${claims}`), createPrivateKey(a.privateKey));
  return `${head}.${claims}.${sig.toString('base64url')}`;
}

/** OAuth errors that retrying cannot fix (bad key, unknown client, wrong password). */
const FATAL_OAUTH = new Set([
  'invalid_grant',
  'invalid_client',
  'invalid_client_id',
  'unsupported_grant_type',
  'invalid_request',
]);

export async function requestToken(c: SalesforceConfig): Promise<TokenResponse> {
  const auth: AuthConfig = c.auth;
  try {
    if (auth.type === 'jwt') {
      const oauth2 = new OAuth2({ loginUrl: c.loginUrl });
      return await oauth2.requestToken({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: jwtAssertion({
          clientId: auth.clientId,
          username: auth.username,
          privateKey: auth.privateKey.reveal(),
          audience: auth.audience ?? c.loginUrl,
        }),
      });
    }
    const oauth2 = new OAuth2({
      loginUrl: c.loginUrl,
      clientId: auth.clientId,
      clientSecret: auth.clientSecret.reveal(),
    });
    if (auth.type === 'client-credentials')
      return await oauth2.requestToken({ grant_type: 'client_credentials' });
    return await oauth2.authenticate(
      auth.username,
      auth.password.reveal() + (auth.securityToken?.reveal() ?? ''),
    );
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    if (FATAL_OAUTH.has(name))
      throw new FatalError(`Salesforce OAuth (${auth.type}) refused: ${name}: ${errorMessage(err)}`, {
        cause: err,
      });
    throw new RetryableError(`Salesforce OAuth (${auth.type}) failed: ${errorMessage(err)}`, { cause: err });
  }
}

export interface Session {
  conn: Connection;
  /** Gets a new access token (deduplicated when several callers ask at once) and installs it. */
  refresh(): Promise<string>;
  /** Called with each new access token (the streaming client sends it in its own header). */
  onRefresh(listener: (token: string) => void): () => void;
}

export async function openSession(
  c: SalesforceConfig,
  logger: Logger,
  signal: AbortSignal,
): Promise<Session> {
  const listeners = new Set<(token: string) => void>();
  let inflight: Promise<TokenResponse> | null = null;
  const fetchToken = () => {
    inflight ??= withRetry(() => requestToken(c), {
      what: 'salesforce token request',
      signal,
      logger,
      retries: c.retries,
    }).finally(() => (inflight = null));
    return inflight;
  };
  const first = await fetchToken();
  const conn = new Connection({
    instanceUrl: c.instanceUrl ?? first.instance_url,
    accessToken: first.access_token,
    version: c.apiVersion,
    // jsforce calls this when a request is answered 401 and then repeats the request.
    refreshFn: (_conn, callback) => {
      fetchToken().then(
        (t) => {
          logger.info({ auth: c.auth.type }, 'salesforce session expired; re-authenticated');
          callback(null, t.access_token, t);
        },
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
      );
    },
  });
  conn.on('refresh', (token: string) => {
    for (const l of listeners) l(token);
  });
  logger.info({ instanceUrl: conn.instanceUrl, auth: c.auth.type }, 'salesforce session opened');
  return {
    conn,
    async refresh() {
      const t = await fetchToken();
      if (conn.accessToken !== t.access_token) {
        conn.accessToken = t.access_token;
        for (const l of listeners) l(t.access_token);
      }
      return t.access_token;
    },
    onRefresh(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
}
