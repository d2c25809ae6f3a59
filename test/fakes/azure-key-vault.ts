// A fake Azure Key Vault (keys only) for tests: Azure has no Key Vault emulator.
//
// Speaks the part of the Key Vault REST API that @azure/keyvault-keys uses for KeyClient.getKey and
// CryptographyClient.wrapKey/unwrapKey, on a free loopback port over plain http:
//   - the challenge: a request without an acceptable `Authorization: Bearer` gets 401 with
//     `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>", resource="https://vault.azure.net"`,
//     which the SDK answers by getting a token (so clients need disableChallengeResourceVerification,
//     as the resource does not match 127.0.0.1, and allowInsecureConnection);
//   - GET /keys/{name}[/{version}]: the key bundle (public JWK, attributes.enabled); no version = latest;
//   - POST /keys/{name}[/{version}]/wrapkey|unwrapkey with {alg: "RSA-OAEP-256", value: base64url}:
//     real RSA-2048 OAEP-SHA256 through node:crypto, answering {kid, value}.
// A disabled key still wraps (a public-key operation) but refuses to unwrap with 403 Forbidden, innererror
// KeyDisabled, as the real service is reported to (Azure/azure-sdk-for-python#45342; not verified here).
// Errors use Key Vault's body {error: {code, message, innererror?}}.
// Left out: every other operation and algorithm, key_ops enforcement, expiry, api-version checks, token
// validation beyond comparing with the one expected token, soft delete, rate limits.
import { constants, generateKeyPairSync, type KeyObject, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const CHALLENGE = 'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="https://vault.azure.net"';
const ALGORITHM = 'RSA-OAEP-256';
const OAEP = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };

interface KeyVersion {
  version: string;
  publicKey: KeyObject;
  privateKey: KeyObject;
  created: number;
}

interface VaultKey {
  versions: KeyVersion[];
  enabled: boolean;
}

export interface FakeKeyVault {
  /** The vault URL, `http://127.0.0.1:<port>`. */
  url: string;
  /** Every Authorization header sent with a request past the challenge, in order. */
  authorizations: string[];
  /** Creates the key, or a new version of it (a rotation); returns the new version. */
  createKey(name: string): string;
  /** Marks the key disabled (every version): unwrapKey then answers 403 KeyDisabled. */
  disableKey(name: string): void;
  /**
   * A fault for every request from now on (the challenge included), for reliability tests: 'error'
   * answers 500 InternalServerError (a failing vault), 'hang' reads the request and never answers it
   * (until the client gives up or stop()), 'none' (the default) serves normally again. Requests already
   * hanging stay so.
   */
  fault: VaultFault;
  /** Requests received so far, answered or not. */
  readonly requests: number;
  stop(): Promise<void>;
}

export type VaultFault = 'none' | 'error' | 'hang';

class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly innerCode: string | undefined;
  constructor(status: number, code: string, message: string, innerCode?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.innerCode = innerCode;
  }
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new HttpError(400, 'BadParameter', 'The request body is not JSON.');
  }
}

/** `token`: the only bearer token accepted (e.g. the managed identity fake's); any when unset. */
export async function startFakeKeyVault(options: { token?: string } = {}): Promise<FakeKeyVault> {
  const keys = new Map<string, VaultKey>();
  const authorizations: string[] = [];
  let url = '';
  let fault: VaultFault = 'none';
  let requests = 0;

  const find = (name: string, version: string | undefined): { key: VaultKey; found: KeyVersion } => {
    const key = keys.get(name);
    const found = version ? key?.versions.find((v) => v.version === version) : key?.versions.at(-1);
    if (!key || !found) throw new HttpError(404, 'KeyNotFound', `A key with (name/id) ${name}${version ? `/${version}` : ''} was not found in this key vault.`);
    return { key, found };
  };
  const kid = (name: string, version: string) => `${url}/keys/${name}/${version}`;

  const bundle = (name: string, key: VaultKey, found: KeyVersion) => {
    const jwk = found.publicKey.export({ format: 'jwk' });
    const seconds = Math.floor(found.created / 1000);
    return {
      key: { kid: kid(name, found.version), kty: 'RSA', key_ops: ['wrapKey', 'unwrapKey'], n: jwk.n, e: jwk.e },
      attributes: { enabled: key.enabled, created: seconds, updated: seconds, recoveryLevel: 'Recoverable+Purgeable' },
    };
  };

  const crypt = (name: string, version: string | undefined, operation: string, body: string) => {
    const { key, found } = find(name, version);
    const { alg, value } = parseJson(body) as { alg?: string; value?: string };
    if (alg !== ALGORITHM) throw new HttpError(400, 'BadParameter', `Algorithm ${alg} is not supported by this fake.`);
    const input = Buffer.from(value ?? '', 'base64url');
    if (operation === 'wrapkey') return { kid: kid(name, found.version), value: publicEncrypt({ key: found.publicKey, ...OAEP }, input).toString('base64url') };
    if (!key.enabled) throw new HttpError(403, 'Forbidden', 'Operation unwrapKey is not allowed on a disabled key.', 'KeyDisabled');
    try {
      return { kid: kid(name, found.version), value: privateDecrypt({ key: found.privateKey, ...OAEP }, input).toString('base64url') };
    } catch {
      throw new HttpError(400, 'BadParameter', 'The parameter is incorrect.');
    }
  };

  const route = (method: string, path: string, body: string): unknown => {
    const match = /^\/keys\/([^/]+)(?:\/([^/]+))?(?:\/(wrapkey|unwrapkey))?\/?$/i.exec(path);
    if (!match) throw new HttpError(400, 'BadParameter', `Unsupported path ${path}`);
    const [, name = '', version, operation] = match;
    if (method === 'GET' && !operation) {
      const { key, found } = find(name, version);
      return bundle(name, key, found);
    }
    if (method === 'POST' && operation) return crypt(name, version, operation.toLowerCase(), body);
    throw new HttpError(405, 'MethodNotAllowed', `${method} ${path} is not supported by this fake.`);
  };

  const authorized = (header: string | undefined): boolean =>
    header !== undefined && (options.token === undefined ? /^Bearer \S+$/.test(header) : header === `Bearer ${options.token}`);

  const server = http.createServer(async (request, response) => {
    requests += 1;
    const injected = fault;
    let body = '';
    for await (const chunk of request) body += chunk;
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      response.end(JSON.stringify(payload));
    };
    if (injected === 'hang') return;
    if (injected === 'error') return send(500, { error: { code: 'InternalServerError', message: 'Internal error (fault injected by the test).' } });
    const header = request.headers.authorization;
    if (!authorized(header)) return send(401, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } }, { 'www-authenticate': CHALLENGE });
    authorizations.push(header!);
    try {
      send(200, route(request.method ?? 'GET', new URL(request.url ?? '/', url).pathname, body));
    } catch (caught) {
      const error = caught instanceof HttpError ? caught : new HttpError(500, 'InternalServerError', String(caught));
      const innererror = error.innerCode ? { innererror: { code: error.innerCode } } : {};
      send(error.status, { error: { code: error.code, message: error.message, ...innererror } });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    authorizations,
    createKey(name) {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const version = randomBytes(16).toString('hex');
      const key = keys.get(name) ?? { versions: [], enabled: true };
      key.versions.push({ version, publicKey, privateKey, created: Date.now() });
      keys.set(name, key);
      return version;
    },
    disableKey(name) {
      const key = keys.get(name);
      if (!key) throw new Error(`no key ${name} in the fake vault`);
      key.enabled = false;
    },
    get fault() {
      return fault;
    },
    set fault(value: VaultFault) {
      fault = value;
    },
    get requests() {
      return requests;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
