// A fake GCE metadata server (http://metadata.google.internal/computeMetadata/v1), enough for
// google-auth-library's Application Default Credentials: the detection probe, the default service
// account's access token and email, the project id and the universe domain. Like the real one it
// answers only requests carrying `Metadata-Flavor: Google` and echoes that header. Leaves out: identity
// tokens, scope checks (any scopes get a token), other service accounts, instance attributes,
// wait-for-change and recursive listings.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeMetadata {
  /** `127.0.0.1:PORT`, the form GCE_METADATA_HOST takes. */
  host: string;
  /** Every access token handed out, so the fake services can accept exactly these. */
  issued: Set<string>;
  stop(): Promise<void>;
}

export interface FakeMetadataOptions {
  project: string;
  email?: string;
  /** Seconds each token lives (the real server's are about an hour); a short one makes clients refresh. */
  expiresIn?: number;
}

const FLAVOR = 'Metadata-Flavor';

export async function startFakeMetadata({
  project,
  email = `skyduck@${project}.iam.gserviceaccount.com`,
  expiresIn = 3599,
}: FakeMetadataOptions): Promise<FakeMetadata> {
  const issued = new Set<string>();
  const token = (): string => {
    const accessToken = `ya29.fake-${randomBytes(24).toString('hex')}`;
    issued.add(accessToken);
    return JSON.stringify({ access_token: accessToken, expires_in: expiresIn, token_type: 'Bearer' });
  };
  const answers: Record<string, () => string> = {
    '/computeMetadata/v1/instance': () => 'service-accounts/\n',
    '/computeMetadata/v1/instance/service-accounts/default/token': token,
    '/computeMetadata/v1/instance/service-accounts/default/email': () => email,
    '/computeMetadata/v1/project/project-id': () => project,
    '/computeMetadata/v1/universe/universe-domain': () => 'googleapis.com',
  };

  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://metadata').pathname.replace(/\/$/, '');
    const answer = answers[path];
    const status = req.headers[FLAVOR.toLowerCase()] !== 'Google' ? 403 : answer ? 200 : 404;
    const body = status === 403 ? `Missing ${FLAVOR}:Google header.` : (answer?.() ?? 'Not Found');
    const type = body.startsWith('{') ? 'application/json' : 'application/text';
    res.writeHead(status, { [FLAVOR]: 'Google', 'Content-Type': type }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    issued,
    stop: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
