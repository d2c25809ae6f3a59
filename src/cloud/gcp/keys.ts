// Cloud KMS through @google-cloud/kms over REST (fallback: true): the gRPC transport would need .proto
// files on disk at run time, which a sealed binary does not have. Credentials are those SKYDUCK_IDENTITY
// allows (./identity.ts), Application Default Credentials by default. The encryption context is bound
// as additionalAuthenticatedData, so a wrapped key only unwraps under the context it was made for.
// gax's retries are off: ../retry.ts is the one policy.
import { randomBytes } from 'node:crypto';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { canonicalContext } from '../context.ts';
import { AccessDeniedError, ConfigError, type ErrorSite, NotFoundError, UnavailableError } from '../errors.ts';
import { DEFAULT_RETRY, withRetry } from '../retry.ts';
import type { CloudSettings } from '../settings.ts';
import type { DataKey, KeyManager } from '../types.ts';
import { authFor } from './identity.ts';

type ClientOptions = NonNullable<ConstructorParameters<typeof KeyManagementServiceClient>[0]>;

const KEY_NAME = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;

/** The google.rpc.Code values this adapter tells apart. */
const Code = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;
const TRANSIENT: readonly number[] = [Code.DEADLINE_EXCEEDED, Code.RESOURCE_EXHAUSTED, Code.INTERNAL, Code.UNAVAILABLE];

/** retry: null turns gax's retries off; the timeout bounds each call, an unreachable endpoint included. */
const CALL_OPTIONS = { retry: null, timeout: 30_000 };

/** SKYDUCK_KMS_ENDPOINT (an emulator, a private endpoint) as the host, port and protocol gax takes. */
function endpointOptions(endpoint: string | undefined): { apiEndpoint?: string; port?: number; protocol?: string } {
  if (!endpoint) return {};
  const url = URL.parse(endpoint);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ConfigError(`SKYDUCK_KMS_ENDPOINT must be an http(s) URL, not ${endpoint}`);
  }
  const protocol = url.protocol.slice(0, -1);
  return { apiEndpoint: url.hostname, port: Number(url.port) || (protocol === 'http' ? 80 : 443), protocol };
}

/** Proto3 leaves empty bytes out of a message; protobufjs hands bytes back as Buffers (strings only go in). */
const toBytes = (value: Uint8Array | string | null | undefined): Uint8Array =>
  typeof value === 'string' ? Buffer.from(value, 'base64') : (value ?? new Uint8Array(0));

export class GcpKmsKeyManager implements KeyManager {
  readonly keyUri: string;
  private readonly keyName: string;
  private readonly clientOptions: ClientOptions;
  private client: KeyManagementServiceClient | undefined;

  constructor(settings: CloudSettings) {
    if (!settings.key || !KEY_NAME.test(settings.key)) {
      throw new ConfigError(
        `SKYDUCK_KMS_KEY must name a Cloud KMS key, projects/P/locations/L/keyRings/R/cryptoKeys/K${settings.key ? `, not ${settings.key}` : ''}`,
      );
    }
    this.keyName = settings.key;
    this.keyUri = `gcp-kms://${settings.key}`;
    // Unset (auto), gax finds Application Default Credentials itself.
    this.clientOptions = { fallback: true, ...endpointOptions(settings.kmsEndpoint), auth: authFor(settings.identity) };
  }

  /**
   * The client, its connection set up first. The generated client keeps a failed set-up (no
   * credentials found, say) for good and rethrows it from every call as an unhandled rejection, which
   * would end the process; set up here, a failure is an ordinary error and the next call starts afresh.
   */
  private async ready(): Promise<KeyManagementServiceClient> {
    const client = (this.client ??= new KeyManagementServiceClient(this.clientOptions));
    try {
      await client.initialize();
      return client;
    } catch (error) {
      if (this.client === client) this.client = undefined;
      throw error;
    }
  }

  private get site(): ErrorSite {
    return { provider: 'gcp', resource: this.keyUri };
  }

  private mapError(error: unknown, operation: 'encrypt' | 'decrypt'): Error {
    const { code, message } = error as { code?: unknown; message?: unknown };
    const detail = String(message ?? error).split('\n')[0]!;
    if (code === Code.NOT_FOUND) return new NotFoundError(this.site, 'no such key: create it, or set SKYDUCK_KMS_KEY to an existing key');
    if (code === Code.PERMISSION_DENIED || code === Code.UNAUTHENTICATED) {
      return new AccessDeniedError(this.site, `refused (${detail}); the principal needs roles/cloudkms.cryptoKeyEncrypterDecrypter on the key`);
    }
    if (code === Code.FAILED_PRECONDITION) {
      return new ConfigError(
        `gcp: ${this.keyUri}: the key cannot be used (${detail}): enable its primary version, or set SKYDUCK_KMS_KEY to a usable key`,
      );
    }
    if (code === Code.INVALID_ARGUMENT && operation === 'decrypt') {
      return new Error(`${this.keyUri}: the ciphertext or its context does not match (tampered, or another key or context)`);
    }
    if (typeof code !== 'number' && /default credentials/i.test(detail)) {
      return new AccessDeniedError(this.site, `no Google credentials found (Application Default Credentials): ${detail}`);
    }
    if (typeof code !== 'number' || TRANSIENT.includes(code)) {
      return new UnavailableError(this.site, `Cloud KMS is unreachable or failing (${detail})`);
    }
    return new Error(`gcp: ${this.keyUri}: Cloud KMS refused to ${operation} (${detail})`);
  }

  private call<T>(operation: 'encrypt' | 'decrypt', request: (client: KeyManagementServiceClient) => Promise<T>): Promise<T> {
    return withRetry(() => this.ready().then(request).catch((error: unknown) => {
      throw this.mapError(error, operation);
    }), DEFAULT_RETRY, this.site);
  }

  async encrypt(plaintext: Uint8Array, context?: Record<string, string>): Promise<Uint8Array> {
    const additionalAuthenticatedData = canonicalContext(context);
    const [response] = await this.call('encrypt', (client) =>
      // A copy: the client serializes a Uint8Array view from its buffer's start, ignoring its offset
      // (AWS KMS hands out data keys as such views), so a subarray would wrap the wrong bytes.
      client.encrypt({ name: this.keyName, plaintext: Buffer.from(plaintext), additionalAuthenticatedData }, CALL_OPTIONS));
    return toBytes(response.ciphertext);
  }

  async decrypt(ciphertext: Uint8Array, context?: Record<string, string>): Promise<Uint8Array> {
    const additionalAuthenticatedData = canonicalContext(context);
    const [response] = await this.call('decrypt', (client) =>
      client.decrypt({ name: this.keyName, ciphertext: Buffer.from(ciphertext), additionalAuthenticatedData }, CALL_OPTIONS));
    return toBytes(response.plaintext);
  }

  /** Cloud KMS has no data-key call (as AWS KMS's GenerateDataKey): the key is made here and wrapped there. */
  async generateDataKey(context?: Record<string, string>): Promise<DataKey> {
    const plaintext = randomBytes(32);
    return { plaintext, wrapped: await this.encrypt(plaintext, context), keyUri: this.keyUri };
  }
}
