// Azure Key Vault behind KeyManager. Key Vault's wrapKey/unwrapKey (RSA-OAEP-256) take no associated
// data, so the context is bound here: each encrypt wraps a fresh 256-bit key K in Key Vault and seals the
// plaintext with AES-256-GCM under K, with canonicalContext(context) as associated data.
//
// Envelope, version 1:
//   [1: format 1][1: n][n: Key Vault key version, ASCII][2: m, big-endian][m: wrapped K][12: nonce][ciphertext][16: GCM tag]
// The key version is recorded because unwrapping needs the version that wrapped: after a rotation the
// key's latest version would no longer open older envelopes.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type CryptographyClient, KeyClient } from '@azure/keyvault-keys';
import { canonicalContext } from '../context.ts';
import { AccessDeniedError, type CloudError, ConfigError, type ErrorSite, NotFoundError, UnavailableError } from '../errors.ts';
import { withRetry } from '../retry.ts';
import type { CloudSettings } from '../settings.ts';
import type { DataKey, KeyManager } from '../types.ts';
import { azureCredential, credentialError } from './identity.ts';

const FORMAT = 1;
const WRAP_ALGORITHM = 'RSA-OAEP-256';
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Per Key Vault call, token acquisition included. */
const CALL_TIMEOUT_MS = 20_000;

const KEY_VERSION = /^[A-Za-z0-9-]{1,64}$/;
const KEY_HINT = 'set SKYDUCK_KMS_KEY to a Key Vault key URL, https://<vault>.vault.azure.net/keys/<name>[/<version>]';

interface KeyUrl {
  vaultUrl: string;
  host: string;
  name: string;
  version?: string;
  loopback: boolean;
}

interface Envelope {
  keyVersion: string;
  wrappedKey: Uint8Array;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
}

export class AzureKeyVaultKeyManager implements KeyManager {
  readonly keyUri: string;
  readonly #site: ErrorSite;
  readonly #key: KeyUrl;
  readonly #vault: KeyClient;
  readonly #clients = new Map<string, CryptographyClient>();
  #latestVersion: Promise<string> | undefined;

  constructor(settings: CloudSettings) {
    this.#key = parseKeyUrl(settings.key);
    const { host, name, version, loopback } = this.#key;
    this.keyUri = `azure-kv://${host}/keys/${name}${version ? `/${version}` : ''}`;
    this.#site = { provider: 'azure', resource: this.keyUri };
    this.#vault = new KeyClient(this.#key.vaultUrl, azureCredential(settings), {
      retryOptions: { maxRetries: 0 },
      // A vault's 401 challenge names the resource to get a token for; the SDK checks that it matches
      // the vault's host. The loopback fake answers with the public cloud's resource, so only there
      // is the check off (and plain http allowed).
      disableChallengeResourceVerification: loopback,
      allowInsecureConnection: loopback,
    });
  }

  async encrypt(plaintext: Uint8Array, context?: Record<string, string>): Promise<Uint8Array> {
    const dataKey = randomBytes(KEY_BYTES);
    const keyVersion = await this.#wrappingVersion();
    const wrapped = await this.#call('wrapKey', () => this.#client(keyVersion).wrapKey(WRAP_ALGORITHM, dataKey, deadline()));
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', dataKey, nonce).setAAD(canonicalContext(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return pack({ keyVersion, wrappedKey: wrapped.result, nonce, ciphertext, tag: cipher.getAuthTag() });
  }

  async decrypt(ciphertext: Uint8Array, context?: Record<string, string>): Promise<Uint8Array> {
    const envelope = unpack(ciphertext, this.keyUri);
    const { keyVersion, wrappedKey } = envelope;
    const unwrapped = await this.#call('unwrapKey', () => this.#client(keyVersion).unwrapKey(WRAP_ALGORITHM, wrappedKey, deadline()));
    try {
      const decipher = createDecipheriv('aes-256-gcm', unwrapped.result, envelope.nonce).setAAD(canonicalContext(context));
      decipher.setAuthTag(envelope.tag);
      return Buffer.concat([decipher.update(envelope.ciphertext), decipher.final()]);
    } catch (error) {
      throw new Error(`${this.keyUri}: the envelope does not open under this context (sealed for another object, or tampered with)`, { cause: error });
    }
  }

  async generateDataKey(context?: Record<string, string>): Promise<DataKey> {
    const plaintext = randomBytes(KEY_BYTES);
    return { plaintext, wrapped: await this.encrypt(plaintext, context), keyUri: this.keyUri };
  }

  /**
   * The configured version, or the key's latest version looked up once: wrapping under a named version
   * is what lets the envelope record the version that wrapped it.
   */
  #wrappingVersion(): Promise<string> {
    if (this.#key.version) return Promise.resolve(this.#key.version);
    if (!this.#latestVersion) {
      const lookup = this.#lookUpLatestVersion();
      // A failed lookup is not remembered: the next call tries again.
      lookup.catch(() => {
        if (this.#latestVersion === lookup) this.#latestVersion = undefined;
      });
      this.#latestVersion = lookup;
    }
    return this.#latestVersion;
  }

  async #lookUpLatestVersion(): Promise<string> {
    const key = await this.#call('get', () => this.#vault.getKey(this.#key.name, deadline()));
    if (key.properties.enabled === false) throw this.#disabled();
    if (!key.properties.version) throw new Error(`${this.keyUri}: Key Vault returned the key without a version`);
    return key.properties.version;
  }

  #client(version: string): CryptographyClient {
    let client = this.#clients.get(version);
    if (!client) {
      client = this.#vault.getCryptographyClient(this.#key.name, { keyVersion: version });
      this.#clients.set(version, client);
    }
    return client;
  }

  #call<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return withRetry(async () => {
      try {
        return await call();
      } catch (error) {
        throw this.#mapError(operation, error);
      }
    });
  }

  #mapError(operation: string, error: unknown): unknown {
    const site = this.#site;
    if (!(error instanceof Error)) return error;
    if (error.name === 'AbortError') return new UnavailableError(site, `Key Vault did not answer ${operation} in time`, { cause: error });
    const credential = credentialError(site, error);
    if (credential) return credential;
    if (error.name !== 'RestError') return usageError(site, operation, error) ?? error;
    const { statusCode: status, code, innerCode } = restDetails(error);
    if (status === 404) {
      return new NotFoundError(site, `Key Vault has no such key or key version (${innerCode ?? code ?? status}): ${KEY_HINT}`, { cause: error });
    }
    if (status === 403 && (innerCode === 'KeyDisabled' || /disabled/i.test(error.message))) return this.#disabled(error);
    if (status === 401 || status === 403) {
      return new AccessDeniedError(site, `Key Vault refused ${operation} (${innerCode ?? code ?? status}): the identity needs keys get, wrapKey and unwrapKey on this key, or ${KEY_HINT}`, { cause: error });
    }
    if (status === 400 && operation === 'unwrapKey') {
      return new ConfigError(`${this.keyUri}: Key Vault could not unwrap (${innerCode ?? code}): the envelope was not wrapped by this key, or is corrupt`, { cause: error });
    }
    if (status === undefined || status === 408 || status === 429 || status >= 500) {
      return new UnavailableError(site, `Key Vault unavailable (${code ?? status ?? 'no response'})`, { cause: error });
    }
    return error;
  }

  #disabled(cause?: unknown): CloudError {
    return new AccessDeniedError(this.#site, `the key is disabled in Key Vault: enable it, or set SKYDUCK_KMS_KEY to an enabled key`, { cause });
  }
}

function parseKeyUrl(key: string | undefined): KeyUrl {
  let url: URL;
  try {
    url = new URL(key ?? '');
  } catch {
    throw new ConfigError(KEY_HINT);
  }
  const match = /^\/keys\/([^/]+)(?:\/([^/]+))?\/?$/.exec(url.pathname);
  const loopback = isLoopback(url.hostname);
  // Plain http only reaches a test double on this machine; a real vault is https.
  const scheme = url.protocol === 'https:' || (url.protocol === 'http:' && loopback);
  if (!match || !scheme || url.search || url.hash || url.username) throw new ConfigError(`${KEY_HINT}; got "${key}"`);
  return { vaultUrl: url.origin, host: url.host, name: match[1]!, version: match[2], loopback };
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

const deadline = () => ({ abortSignal: AbortSignal.timeout(CALL_TIMEOUT_MS) });

function pack({ keyVersion, wrappedKey, nonce, ciphertext, tag }: Envelope): Uint8Array {
  const version = Buffer.from(keyVersion, 'ascii');
  const wrappedLength = Buffer.alloc(2);
  wrappedLength.writeUInt16BE(wrappedKey.byteLength);
  return Buffer.concat([Buffer.from([FORMAT, version.length]), version, wrappedLength, wrappedKey, nonce, ciphertext, tag]);
}

function unpack(bytes: Uint8Array, keyUri: string): Envelope {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const malformed = () => new Error(`${keyUri}: not an Azure Key Vault envelope (format ${FORMAT}), or truncated`);
  let at = 0;
  const take = (length: number): Buffer => {
    if (at + length > data.length) throw malformed();
    return data.subarray(at, (at += length));
  };
  if (take(1)[0] !== FORMAT) throw malformed();
  const keyVersion = take(take(1)[0]!).toString('ascii');
  // It becomes part of a request path.
  if (!KEY_VERSION.test(keyVersion)) throw malformed();
  const wrappedKey = take(take(2).readUInt16BE(0));
  const nonce = take(NONCE_BYTES);
  const sealed = take(data.length - at);
  if (sealed.length < TAG_BYTES) throw malformed();
  return { keyVersion, wrappedKey, nonce, ciphertext: sealed.subarray(0, -TAG_BYTES), tag: sealed.subarray(-TAG_BYTES) };
}

/** Key Vault's error body: {error: {code, message, innererror: {code}}}. */
function restDetails(error: Error): { statusCode?: number; code?: string; innerCode?: string } {
  const { statusCode, code, details } = error as Error & { statusCode?: number; code?: string; details?: unknown };
  const body = (details as { error?: { innererror?: { code?: string }; innerError?: { code?: string } } } | undefined)?.error;
  return { statusCode, code, innerCode: (body?.innererror ?? body?.innerError)?.code };
}

/** The SDK's own refusals before any request: an expired key, or one whose key_ops leave the operation out. */
function usageError(site: ErrorSite, operation: string, error: Error): CloudError | undefined {
  if (!/expired at|can't be used before|is not supported on key/.test(error.message)) return undefined;
  return new AccessDeniedError(site, `the key cannot be used for ${operation} (${error.message}): fix it in Key Vault, or set SKYDUCK_KMS_KEY to another key`, { cause: error });
}

