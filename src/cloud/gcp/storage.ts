// Cloud Storage through @google-cloud/storage (the JSON API). Credentials are those SKYDUCK_IDENTITY
// allows (./identity.ts): Application Default Credentials by default, never skyduck's configuration.
// The SDK's own retries are off: every call runs under the one policy of ../retry.ts.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Bucket, type File, Storage } from '@google-cloud/storage';
import { AccessDeniedError, ConfigError, type ErrorSite, NotFoundError, PreconditionFailedError, UnavailableError } from '../errors.ts';
import { withDeadline } from '../../deadline.ts';
import { withRetry } from '../retry.ts';
import type { CloudSettings } from '../settings.ts';
import type { BlobStorageClient, ObjectInfo, PutOptions } from '../types.ts';
import { authFor } from './identity.ts';

/** Per attempt, so that an unreachable or stalled endpoint fails in bounded time. */
const DEADLINE_MS = 30_000;
/** A resumable upload sends one request per chunk and holds one chunk in memory (a multiple of 256 KiB). */
const CHUNK_SIZE = 8 * 1024 * 1024;
/** Set explicitly: the SDK otherwise guesses a type from the key's extension. */
const CONTENT_TYPE = 'application/octet-stream';

/** The HTTP status of an SDK failure, wherever its layer put it (ApiError, GaxiosError, upload error). */
function httpStatus(error: unknown): number | undefined {
  const { code, status, response } = (error ?? {}) as { code?: unknown; status?: unknown; response?: { status?: unknown } };
  return [code, status, response?.status].find((value): value is number => typeof value === 'number');
}

/** The service's own message: read streams carry the raw JSON error body as their message. */
function detail(error: unknown): string {
  const candidate = (error as { message?: unknown })?.message;
  // Only a message is shown: SDK error objects can carry request headers, tokens among them.
  const message = typeof candidate === 'string' ? candidate : 'no message';
  try {
    return (JSON.parse(message) as { error: { message: string } }).error.message;
  } catch {
    return message.split('\n')[0]!.slice(0, 300);
  }
}

/**
 * The SDK's own `timeout` option reaches no request on Node: its transport (teeny-request over
 * node-fetch 3) drops it, and nothing else can abort a request; so each attempt gets a deadline.
 */
const timedOut = () => Object.assign(new Error(`timed out after ${DEADLINE_MS / 1000} s`), { code: 'ETIMEDOUT' });

const createOnly = (opts?: PutOptions) => (opts?.ifNoneMatch === '*' ? { preconditionOpts: { ifGenerationMatch: 0 } } : {});

export class GcsBlobStorage implements BlobStorageClient {
  readonly provider = 'gcp' as const;
  readonly location: string;
  private readonly bucket: Bucket;
  /** '' or a prefix ending in '/'. */
  private readonly root: string;

  constructor(settings: CloudSettings) {
    if (!settings.bucket) throw new ConfigError('SKYDUCK_STORAGE_BUCKET is not set: name the Cloud Storage bucket for skyduck\'s data');
    // A prefix names a folder, as it does for local storage: 'tenant' must not reach into 'tenant2/'.
    this.root = settings.prefix ? settings.prefix.replace(/\/?$/, '/') : '';
    this.location = `gs://${settings.bucket}${this.root ? `/${this.root.slice(0, -1)}` : ''}`;
    const auth = authFor(settings.identity);
    const storage = new Storage({
      apiEndpoint: settings.endpoint,
      ...(auth ? { authClient: auth } : {}),
      // Otherwise the SDK sends no credentials to an endpoint other than Google's own (a private or test one).
      useAuthWithCustomEndpoint: true,
      retryOptions: { autoRetry: false },
    });
    this.bucket = storage.bucket(settings.bucket);
  }

  private file(key: string): File {
    return this.bucket.file(this.root + key);
  }

  private site(key: string): ErrorSite {
    return { provider: this.provider, resource: `${this.location}/${key}` };
  }

  private mapError(key: string, error: unknown): Error {
    const status = httpStatus(error);
    const site = this.site(key);
    if (status === 404 && /bucket does not exist/i.test(detail(error))) {
      return new NotFoundError(
        { provider: this.provider, resource: `gs://${this.bucket.name}` },
        'the bucket does not exist: create it, or set SKYDUCK_STORAGE_BUCKET to an existing bucket',
      );
    }
    if (status === 404) return new NotFoundError(site, 'no such object');
    if (status === 412) return new PreconditionFailedError(site, 'the object already exists (create-only put)');
    if (status === 401 || status === 403) {
      return new AccessDeniedError(site, `refused (${status}: ${detail(error)}); check the roles of the principal skyduck runs as (SKYDUCK_IDENTITY)`);
    }
    if (status === undefined && /default credentials/i.test(detail(error))) {
      return new AccessDeniedError(site, `no Google credentials found (Application Default Credentials): ${detail(error)}`);
    }
    if (status === undefined || status === 408 || status === 429 || status >= 500) {
      return new UnavailableError(site, `Cloud Storage is unreachable or failing (${status ?? 'no response'}: ${detail(error)})`);
    }
    return new Error(`${this.provider}: ${site.resource}: Cloud Storage refused the request (${status}: ${detail(error)})`);
  }

  private call<T>(key: string, operation: () => Promise<T>): Promise<T> {
    return withRetry(() => withDeadline(operation(), DEADLINE_MS, timedOut).catch((error: unknown) => {
      throw this.mapError(key, error);
    }));
  }

  async putObject(key: string, data: Uint8Array, opts?: PutOptions): Promise<void> {
    await this.call(key, () => this.file(key).save(data, {
      resumable: false,
      contentType: CONTENT_TYPE,
      ...createOnly(opts),
    }));
  }

  async getObject(key: string): Promise<Uint8Array> {
    const [data] = await this.call(key, () => this.file(key).download());
    return data;
  }

  async headObject(key: string): Promise<ObjectInfo> {
    const [metadata] = await this.call(key, () => this.file(key).getMetadata());
    return { key, size: Number(metadata.size) };
  }

  async deleteObject(key: string): Promise<void> {
    await this.call(key, () => this.file(key).delete({ ignoreNotFound: true }));
  }

  async listObjects(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let pageToken: string | undefined;
    do {
      // Page by page, so that a failure repeats one page rather than the whole listing.
      const [files, next] = await this.call(prefix, () => this.bucket.getFiles({ prefix: this.root + prefix, autoPaginate: false, pageToken }));
      keys.push(...files.map((file) => file.name.slice(this.root.length)));
      pageToken = next?.pageToken;
    } while (pageToken);
    return keys.sort();
  }

  /**
   * A resumable upload in CHUNK_SIZE requests. The session is opened under the retry policy; the data
   * is not retried, as `body` can be read only once (a failed upload is the caller's to repeat).
   */
  async putStream(key: string, body: AsyncIterable<Uint8Array>, opts?: PutOptions): Promise<void> {
    // The SDK closes an empty resumable upload with `Content-Range: bytes 0--1/0`, which is invalid:
    // an empty stream is stored as an empty object in one request instead.
    const chunks = body[Symbol.asyncIterator]();
    const first = await chunks.next();
    if (first.done) return this.putObject(key, new Uint8Array(0), opts);
    body = (async function* () {
      yield first.value;
      yield* { [Symbol.asyncIterator]: () => chunks };
    })();
    const file = this.file(key);
    // Opened here rather than by createWriteStream, which drops useAuthWithCustomEndpoint and so opens
    // it without credentials on a custom endpoint. The session URI itself authorizes the data requests.
    const [uri] = await this.call(key, () => file.createResumableUpload({ metadata: { contentType: CONTENT_TYPE }, ...createOnly(opts) }));
    const upload = file.createWriteStream({ uri, resumable: true, chunkSize: CHUNK_SIZE, contentType: CONTENT_TYPE });
    await pipeline(body, upload).catch((error: unknown) => {
      throw this.mapError(key, error);
    });
  }

  async getStream(key: string): Promise<Readable> {
    const [metadata] = await this.call(key, () => this.file(key).getMetadata());
    // The generation just found: an overwrite meanwhile cannot splice two objects into one stream.
    const file = this.bucket.file(this.root + key, { generation: metadata.generation });
    return Readable.from(this.mapStreamErrors(key, file.createReadStream()), { objectMode: false });
  }

  private async *mapStreamErrors(key: string, stream: Readable): AsyncGenerator<Buffer> {
    try {
      yield* stream;
    } catch (error) {
      throw this.mapError(key, error);
    }
  }
}
