// A fake of Cloud KMS's REST API v1 (https://cloud.google.com/kms/docs/reference/rest), the part a
// symmetric key's user calls: cryptoKeys.encrypt and cryptoKeys.decrypt, with base64 bytes in JSON.
// Each key is a real random AES-256-GCM key and additionalAuthenticatedData is its associated data,
// so a tampered ciphertext or another context fails as on the service (400 INVALID_ARGUMENT); a
// disabled key fails with FAILED_PRECONDITION, an unknown one with NOT_FOUND. Errors have the
// google.rpc.Status shape {"error":{"code","message","status"}}. Every request needs
// `Authorization: Bearer`; the tokens are recorded. Leaves out: key ring and key management over
// HTTP (createKey() stands in), key versions and rotation, IAM, the CRC32C integrity fields,
// asymmetric and MAC keys, and the gRPC transport.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeKms {
  endpoint: string;
  /** Every bearer token a request carried. */
  tokens: Set<string>;
  createKey(name: string): void;
  /** Disables the key's (only) version: encrypt and decrypt then fail with FAILED_PRECONDITION. */
  disableKey(name: string): void;
  /**
   * A fault for every request from now on, for reliability tests: 'error' answers 500 INTERNAL (a failing
   * service), 'hang' reads the request and never answers it (until the client gives up or stop()),
   * 'none' (the default) serves normally again. Requests already hanging stay so.
   */
  fault: KmsFault;
  /** Requests received so far, answered or not. */
  readonly requests: number;
  stop(): Promise<void>;
}

export type KmsFault = 'none' | 'error' | 'hang';

export interface FakeKmsOptions {
  /** Which bearer tokens are valid (by default any); others get 401 UNAUTHENTICATED. */
  acceptToken?: (token: string) => boolean;
}

interface Key {
  material: Buffer;
  enabled: boolean;
}

const HTTP_STATUS = { INVALID_ARGUMENT: 400, FAILED_PRECONDITION: 400, UNAUTHENTICATED: 401, NOT_FOUND: 404, INTERNAL: 500 } as const;
type Status = keyof typeof HTTP_STATUS;

class RpcFailure extends Error {
  readonly status: Status;
  constructor(status: Status, message: string) {
    super(message);
    this.status = status;
  }
}

const MAX_PLAINTEXT = 64 * 1024;
const VERSION = 1;
const NONCE = 12;
const TAG = 16;
const DECRYPTION_FAILED = "Decryption failed: verify that 'name' refers to the correct CryptoKey.";

function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce).setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), nonce, body, cipher.getAuthTag()]);
}

function open(key: Buffer, ciphertext: Buffer, aad: Buffer): Buffer {
  if (ciphertext.length < 1 + NONCE + TAG || ciphertext[0] !== VERSION) throw new RpcFailure('INVALID_ARGUMENT', DECRYPTION_FAILED);
  const decipher = createDecipheriv('aes-256-gcm', key, ciphertext.subarray(1, 1 + NONCE))
    .setAAD(aad)
    .setAuthTag(ciphertext.subarray(ciphertext.length - TAG));
  try {
    return Buffer.concat([decipher.update(ciphertext.subarray(1 + NONCE, ciphertext.length - TAG)), decipher.final()]);
  } catch {
    throw new RpcFailure('INVALID_ARGUMENT', DECRYPTION_FAILED);
  }
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, string | undefined>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString() || '{}');
  } catch {
    throw new RpcFailure('INVALID_ARGUMENT', 'Invalid JSON payload received.');
  }
}

export async function startFakeKms({ acceptToken = () => true }: FakeKmsOptions = {}): Promise<FakeKms> {
  const keys = new Map<string, Key>();
  const tokens = new Set<string>();
  let fault: KmsFault = 'none';
  let requests = 0;

  const usableKey = (name: string): Key => {
    const key = keys.get(name);
    if (!key) throw new RpcFailure('NOT_FOUND', `CryptoKey ${name} not found.`);
    if (!key.enabled) {
      throw new RpcFailure('FAILED_PRECONDITION', `${name}/cryptoKeyVersions/1 is not enabled, current state is: DISABLED.`);
    }
    return key;
  };

  const call = async (name: string, method: string, request: Record<string, string | undefined>) => {
    const key = usableKey(name);
    const bytes = (field: string) => Buffer.from(request[field] ?? '', 'base64');
    const aad = bytes('additionalAuthenticatedData');
    if (method === 'encrypt') {
      const plaintext = bytes('plaintext');
      if (plaintext.length > MAX_PLAINTEXT) throw new RpcFailure('INVALID_ARGUMENT', 'The plaintext exceeds 65536 bytes.');
      return { name: `${name}/cryptoKeyVersions/1`, ciphertext: seal(key.material, plaintext, aad).toString('base64') };
    }
    return { plaintext: open(key.material, bytes('ciphertext'), aad).toString('base64'), usedPrimary: true };
  };

  const authenticate = (req: http.IncomingMessage) => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token) tokens.add(token);
    if (!token || !acceptToken(token)) {
      throw new RpcFailure('UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token.');
    }
  };

  const server = http.createServer(async (req, res) => {
    requests += 1;
    if (fault === 'hang') return void req.resume();
    let answer: { status: number; body: unknown };
    try {
      if (fault === 'error') throw new RpcFailure('INTERNAL', 'Internal error encountered. (fault injected by the test)');
      authenticate(req);
      const path = new URL(req.url ?? '/', 'http://fake').pathname;
      const [, name, method] = /^\/v1\/(projects\/[^:]+):(encrypt|decrypt)$/.exec(decodeURIComponent(path)) ?? [];
      if (req.method !== 'POST' || !name || !method) throw new RpcFailure('NOT_FOUND', `Not found: ${req.method} ${path}`);
      answer = { status: 200, body: await call(name, method, await readJson(req)) };
    } catch (error) {
      const failure = error instanceof RpcFailure ? error : new RpcFailure('INTERNAL', String(error));
      req.resume();
      const status = HTTP_STATUS[failure.status];
      answer = { status, body: { error: { code: status, message: failure.message, status: failure.status } } };
    }
    res.writeHead(answer.status, { 'Content-Type': 'application/json; charset=UTF-8' }).end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  const existing = (name: string) => {
    const key = keys.get(name);
    if (!key) throw new Error(`fake KMS: no key ${name}`);
    return key;
  };
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tokens,
    createKey: (name) => void keys.set(name, { material: randomBytes(32), enabled: true }),
    disableKey: (name) => void (existing(name).enabled = false),
    get fault() {
      return fault;
    },
    set fault(value: KmsFault) {
      fault = value;
    },
    get requests() {
      return requests;
    },
    stop: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
