// The OAuth 2.0 token endpoint (/services/oauth2/token) for the grants a server-side connector uses:
// JWT bearer (RS256 checked against the connected app's certificate key), client credentials and
// username-password. Issued access tokens expire; the whole set can be revoked to simulate a session loss.
import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';

export interface ConnectedApp {
  clientId: string;
  clientSecret: string;
  /** PEM public key (or certificate) the JWT bearer flow verifies assertions against. */
  jwtPublicKey?: string;
}

export interface OrgUser {
  username: string;
  password: string;
  /** Appended to the password in the username-password flow, as Salesforce requires off trusted IPs. */
  securityToken?: string;
  userId: string;
}

export interface OAuthOptions {
  app: ConnectedApp;
  users: OrgUser[];
  /** Run-as user of the client-credentials flow. */
  clientCredentialsUser: string;
  orgId: string;
  tokenTtlMs: number;
  /** Audiences accepted in a JWT assertion besides the simulator's own URL. */
  audiences: string[];
}

export interface TokenReply {
  status: number;
  body: Record<string, unknown>;
}

export type TokenStore = ReturnType<typeof createTokenStore>;

export function createTokenStore(o: OAuthOptions, baseUrl: () => string, now: () => number) {
  const tokens = new Map<string, { expiresAt: number; userId: string }>();
  const issuedByGrant: Record<string, number> = {};
  const publicKey: KeyObject | null = o.app.jwtPublicKey ? createPublicKey(o.app.jwtPublicKey) : null;
  const state = { ttlMs: o.tokenTtlMs };

  const error = (status: number, err: string, description: string): TokenReply => ({
    status,
    body: { error: err, error_description: description },
  });

  function issue(grant: string, userId: string): TokenReply {
    const accessToken = `00D${o.orgId.slice(3, 15)}!${randomBytes(24).toString('base64url')}`;
    tokens.set(accessToken, { expiresAt: now() + state.ttlMs, userId });
    issuedByGrant[grant] = (issuedByGrant[grant] ?? 0) + 1;
    return {
      status: 200,
      body: {
        access_token: accessToken,
        scope: 'api',
        instance_url: baseUrl(),
        id: `${baseUrl()}/id/${o.orgId}/${userId}`,
        token_type: 'Bearer',
        issued_at: String(now()),
      },
    };
  }

  function jwtBearer(assertion: string): TokenReply {
    if (!publicKey) return error(400, 'invalid_grant', 'jwt bearer not configured for this app');
    const parts = assertion.split('.');
    if (parts.length !== 3) return error(400, 'invalid_grant', 'invalid assertion');
    const [h, c, s] = parts as [string, string, string];
    let header: { alg?: string };
    let claims: { iss?: string; sub?: string; aud?: string | string[]; exp?: number };
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as typeof header;
      claims = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as typeof claims;
    } catch {
      return error(400, 'invalid_grant', 'invalid assertion');
    }
    if (header.alg !== 'RS256') return error(400, 'invalid_grant', 'invalid assertion');
    const ok = verify('RSA-SHA256', Buffer.from(`${h}.${c}`), publicKey, Buffer.from(s, 'base64url'));
    if (!ok) return error(400, 'invalid_grant', 'invalid assertion');
    if (claims.iss !== o.app.clientId) return error(400, 'invalid_client_id', 'client identifier invalid');
    const auds = [baseUrl(), ...o.audiences];
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.some((a) => a !== undefined && auds.includes(a.replace(/\/$/, ''))))
      return error(400, 'invalid_grant', 'audience is invalid');
    if (typeof claims.exp !== 'number' || claims.exp * 1000 < now())
      return error(400, 'invalid_grant', 'expired authorization code');
    const user = o.users.find((u) => u.username === claims.sub);
    if (!user) return error(400, 'invalid_grant', 'user hasn\u2019t approved this consumer');
    return issue('jwt-bearer', user.userId);
  }

  return {
    issuedByGrant,
    /** Handles a POST to the token endpoint with its form parameters. */
    token(params: URLSearchParams): TokenReply {
      const grant = params.get('grant_type');
      if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer')
        return jwtBearer(params.get('assertion') ?? '');
      if (grant === 'client_credentials' || grant === 'password') {
        if (params.get('client_id') !== o.app.clientId)
          return error(400, 'invalid_client_id', 'client identifier invalid');
        if (params.get('client_secret') !== o.app.clientSecret)
          return error(400, 'invalid_client', 'invalid client credentials');
        if (grant === 'client_credentials') return issue('client-credentials', o.clientCredentialsUser);
        const user = o.users.find((u) => u.username === params.get('username'));
        if (!user || params.get('password') !== user.password + (user.securityToken ?? ''))
          return error(400, 'invalid_grant', 'authentication failure');
        return issue('password', user.userId);
      }
      return error(400, 'unsupported_grant_type', 'grant type not supported');
    },
    /** The user behind a valid access token, or null (unknown or expired). */
    check(accessToken: string | null): string | null {
      if (!accessToken) return null;
      const t = tokens.get(accessToken);
      if (!t) return null;
      if (t.expiresAt < now()) {
        tokens.delete(accessToken);
        return null;
      }
      return t.userId;
    },
    /** Invalidates every issued token (a session timeout or admin revocation). */
    expireAll() {
      tokens.clear();
    },
    setTtl(ms: number) {
      state.ttlMs = ms;
    },
    active: () => tokens.size,
  };
}

/** Bearer or OAuth (CometD clients send `OAuth <token>`) token from an Authorization header. */
export function tokenFromHeader(header: string | undefined): string | null {
  const m = /^(?:Bearer|OAuth)\s+(.+)$/i.exec(header ?? '');
  return m ? m[1]!.trim() : null;
}
