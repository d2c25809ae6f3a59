// AWS KMS behind KeyManager. The context goes to KMS as the EncryptionContext, which KMS binds to the
// ciphertext itself, so decrypting under another context fails in KMS, not here.
import { DecryptCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { AccessDeniedError, CloudError, ConfigError, type ErrorSite, NotFoundError, UnavailableError } from '../errors.ts';
import { DEFAULT_RETRY, withRetry } from '../retry.ts';
import type { CloudSettings } from '../settings.ts';
import type { DataKey, KeyManager } from '../types.ts';
import { credentialsFor } from './identity.ts';
import { isTransient, setupError, statusOf, summary, transport } from './transport.ts';

const UNUSABLE_KEY = new Set(['DisabledException', 'KMSInvalidStateException', 'InvalidKeyUsageException']);
const MISMATCH = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);
const ACCESS_DENIED = new Set(['AccessDeniedException', 'UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException']);

/** KMS marks every output member optional; a successful call always sets the ones asked for. */
function present(value: Uint8Array | undefined, what: string): Uint8Array {
  if (!value) throw new Error(`aws: KMS answered without ${what}`);
  return value;
}

export class AwsKmsKeyManager implements KeyManager {
  readonly keyUri: string;
  private readonly client: KMSClient;
  /** Key id, key ARN, alias name or alias ARN, as configured: KMS resolves each. */
  private readonly keyId: string;

  constructor(settings: CloudSettings) {
    if (!settings.key) throw new ConfigError('aws needs a KMS key: set SKYDUCK_KMS_KEY to a key id, key ARN or alias');
    this.keyId = settings.key;
    this.keyUri = `aws-kms://${settings.key}`;
    // Without kmsEndpoint the SDK resolves the endpoint itself, honouring AWS_ENDPOINT_URL_KMS and AWS_ENDPOINT_URL.
    this.client = new KMSClient({ ...transport, region: settings.region, endpoint: settings.kmsEndpoint, credentials: credentialsFor(settings) });
  }

  private site(): ErrorSite {
    return { provider: 'aws', resource: this.keyUri };
  }

  private mapError(error: unknown): Error {
    // Already ours (e.g. the identity provider's ConfigError for a bad token file): keep its type.
    if (error instanceof ConfigError || error instanceof CloudError) return error;
    const name = (error as Error).name;
    const options = { cause: error };
    if (name === 'NotFoundException') return new NotFoundError(this.site(), 'no such KMS key: check SKYDUCK_KMS_KEY and the region', options);
    if (UNUSABLE_KEY.has(name)) {
      return new ConfigError(`${this.keyUri}: the key cannot be used (${summary(error)}): enable it or set SKYDUCK_KMS_KEY to another key`, options);
    }
    if (MISMATCH.has(name)) {
      return new Error(`${this.keyUri}: the ciphertext or its context does not match (tampered, or another key or context)`, options);
    }
    if (ACCESS_DENIED.has(name) || statusOf(error) === 403) {
      return new AccessDeniedError(this.site(), `${summary(error)}: check the credentials the AWS SDK's default chain found and the key policy`, options);
    }
    if (isTransient(error)) return new UnavailableError(this.site(), `KMS is unavailable: ${summary(error)}`, options);
    return setupError(error) ?? new Error(`aws: ${this.keyUri}: ${summary(error)}`, options);
  }

  private request<T>(call: () => Promise<T>): Promise<T> {
    return withRetry(() => call().catch((error: unknown) => {
      throw this.mapError(error);
    }), DEFAULT_RETRY, this.site());
  }

  async encrypt(plaintext: Uint8Array, context?: Record<string, string>): Promise<Uint8Array> {
    const { CiphertextBlob } = await this.request(() => this.client.send(new EncryptCommand({
      KeyId: this.keyId,
      Plaintext: plaintext,
      EncryptionContext: context,
    })));
    return present(CiphertextBlob, 'a ciphertext');
  }

  async decrypt(ciphertext: Uint8Array, context?: Record<string, string>): Promise<Uint8Array> {
    // Naming the key makes KMS refuse a ciphertext wrapped under any other key (IncorrectKeyException).
    const { Plaintext } = await this.request(() => this.client.send(new DecryptCommand({
      KeyId: this.keyId,
      CiphertextBlob: ciphertext,
      EncryptionContext: context,
    })));
    return present(Plaintext, 'a plaintext');
  }

  async generateDataKey(context?: Record<string, string>): Promise<DataKey> {
    const key = await this.request(() => this.client.send(new GenerateDataKeyCommand({
      KeyId: this.keyId,
      KeySpec: 'AES_256',
      EncryptionContext: context,
    })));
    return { plaintext: present(key.Plaintext, 'a plaintext'), wrapped: present(key.CiphertextBlob, 'a ciphertext'), keyUri: this.keyUri };
  }
}
