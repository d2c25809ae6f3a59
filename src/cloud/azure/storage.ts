// Azure Blob Storage behind BlobStorageClient. The bucket setting is `<account>/<container>`; objects are
// block blobs named prefix + key. Credentials: AZURE_STORAGE_CONNECTION_STRING when set (the Azure
// convention, and how azurite is reached), otherwise the credential SKYDUCK_IDENTITY picks (identity.ts).
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import {
  AnonymousCredential,
  type BlobRequestConditions,
  BlobServiceClient,
  type ContainerClient,
  isRestError,
  newPipeline,
  type RequestPolicyFactory,
  type RestError,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import type { TokenCredential } from '@azure/identity';
import { AccessDeniedError, ConfigError, type ErrorSite, NotFoundError, PreconditionFailedError, UnavailableError } from '../errors.ts';
import { withRetry } from '../retry.ts';
import type { CloudSettings } from '../settings.ts';
import type { BlobStorageClient, ObjectInfo, PutOptions } from '../types.ts';
import { azureCredential, credentialError } from './identity.ts';

const MiB = 1 << 20;
const STREAM_BLOCK_BYTES = 8 * MiB;
const STREAM_CONCURRENCY = 2;
/** Azure's default is 5000; 1000, as on S3 and GCS, lets the conformance suite's 1010 keys cross a page. */
const LIST_PAGE_SIZE = 1000;
/** How long any request may wait for its response headers, on top of the time its body takes to send. */
const RESPONSE_TIMEOUT_MS = 20_000;
/** The slowest upload still treated as working: 8 MiB blocks get ~32 s more than an empty request. */
const MIN_UPLOAD_BYTES_PER_MS = 256;

const BUCKET_HINT = 'set SKYDUCK_STORAGE_BUCKET to <account>/<container>';
const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;

interface Bucket {
  account: string;
  container: string;
}

export class AzureBlobStorage implements BlobStorageClient {
  readonly provider = 'azure' as const;
  readonly location: string;
  readonly #bucket: Bucket;
  /** '' or a prefix ending in '/'. */
  readonly #prefix: string;
  readonly #container: ContainerClient;

  constructor(settings: CloudSettings) {
    this.#bucket = parseBucket(settings.bucket);
    // A prefix names a folder, as on the other clouds: 'tenant' must not reach into 'tenant2/'.
    this.#prefix = settings.prefix ? settings.prefix.replace(/\/?$/, '/') : '';
    this.location = `az://${this.#bucket.account}/${this.#bucket.container}${this.#prefix ? `/${this.#prefix.slice(0, -1)}` : ''}`;
    this.#container = serviceClient(settings, this.#bucket.account).getContainerClient(this.#bucket.container);
  }

  async putObject(key: string, data: Uint8Array, opts?: PutOptions): Promise<void> {
    const blob = this.#container.getBlockBlobClient(this.#prefix + key);
    await this.#call(key, () => blob.upload(data, data.byteLength, { conditions: conditions(opts) }));
  }

  async getObject(key: string): Promise<Uint8Array> {
    const blob = this.#container.getBlobClient(this.#prefix + key);
    return this.#call(key, async () => {
      const response = await blob.download(0, undefined, { maxRetryRequests: 0 });
      try {
        return await buffer(body(response));
      } catch (error) {
        // The body broke off after the headers: transient, and safe to repeat from the start.
        throw new UnavailableError(this.#site(key), 'the download broke off', { cause: error });
      }
    });
  }

  async headObject(key: string): Promise<ObjectInfo> {
    const blob = this.#container.getBlobClient(this.#prefix + key);
    const properties = await this.#call(key, () => blob.getProperties());
    return { key, size: properties.contentLength ?? 0 };
  }

  async deleteObject(key: string): Promise<void> {
    const blob = this.#container.getBlobClient(this.#prefix + key);
    await this.#call(key, () => blob.deleteIfExists());
  }

  async listObjects(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let continuationToken: string | undefined;
    do {
      // One page per call so that a retry repeats a page, not the whole listing.
      const page = await this.#call(prefix, async () => {
        const pages = this.#container.listBlobsFlat({ prefix: this.#prefix + prefix }).byPage({ continuationToken, maxPageSize: LIST_PAGE_SIZE });
        return (await pages.next()).value;
      });
      for (const item of page?.segment.blobItems ?? []) keys.push(item.name.slice(this.#prefix.length));
      continuationToken = page?.continuationToken || undefined;
    } while (continuationToken);
    return keys.sort();
  }

  /**
   * Not retried as a whole: the body can be read only once. uploadStream holds at most
   * STREAM_CONCURRENCY blocks of STREAM_BLOCK_BYTES and commits the block list (with the conditions) last.
   */
  async putStream(key: string, body: AsyncIterable<Uint8Array>, opts?: PutOptions): Promise<void> {
    const blob = this.#container.getBlockBlobClient(this.#prefix + key);
    const source = Readable.from(body, { objectMode: false });
    try {
      await blob.uploadStream(source, STREAM_BLOCK_BYTES, STREAM_CONCURRENCY, { conditions: conditions(opts) });
    } catch (error) {
      throw this.#mapError(key, error);
    } finally {
      source.destroy();
    }
  }

  async getStream(key: string): Promise<Readable> {
    const blob = this.#container.getBlobClient(this.#prefix + key);
    // maxRetryRequests 0: the SDK would otherwise resume a broken body on its own, outside withRetry.
    return body(await this.#call(key, () => blob.download(0, undefined, { maxRetryRequests: 0 })));
  }

  #call<T>(key: string, operation: () => Promise<T>): Promise<T> {
    return withRetry(async () => {
      try {
        return await operation();
      } catch (error) {
        throw this.#mapError(key, error);
      }
    });
  }

  #site(key: string): ErrorSite {
    return { provider: 'azure', resource: `${this.location}/${key}` };
  }

  #mapError(key: string, error: unknown): unknown {
    const { account, container } = this.#bucket;
    const site = this.#site(key);
    if ((error as Error | undefined)?.name === 'AbortError') {
      return new UnavailableError(site, 'Blob service did not answer in time', { cause: error });
    }
    if (!isRestError(error)) return credentialError(site, error) ?? error;
    const code = errorCode(error);
    const status = error.statusCode;
    if (code === 'ContainerNotFound') {
      const where = { provider: 'azure' as const, resource: `az://${account}/${container}` };
      return new NotFoundError(where, `container "${container}" does not exist in account "${account}": create it or ${BUCKET_HINT}`, { cause: error });
    }
    if (status === 404) return new NotFoundError(site, `no such object (${code ?? 404})`, { cause: error });
    if (code === 'BlobAlreadyExists' || status === 412) return new PreconditionFailedError(site, 'the object already exists', { cause: error });
    if (status === 401 || status === 403) {
      return new AccessDeniedError(site, `access denied (${code ?? status})`, { cause: error });
    }
    if (status === undefined || status === 408 || status === 429 || status >= 500) {
      return new UnavailableError(site, `Blob service unavailable (${code ?? status ?? 'no response'})`, { cause: error });
    }
    return error;
  }
}

function parseBucket(bucket: string | undefined): Bucket {
  const [account = '', container = '', ...rest] = (bucket ?? '').split('/');
  if (!bucket || rest.length > 0 || !ACCOUNT_NAME.test(account) || !CONTAINER_NAME.test(container)) {
    throw new ConfigError(
      `${BUCKET_HINT} (account: 3-24 lowercase letters and digits; container: 3-63 lowercase letters, digits and single hyphens)` +
        (bucket ? `; got "${bucket}"` : ''),
    );
  }
  return { account, container };
}

function serviceClient(settings: CloudSettings, account: string): BlobServiceClient {
  const connectionString = process.env.AZURE_STORAGE_CONNECTION_STRING;
  if (!connectionString) {
    const url = settings.endpoint ?? `https://${account}.blob.core.windows.net`;
    return new BlobServiceClient(url, pipeline(azureCredential(settings)));
  }
  // The SDK parses every connection string form (account key, SAS, emulator); the client is then
  // rebuilt on our own pipeline, which fromConnectionString cannot take.
  let parsed: BlobServiceClient;
  try {
    parsed = BlobServiceClient.fromConnectionString(connectionString);
  } catch (error) {
    throw new ConfigError(`AZURE_STORAGE_CONNECTION_STRING is not a storage connection string: ${(error as Error).message}`);
  }
  if (parsed.accountName && parsed.accountName !== account) {
    throw new ConfigError(
      `SKYDUCK_STORAGE_BUCKET names account "${account}" but AZURE_STORAGE_CONNECTION_STRING is for "${parsed.accountName}"`,
    );
  }
  return new BlobServiceClient(parsed.url, pipeline(parsed.credential));
}

/** The SDK's retries off (withRetry is the one policy) and every request bounded in time. */
function pipeline(credential: StorageSharedKeyCredential | AnonymousCredential | TokenCredential) {
  const result = newPipeline(credential, { retryOptions: { maxTries: 1 } });
  result.factories.push(responseDeadline);
  return result;
}

/**
 * core-rest-pipeline aborts a request whose response headers have not arrived within request.timeout,
 * which makes an unreachable endpoint fail in bounded time. An upload's body is sent before its response
 * starts, so the allowance grows with Content-Length.
 */
const responseDeadline: RequestPolicyFactory = {
  create: (next) => ({
    sendRequest(request) {
      const bodyBytes = Number(request.headers.get('content-length') ?? 0) || 0;
      request.timeout = RESPONSE_TIMEOUT_MS + Math.ceil(bodyBytes / MIN_UPLOAD_BYTES_PER_MS);
      return next.sendRequest(request);
    },
  }),
};

function conditions(opts: PutOptions | undefined): BlobRequestConditions | undefined {
  return opts?.ifNoneMatch === '*' ? { ifNoneMatch: '*' } : undefined;
}

function body(response: { readableStreamBody?: NodeJS.ReadableStream }): Readable {
  const stream = response.readableStreamBody;
  if (!(stream instanceof Readable)) throw new Error('Azure Blob download returned no Node.js stream');
  return stream;
}

/** The storage error code: from the XML body, or from x-ms-error-code where there is none (HEAD). */
function errorCode(error: RestError): string | undefined {
  const details = error.details as { errorCode?: string } | undefined;
  return details?.errorCode ?? error.code;
}

