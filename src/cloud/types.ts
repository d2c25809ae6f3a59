// The three interfaces that hide the clouds. Everything outside src/cloud/ talks to these, never to an SDK.
import type { Readable } from 'node:stream';
import type { CloudSettings } from './settings.ts';

export type CloudName = 'local' | 'aws' | 'gcp' | 'azure';
export const CLOUD_NAMES: readonly CloudName[] = ['local', 'aws', 'gcp', 'azure'];

export interface PutOptions {
  /** '*': create only; PreconditionFailedError when the key exists. */
  ifNoneMatch?: '*';
}

export interface ObjectInfo {
  key: string;
  size: number;
}

/**
 * Keys are relative to the client's root (bucket + optional prefix) and use '/' as separator.
 * Every method maps its SDK's failures onto the typed errors of errors.ts.
 */
export interface BlobStorageClient {
  readonly provider: CloudName;
  /** Where the client points, for messages: `s3://bucket/prefix`, `file:///dir`. */
  readonly location: string;
  putObject(key: string, data: Uint8Array, opts?: PutOptions): Promise<void>;
  /** NotFoundError when missing. */
  getObject(key: string): Promise<Uint8Array>;
  /** NotFoundError when missing. */
  headObject(key: string): Promise<ObjectInfo>;
  /** Idempotent: deleting a missing key succeeds. */
  deleteObject(key: string): Promise<void>;
  /** Every key under `prefix`, all pages, sorted. */
  listObjects(prefix: string): Promise<string[]>;
  /** Streams `body` to `key` with bounded memory, whatever its size. */
  putStream(key: string, body: AsyncIterable<Uint8Array>, opts?: PutOptions): Promise<void>;
  /** NotFoundError when missing (before the stream starts). */
  getStream(key: string): Promise<Readable>;
}

export interface DataKey {
  plaintext: Uint8Array;
  wrapped: Uint8Array;
  keyUri: string;
}

export interface KeyManager {
  /** The wrapping key: `aws-kms://…`, `gcp-kms://…`, `azure-kv://…`, `local://<key id>`. */
  readonly keyUri: string;
  encrypt(plaintext: Uint8Array, context?: Record<string, string>): Promise<Uint8Array>;
  decrypt(ciphertext: Uint8Array, context?: Record<string, string>): Promise<Uint8Array>;
  generateDataKey(context?: Record<string, string>): Promise<DataKey>;
}

export interface Identity {
  /** Who skyduck runs as: an IAM role ARN, a service account e-mail, a managed identity, an OS user. */
  principal: string;
  /** When the current credential expires (absent for credentials that do not). */
  expiresAt?: Date;
  /** How it was obtained, e.g. `metadata server at 169.254.169.254`, `web identity token file /var/run/...`. */
  source: string;
}

/** Who am I, without stored secrets: the platform's workload identity, or the SDK's default chain. */
export interface FederationProvider {
  /** e.g. `gcp workload identity`, `aws web identity`, `azure managed identity`, `local user`. */
  name: string;
  /** Fetches (or refreshes) the credential and says whose it is; a typed error says what was tried. */
  identity(): Promise<Identity>;
}

/** What every src/cloud/<cloud>/index.ts exports: the same shape for every cloud. */
export interface CloudModule {
  name: CloudName;
  /** The SDK packages this cloud's adapters are built on, as reported by /v1/info. */
  sdkPackages: readonly string[];
  createStorage(settings: CloudSettings): BlobStorageClient;
  createKeyManager(settings: CloudSettings): KeyManager;
  createIdentity(settings: CloudSettings): FederationProvider;
}

/** The running binary was built without the cloud the configuration asks for. */
export class ProviderNotCompiledError extends Error {
  readonly cloud: CloudName;
  constructor(cloud: CloudName, binary: string, carriers: readonly string[], compiled: readonly CloudName[]) {
    super(
      `SKYDUCK_CLOUD=${cloud} needs a binary built with ${cloud} support: use ${carriers.join(' or ')}. ` +
        `This is ${binary}, which has ${compiled.join(', ')}.`,
    );
    this.name = 'ProviderNotCompiledError';
    this.cloud = cloud;
  }
}
