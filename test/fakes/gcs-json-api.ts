// An in-memory fake of the Cloud Storage JSON API v1 (https://cloud.google.com/storage/docs/json_api),
// the part @google-cloud/storage uses for skyduck's BlobStorageClient: object inserts (uploadType
// media, multipart and resumable, the last with chunked PUTs, Content-Range and 308 answers), object
// metadata, alt=media downloads, deletes, listings with prefix/pageToken/maxResults (at most 1000 a
// page), and ifGenerationMatch preconditions (0: only if absent). Objects carry real crc32c and md5
// hashes, which the SDK checks on upload and download. Errors have the JSON API's shape and, where the
// adapter reads them, its messages. Every request needs `Authorization: Bearer` (the tokens are
// recorded) except a resumable session's data requests, which its URI authorizes. Leaves out: bucket management over HTTP (createBucket() stands in), ACLs and IAM,
// versioning and metagenerations, delimiter listings, ranged reads, gzip transcoding,
// customer-supplied encryption keys, compose/copy/rewrite, the XML API and signed URLs.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeGcs {
  endpoint: string;
  /** Every bearer token a request carried. */
  tokens: Set<string>;
  createBucket(name: string): void;
  stop(): Promise<void>;
}

export interface FakeGcsOptions {
  /** Which bearer tokens are valid (by default any); others get 401 as an expired token would. */
  acceptToken?: (token: string) => boolean;
}

interface StoredObject {
  data: Buffer;
  generation: number;
  updated: string;
  md5Hash: string;
  crc32c: string;
}

interface UploadSession {
  bucket: string;
  name: string;
  ifGenerationMatch: string | null;
  chunks: Buffer[];
  received: number;
}

/** A failure the fake answers with, as the JSON API's error body. */
class ApiFailure extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, message: string, reason: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

const MAX_PAGE = 1000;
const notFound = (what: string) => new ApiFailure(404, what, 'notFound');

// CRC32C (Castagnoli), the checksum GCS reports as `crc32c`: big-endian, base64.
const CRC32C_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c;
});

function crc32c(data: Buffer): string {
  let crc = -1;
  for (let i = 0; i < data.length; i++) crc = CRC32C_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE(~crc >>> 0);
  return out.toString('base64');
}

/** The parts of a multipart/related body, without their headers. */
function multipartParts(body: Buffer, boundary: string): Buffer[] {
  const parts: Buffer[] = [];
  const delimiter = `\r\n--${boundary}`;
  let start = body.indexOf(`--${boundary}`);
  while (start !== -1) {
    const from = start + boundary.length + 2;
    if (body.toString('latin1', from, from + 2) === '--') break;
    const end = body.indexOf(delimiter, from);
    if (end === -1) throw new ApiFailure(400, 'Malformed multipart body.', 'invalid');
    const part = body.subarray(from + 2, end);
    parts.push(part.subarray(part.indexOf('\r\n\r\n') + 4));
    start = end + 2;
  }
  return parts;
}

/** A multipart upload's two parts: the object's JSON metadata, then its data. */
function multipartUpload(contentType: string, body: Buffer): { name?: string; data: Buffer } {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1] ?? '';
  const [json, data] = multipartParts(body, boundary);
  if (!json || !data) throw new ApiFailure(400, 'A multipart upload needs metadata and media parts.', 'invalid');
  return { ...(JSON.parse(json.toString()) as { name?: string }), data };
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const json = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { ...headers, ...(json ? { 'Content-Type': 'application/json; charset=UTF-8' } : {}) }).end(json);
}

export async function startFakeGcs({ acceptToken = () => true }: FakeGcsOptions = {}): Promise<FakeGcs> {
  const buckets = new Map<string, Map<string, StoredObject>>();
  const sessions = new Map<string, UploadSession>();
  const tokens = new Set<string>();
  let nextGeneration = Date.now() * 1000;
  let endpoint = '';

  const bucketOf = (name: string) => {
    const bucket = buckets.get(name);
    if (!bucket) throw notFound('The specified bucket does not exist.');
    return bucket;
  };

  const objectOf = (bucket: string, name: string, generation: string | null) => {
    const object = bucketOf(bucket).get(name);
    if (!object || (generation !== null && String(object.generation) !== generation)) {
      throw notFound(`No such object: ${bucket}/${name}`);
    }
    return object;
  };

  const resource = (bucket: string, name: string, object: StoredObject) => ({
    kind: 'storage#object',
    id: `${bucket}/${name}/${object.generation}`,
    name,
    bucket,
    generation: String(object.generation),
    metageneration: '1',
    contentType: 'application/octet-stream',
    storageClass: 'STANDARD',
    size: String(object.data.length),
    md5Hash: object.md5Hash,
    crc32c: object.crc32c,
    timeCreated: object.updated,
    updated: object.updated,
  });

  /** Checks ifGenerationMatch against what is stored now: 0 means the object must not exist. */
  const checkPrecondition = (bucket: string, name: string, ifGenerationMatch: string | null) => {
    if (ifGenerationMatch === null) return;
    const current = bucketOf(bucket).get(name)?.generation ?? 0;
    if (String(current) !== ifGenerationMatch) {
      throw new ApiFailure(412, 'At least one of the pre-conditions you specified did not hold.', 'conditionNotMet');
    }
  };

  const store = (bucket: string, name: string, data: Buffer, ifGenerationMatch: string | null) => {
    checkPrecondition(bucket, name, ifGenerationMatch);
    const object = {
      data,
      generation: nextGeneration++,
      updated: new Date().toISOString(),
      md5Hash: createHash('md5').update(data).digest('base64'),
      crc32c: crc32c(data),
    };
    bucketOf(bucket).set(name, object);
    return resource(bucket, name, object);
  };

  const list = (bucket: string, params: URLSearchParams) => {
    const prefix = params.get('prefix') ?? '';
    const after = Buffer.from(params.get('pageToken') ?? '', 'base64url').toString();
    const pageSize = Math.min(Number(params.get('maxResults') ?? MAX_PAGE), MAX_PAGE);
    // The service lists in the byte order of the names' UTF-8.
    const names = [...bucketOf(bucket).keys()]
      .filter((name) => name.startsWith(prefix) && Buffer.compare(Buffer.from(name), Buffer.from(after)) > 0)
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const page = names.slice(0, pageSize);
    const more = names.length > page.length;
    return {
      kind: 'storage#objects',
      items: page.map((name) => resource(bucket, name, bucketOf(bucket).get(name)!)),
      ...(more ? { nextPageToken: Buffer.from(page.at(-1)!).toString('base64url') } : {}),
    };
  };

  const download = (res: http.ServerResponse, bucket: string, name: string, generation: string | null) => {
    const object = objectOf(bucket, name, generation);
    const meta = resource(bucket, name, object);
    res.writeHead(200, {
      'Content-Type': meta.contentType,
      'Content-Length': object.data.length,
      'x-goog-hash': `crc32c=${meta.crc32c},md5=${meta.md5Hash}`,
      'x-goog-generation': meta.generation,
      'x-goog-stored-content-encoding': 'identity',
      'x-goog-stored-content-length': meta.size,
    }).end(object.data);
  };

  const startResumable = (res: http.ServerResponse, bucket: string, params: URLSearchParams) => {
    const name = params.get('name');
    if (!name) throw new ApiFailure(400, 'Required parameter: name', 'required');
    const ifGenerationMatch = params.get('ifGenerationMatch');
    checkPrecondition(bucket, name, ifGenerationMatch);
    const id = randomBytes(16).toString('hex');
    sessions.set(id, { bucket, name, ifGenerationMatch, chunks: [], received: 0 });
    const location = `${endpoint}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&upload_id=${id}`;
    send(res, 200, undefined, { Location: location });
  };

  /** One PUT of a resumable session: `bytes FIRST-LAST/TOTAL`, `bytes FIRST-*\/TOTAL` or a `bytes *\/…` status query. */
  const continueResumable = async (req: http.IncomingMessage, res: http.ServerResponse, id: string) => {
    const session = sessions.get(id);
    if (!session) throw notFound('No such upload session.');
    const body = await readBody(req);
    const range = /^bytes (?:(\d+)-(\d+|\*)|\*)\/(\d+|\*)$/.exec(req.headers['content-range'] ?? '');
    if (!range) throw new ApiFailure(400, 'Invalid Content-Range header.', 'invalid');
    const [, first, last, total] = range;
    if (first !== undefined) {
      const expectedLength = last === '*' ? body.length : Number(last) - Number(first) + 1;
      if (Number(first) !== session.received || body.length !== expectedLength) {
        throw new ApiFailure(400, `Content-Range does not follow the ${session.received} bytes received.`, 'invalid');
      }
      session.chunks.push(body);
      session.received += body.length;
    }
    if (total === '*' || Number(total) !== session.received) {
      const persisted = session.received > 0 ? { Range: `bytes=0-${session.received - 1}` } : {};
      send(res, 308, undefined, persisted);
      return;
    }
    sessions.delete(id);
    send(res, 200, store(session.bucket, session.name, Buffer.concat(session.chunks), session.ifGenerationMatch));
  };

  const upload = async (req: http.IncomingMessage, res: http.ServerResponse, bucket: string, params: URLSearchParams) => {
    const uploadId = params.get('upload_id');
    if (req.method === 'PUT' && uploadId) return continueResumable(req, res, uploadId);
    const uploadType = params.get('uploadType');
    if (req.method === 'POST' && uploadType === 'resumable') return startResumable(res, bucket, params);
    if (req.method !== 'POST' || (uploadType !== 'media' && uploadType !== 'multipart')) {
      throw new ApiFailure(400, `Unsupported upload: ${req.method} uploadType=${uploadType}`, 'invalid');
    }
    const body = await readBody(req);
    const { name: metadataName, data } = uploadType === 'multipart' ? multipartUpload(req.headers['content-type'] ?? '', body) : { data: body };
    const name = params.get('name') ?? metadataName;
    if (!name) throw new ApiFailure(400, 'Required parameter: name', 'required');
    send(res, 200, store(bucket, name, data, params.get('ifGenerationMatch')));
  };

  const route = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const [, api, bucketPart, objectPart] = /^\/(storage|upload\/storage)\/v1\/b\/([^/]+)\/o(?:\/(.+))?$/.exec(url.pathname) ?? [];
    if (!api || !bucketPart) throw notFound(`Not Found: ${req.method} ${url.pathname}`);
    const bucket = decodeURIComponent(bucketPart);
    bucketOf(bucket);
    if (api === 'upload/storage') return upload(req, res, bucket, url.searchParams);
    if (objectPart === undefined && req.method === 'GET') return send(res, 200, list(bucket, url.searchParams));
    const name = decodeURIComponent(objectPart ?? '');
    const generation = url.searchParams.get('generation');
    if (req.method === 'GET' && url.searchParams.get('alt') === 'media') return download(res, bucket, name, generation);
    if (req.method === 'GET') return send(res, 200, resource(bucket, name, objectOf(bucket, name, generation)));
    if (req.method === 'DELETE') {
      objectOf(bucket, name, generation);
      bucketOf(bucket).delete(name);
      return send(res, 204, undefined);
    }
    throw new ApiFailure(405, `Method not allowed: ${req.method}`, 'methodNotAllowed');
  };

  const authenticate = (req: http.IncomingMessage) => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) throw new ApiFailure(401, 'Anonymous caller does not have storage.objects access.', 'required');
    tokens.add(token);
    if (!acceptToken(token)) throw new ApiFailure(401, 'Invalid Credentials', 'authError');
  };

  // As on the service, a resumable session's URI is itself the credential for its data requests.
  const isSessionRequest = (req: http.IncomingMessage) =>
    req.method === 'PUT' && sessions.has(new URL(req.url ?? '/', 'http://fake').searchParams.get('upload_id') ?? '');

  const server = http.createServer(async (req, res) => {
    try {
      if (!isSessionRequest(req)) authenticate(req);
      await route(req, res);
    } catch (error) {
      const { status, message, reason } = error instanceof ApiFailure ? error : new ApiFailure(500, String(error), 'backendError');
      // Unread request bodies would stall the client's upload behind an answer it never reads.
      req.resume();
      send(res, status, { error: { code: status, message, errors: [{ message, domain: 'global', reason }] } });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    tokens,
    createBucket: (name) => void buckets.set(name, buckets.get(name) ?? new Map()),
    stop: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
