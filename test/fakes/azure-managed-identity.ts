// A fake Azure managed identity token service, so @azure/identity gets a token with no secret anywhere
// in the test. Two forms on one loopback port, the two that @azure/identity (through MSAL) picks from the
// environment:
//   - App Service (api-version 2019-08-01), used when IDENTITY_ENDPOINT and IDENTITY_HEADER are set to
//     `endpoint` and `header`: GET <endpoint>?api-version=2019-08-01&resource=<resource>[&client_id=<id>]
//     with header X-IDENTITY-HEADER: <header>;
//   - IMDS (api-version 2018-02-01), used otherwise; AZURE_POD_IDENTITY_AUTHORITY_HOST=`authorityHost`
//     points it here instead of 169.254.169.254: GET /metadata/identity/oauth2/token?api-version=...&
//     resource=<resource>[&client_id=<id>] with header Metadata: true.
// Both answer {access_token, expires_in, expires_on (epoch seconds), resource, token_type: "Bearer"}.
// The access token is JWT-shaped (header.claims.signature) with xms_mirid, oid, appid and tid claims, so
// a caller can show whose it is; the signature is random bytes, not a signature.
// A token is reused until it is within 5 minutes of expiry (MSAL's own renewal margin), so the default
// hour gives one token for the fake's life (the Key Vault fake can then accept just that one), and a
// lifetime under 5 minutes gives a new token for every request.
// Left out: other sources (Azure Arc, Service Fabric, Cloud Shell, token exchange), mi_res_id/object_id,
// checking that client_id names a known identity, IMDS's 410/429 behaviour.
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const APP_SERVICE_PATH = '/msi/token';
const IMDS_PATH = '/metadata/identity/oauth2/token';
const RENEWAL_MARGIN_S = 300;

export interface FakeManagedIdentityOptions {
  /** Seconds each token is valid; 3600 unless set. */
  lifetimeSeconds?: number;
  /** Accept every request and never answer it (until stop). */
  hang?: boolean;
  /** Claims to add to or (with undefined) remove from the tokens, e.g. `{ xms_mirid: undefined }`. */
  claims?: Record<string, unknown>;
}

export interface IssuedToken {
  form: 'app service' | 'imds';
  resource: string;
  /** The client_id asked for (a user-assigned identity), when any. */
  clientId?: string;
  token: string;
  /** Epoch seconds. */
  expiresOn: number;
}

export interface FakeManagedIdentity {
  /** The value for IDENTITY_ENDPOINT. */
  endpoint: string;
  /** The value for IDENTITY_HEADER. */
  header: string;
  /** The value for AZURE_POD_IDENTITY_AUTHORITY_HOST (the IMDS form). */
  authorityHost: string;
  /** The current access token: the one it issues for the fake's life unless lifetimeSeconds is short. */
  readonly token: string;
  /** The xms_mirid claim of its tokens: the identity's Azure resource id. */
  resourceId: string;
  /** The oid claim of its tokens: the identity's object (principal) id. */
  objectId: string;
  /** The resources tokens were asked for, in order. */
  resources: string[];
  /** Every token handed out, in order. */
  issued: IssuedToken[];
  stop(): Promise<void>;
}

interface Current {
  token: string;
  expiresOn: number;
}

export async function startFakeManagedIdentity(options: FakeManagedIdentityOptions = {}): Promise<FakeManagedIdentity> {
  const lifetime = options.lifetimeSeconds ?? 3600;
  const header = randomBytes(16).toString('hex');
  const clientId = randomUUID();
  const objectId = randomUUID();
  const tenantId = randomUUID();
  const resourceId = `/subscriptions/${randomUUID()}/resourcegroups/skyduck-test/providers/Microsoft.ManagedIdentity/userAssignedIdentities/skyduck-fake`;
  const baseClaims = { xms_mirid: resourceId, oid: objectId, sub: objectId, appid: clientId, tid: tenantId, iss: `https://sts.windows.net/${tenantId}/` };
  const resources: string[] = [];
  const issued: IssuedToken[] = [];

  const mint = (): Current => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { ...baseClaims, aud: 'https://storage.azure.com', iat: now, nbf: now, exp: now + lifetime, uti: randomUUID(), ...options.claims };
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    return { token: `${part({ typ: 'JWT', alg: 'RS256' })}.${part(claims)}.${randomBytes(32).toString('base64url')}`, expiresOn: now + lifetime };
  };
  let current = mint();
  const currentToken = (): Current => {
    if (current.expiresOn - Date.now() / 1000 < RENEWAL_MARGIN_S) current = mint();
    return current;
  };

  const server = http.createServer((request, response) => {
    if (options.hang) return;
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const send = (status: number, payload: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(payload));
    };
    const refuse = (status: number, description: string) => send(status, { error: 'invalid_request', error_description: description });
    // MSAL asks IMDS for the path with a trailing slash.
    const pathname = url.pathname.replace(/\/$/, '');
    const form = pathname === APP_SERVICE_PATH ? 'app service' : pathname === IMDS_PATH ? 'imds' : undefined;
    if (!form) return refuse(404, `no such path ${url.pathname}`);
    if (form === 'app service' && request.headers['x-identity-header'] !== header) return refuse(401, 'X-IDENTITY-HEADER is missing or wrong');
    if (form === 'imds' && request.headers.metadata !== 'true') return refuse(400, 'Required metadata header not specified');
    const resource = url.searchParams.get('resource');
    if (!url.searchParams.get('api-version') || !resource) return refuse(400, 'api-version and resource are required');

    const { token, expiresOn } = currentToken();
    const asked = url.searchParams.get('client_id') ?? undefined;
    resources.push(resource);
    issued.push({ form, resource, token, expiresOn, ...(asked ? { clientId: asked } : {}) });
    const expiresIn = String(expiresOn - Math.floor(Date.now() / 1000));
    send(200, { access_token: token, expires_in: expiresIn, expires_on: String(expiresOn), resource, token_type: 'Bearer' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const authorityHost = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint: `${authorityHost}${APP_SERVICE_PATH}`,
    header,
    authorityHost,
    get token() {
      return current.token;
    },
    resourceId,
    objectId,
    resources,
    issued,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
