// S3 behind BlobStorageClient. Every request goes through `request`, which maps the SDK's failures onto
// the typed errors and retries with the shared policy (the SDK's own retries are off).
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { credentialsFor } from './identity.ts';
import { type SdkError, isTransient, setupError, statusOf, summary, transport } from './transport.ts';
import { AccessDeniedError, CloudError, ConfigError, type ErrorSite, NotFoundError, PreconditionFailedError, UnavailableError } from '../errors.ts';
import { withRetry } from '../retry.ts';
import type { CloudSettings } from '../settings.ts';
import type { BlobStorageClient, ObjectInfo, PutOptions } from '../types.ts';

const MiB = 1024 * 1024;
/** 10,000 parts (S3's limit) of 8 MiB allow objects up to 78 GiB; memory stays near (4 + 1) × 8 MiB. */
const PART_SIZE = 8 * MiB;
const QUEUE_SIZE = 2;

const ACCESS_DENIED = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken']);
const PRECONDITION = new Set(['PreconditionFailed', 'ConditionalRequestConflict']);

export class S3BlobStorage implements BlobStorageClient {
  readonly provider = 'aws' as const;
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  /** '' or ending in '/': the prefix names a folder, as the local adapter's does. */
  private readonly prefix: string;

  constructor(settings: CloudSettings) {
    if (!settings.bucket) throw new ConfigError('aws storage needs a bucket: set SKYDUCK_STORAGE_BUCKET');
    this.bucket = settings.bucket;
    const folder = (settings.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.prefix = folder ? `${folder}/` : '';
    this.location = `s3://${this.bucket}${folder ? `/${folder}` : ''}`;
    this.client = new S3Client({
      ...transport,
      region: settings.region,
      endpoint: settings.endpoint,
      credentials: credentialsFor(settings),
      // Emulators and most S3-compatible endpoints serve the bucket in the path, not the host name.
      forcePathStyle: settings.endpoint !== undefined,
    });
  }

  private site(key: string): ErrorSite {
    return { provider: this.provider, resource: `s3://${this.bucket}/${this.prefix}${key}` };
  }

  private mapError(key: string, error: unknown): Error {
    // Already ours (e.g. the identity provider's ConfigError for a bad token file): keep its type.
    if (error instanceof ConfigError || error instanceof CloudError) return error;
    const name = (error as SdkError).name ?? '';
    const status = statusOf(error);
    const options = { cause: error };
    if (name === 'NoSuchBucket') {
      const bucket = { provider: this.provider, resource: `s3://${this.bucket}` };
      return new NotFoundError(bucket, 'the bucket does not exist: create it or fix SKYDUCK_STORAGE_BUCKET', options);
    }
    if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return new NotFoundError(this.site(key), 'no such object', options);
    if (PRECONDITION.has(name) || status === 412) {
      return new PreconditionFailedError(this.site(key), 'the object exists, or another create-only put of it is in progress', options);
    }
    if (ACCESS_DENIED.has(name) || status === 403) {
      return new AccessDeniedError(this.site(key), `${summary(error)}: check the credentials the AWS SDK's default chain found and their permissions on the bucket`, options);
    }
    if (isTransient(error)) return new UnavailableError(this.site(key), `S3 is unavailable: ${summary(error)}`, options);
    return setupError(error) ?? new Error(`aws: ${this.site(key).resource}: ${summary(error)}`, options);
  }

  /** One logical operation: `call` is retried whole, so it must be safe to repeat. */
  private request<T>(key: string, call: () => Promise<T>): Promise<T> {
    return withRetry(() => call().catch((error: unknown) => {
      throw this.mapError(key, error);
    }));
  }

  /**
   * The client lib-storage sends through: each of its requests (create, every part, complete, abort)
   * gets the retry policy and the error mapping. Resending is safe because a part's body is a buffer,
   * which the stream as a whole is not.
   */
  private uploadClient(key: string): S3Client {
    const send = (command: Parameters<S3Client['send']>[0]) => this.request(key, () => this.client.send(command));
    return Object.assign(Object.create(this.client) as S3Client, { send });
  }

  private target(key: string, opts?: PutOptions) {
    // lib-storage passes IfNoneMatch on to CompleteMultipartUpload, so it holds for multipart uploads too.
    return { Bucket: this.bucket, Key: this.prefix + key, IfNoneMatch: opts?.ifNoneMatch };
  }

  async putObject(key: string, data: Uint8Array, opts?: PutOptions): Promise<void> {
    await this.request(key, () => this.client.send(new PutObjectCommand({ ...this.target(key, opts), Body: data })));
  }

  async putStream(key: string, body: AsyncIterable<Uint8Array>, opts?: PutOptions): Promise<void> {
    const upload = new Upload({
      client: this.uploadClient(key),
      params: { ...this.target(key, opts), Body: Readable.from(body, { objectMode: false }) },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
    });
    await upload.done();
  }

  getObject(key: string): Promise<Uint8Array> {
    return this.request(key, async () => {
      const { Body } = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      // A successful GetObject always has a body.
      return Body!.transformToByteArray();
    });
  }

  getStream(key: string): Promise<Readable> {
    return this.request(key, async () => {
      const { Body } = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      // Under Node the body is the HTTP response itself (an IncomingMessage), so nothing is buffered.
      return Body as Readable;
    });
  }

  async headObject(key: string): Promise<ObjectInfo> {
    const head = await this.request(key, () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key })));
    return { key, size: head.ContentLength ?? 0 };
  }

  async deleteObject(key: string): Promise<void> {
    // S3 answers 204 for a key that does not exist, so deleting stays idempotent without a check.
    await this.request(key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key })));
  }

  async listObjects(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.request(prefix, () => this.client.send(new ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: this.prefix + prefix,
        ContinuationToken: token,
      })));
      for (const { Key } of page.Contents ?? []) if (Key) keys.push(Key.slice(this.prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }
}
