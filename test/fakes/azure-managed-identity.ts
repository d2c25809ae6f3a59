// A fake Azure managed identity token endpoint, so DefaultAzureCredential gets a token with no secret
// anywhere in the test: set IDENTITY_ENDPOINT and IDENTITY_HEADER to the values this returns.
//
// Speaks the App Service managed identity protocol (api-version 2019-08-01) that @azure/identity (through
// MSAL) uses when both variables are set: GET <IDENTITY_ENDPOINT>?api-version=2019-08-01&resource=<resource>
// with header X-IDENTITY-HEADER: <IDENTITY_HEADER>, answered with
// {access_token, expires_on (epoch seconds), resource, token_type: "Bearer"}.
// Left out: user-assigned identities (client_id/mi_res_id/principal_id are ignored), other sources
// (IMDS, Azure Arc, Service Fabric, Cloud Shell), token contents (the token is an opaque random string).
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const TOKEN_LIFETIME_S = 3600;

export interface FakeManagedIdentity {
  /** The value for IDENTITY_ENDPOINT. */
  endpoint: string;
  /** The value for IDENTITY_HEADER. */
  header: string;
  /** The one access token it issues. */
  token: string;
  /** The resources tokens were asked for, in order. */
  resources: string[];
  stop(): Promise<void>;
}

export async function startFakeManagedIdentity(): Promise<FakeManagedIdentity> {
  const header = randomBytes(16).toString('hex');
  const token = `fake-mi-${randomBytes(16).toString('hex')}`;
  const resources: string[] = [];

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const resource = url.searchParams.get('resource');
    const send = (status: number, payload: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(payload));
    };
    if (request.headers['x-identity-header'] !== header) return send(401, { error: 'invalid_request', error_description: 'X-IDENTITY-HEADER is missing or wrong' });
    if (url.searchParams.get('api-version') !== '2019-08-01' || !resource) {
      return send(400, { error: 'invalid_request', error_description: 'api-version 2019-08-01 and resource are required' });
    }
    resources.push(resource);
    const expiresOn = Math.floor(Date.now() / 1000) + TOKEN_LIFETIME_S;
    send(200, { access_token: token, expires_on: String(expiresOn), resource, token_type: 'Bearer' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/msi/token`,
    header,
    token,
    resources,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
