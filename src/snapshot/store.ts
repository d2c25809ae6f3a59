// Where snapshots live in a blob store, and the only code that reads or writes them there:
//
//   snapshots/<id>/manifest.json                       written last, create-only: the snapshot exists
//   snapshots/<id>/<database>/<schema>.<table>.parquet.enc   a table's Parquet, envelope-encrypted
//   snapshots/latest                                   {"id": ...}, replaced once a manifest is durable
//
// Object names are the keys relative to the store's root, so they are also what the envelope binds each
// object to: the same object copied to another bucket, prefix or cloud still decrypts there.
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { NotFoundError } from '../cloud/errors.ts';
import type { BlobStorageClient } from '../cloud/types.ts';
import { EnvelopeError } from '../crypto/data-keys.ts';
import type { Envelope } from '../crypto/envelope.ts';
import { SnapshotError } from './errors.ts';
import { type Manifest, parseManifest, SNAPSHOT_ID, serializeManifest } from './manifest.ts';

const ROOT = 'snapshots/';
const LATEST = `${ROOT}latest`;

const segment = (name: string) => encodeURIComponent(name);

/** A pass-through stage that feeds every chunk to `hash` on its way. */
export function hashing(hash: Hash): (chunks: AsyncIterable<Uint8Array>) => AsyncGenerator<Uint8Array> {
  return async function* (chunks) {
    for await (const chunk of chunks) {
      hash.update(chunk);
      yield chunk;
    }
  };
}

export class SnapshotStore {
  readonly storage: BlobStorageClient;
  private readonly keys: () => { envelope: Envelope; keyUri: string };
  private opened?: { envelope: Envelope; keyUri: string };

  /**
   * `keys` is called on first use: the local key file is made only when a snapshot first needs it,
   * not on every start (it is written with fsync).
   */
  constructor(storage: BlobStorageClient, keys: (() => { envelope: Envelope; keyUri: string }) | Envelope, keyUri?: string) {
    this.storage = storage;
    this.keys = typeof keys === 'function' ? keys : () => ({ envelope: keys, keyUri: keyUri ?? '' });
  }

  get envelope(): Envelope {
    this.opened ??= this.keys();
    return this.opened.envelope;
  }

  /** The key that wraps this store's data keys, recorded in manifests. */
  get keyUri(): string {
    this.opened ??= this.keys();
    return this.opened.keyUri;
  }

  /** Where the store is, for messages: `s3://bucket/prefix`, `file:///dir`. */
  get location(): string {
    return this.storage.location;
  }

  static manifestKey(id: string): string {
    return `${ROOT}${id}/manifest.json`;
  }

  /**
   * Readable names where they fit; a name too long for a file name on some backends (DuckDB allows any
   * length) becomes its hash instead. The manifest maps objects to tables either way.
   */
  static objectKey(id: string, database: string, schema: string, table: string): string {
    return `${ROOT}${id}/${database}/${SnapshotStore.tableFileName(schema, table)}.parquet.enc`;
  }

  /** `<schema>.<table>`, percent-encoded, or its hash when that is too long for a file name. */
  static tableFileName(schema: string, table: string): string {
    const name = `${segment(schema)}.${segment(table)}`;
    return name.length > 120 ? `t-${createHash('sha256').update(`${schema}\u0000${table}`).digest('hex').slice(0, 40)}` : name;
  }

  /** Every complete snapshot (one with a manifest), oldest first. */
  async list(): Promise<string[]> {
    const keys = await this.storage.listObjects(ROOT);
    return keys
      .map((key) => /^snapshots\/([^/]+)\/manifest\.json$/.exec(key)?.[1])
      .filter((id): id is string => id !== undefined && SNAPSHOT_ID.test(id))
      .sort();
  }

  /** Every object under snapshots/, complete or not. */
  listObjects(): Promise<string[]> {
    return this.storage.listObjects(ROOT);
  }

  async manifest(id: string): Promise<Manifest> {
    const key = SnapshotStore.manifestKey(id);
    try {
      return parseManifest(await this.storage.getObject(key), `${this.location}/${key}`);
    } catch (error) {
      if (error instanceof NotFoundError) {
        throw new SnapshotError(`no snapshot ${id} in ${this.location}: \`skyduck snapshots\` or GET /v1/snapshots lists them`);
      }
      throw error;
    }
  }

  /** The id `latest` points at, or undefined when the store holds no snapshot yet. */
  async latest(): Promise<string | undefined> {
    let bytes: Uint8Array;
    try {
      bytes = await this.storage.getObject(LATEST);
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
    const id = (JSON.parse(Buffer.from(bytes).toString('utf8')) as { id?: unknown }).id;
    if (typeof id !== 'string' || !SNAPSHOT_ID.test(id)) throw new SnapshotError(`${this.location}/${LATEST} is damaged: it names no snapshot id`);
    return id;
  }

  /** The snapshot asked for, else `latest`; SnapshotError when there is none. */
  async choose(id?: string): Promise<Manifest> {
    const chosen = id ?? (await this.latest());
    if (!chosen) throw new SnapshotError(`${this.location} holds no snapshot yet: take one with \`skyduck snapshot\` or POST /v1/snapshots`);
    return this.manifest(chosen);
  }

  /** Create-only: a manifest is never replaced, so a snapshot that exists is never half-rewritten. */
  async putManifest(manifest: Manifest): Promise<void> {
    await this.storage.putObject(SnapshotStore.manifestKey(manifest.id), serializeManifest(manifest), { ifNoneMatch: '*' });
  }

  async setLatest(id: string): Promise<void> {
    await this.storage.putObject(LATEST, Buffer.from(`${JSON.stringify({ id })}\n`));
  }

  /** Encrypts `source` into `key`, streaming; returns the plaintext byte count. */
  async putEncrypted(key: string, source: AsyncIterable<Uint8Array>): Promise<number> {
    let bytes = 0;
    const counted = (async function* () {
      for await (const chunk of source) {
        bytes += chunk.length;
        yield chunk;
      }
    })();
    await this.storage.putStream(key, this.envelope.encryptStream(key, counted), { ifNoneMatch: '*' });
    return bytes;
  }

  /** The decrypted bytes of `key`; a missing object is a SnapshotError naming it. */
  async getDecrypted(key: string): Promise<AsyncIterable<Buffer>> {
    let stream: Readable;
    try {
      stream = await this.storage.getStream(key);
    } catch (error) {
      if (error instanceof NotFoundError) {
        throw new SnapshotError(`${this.location}/${key} is missing: the snapshot is incomplete; restore another one`);
      }
      throw error;
    }
    return this.envelope.decryptStream(key, stream);
  }

  /**
   * Decrypts `key` into `file` (0600), checking its plaintext SHA-256 against the manifest's: a missing,
   * undecryptable or changed object is a SnapshotError naming it. The caller removes `file` on failure.
   */
  async fetchVerified(key: string, sha256: string, file: string): Promise<void> {
    const where = `${this.location}/${key}`;
    const hash = createHash('sha256');
    try {
      await pipeline(await this.getDecrypted(key), hashing(hash), fs.createWriteStream(file, { mode: 0o600 }));
    } catch (error) {
      if (error instanceof EnvelopeError) throw new SnapshotError(`${where} cannot be decrypted: ${error.message}; restore another snapshot`);
      throw error;
    }
    if (hash.digest('hex') !== sha256) {
      throw new SnapshotError(`${where} does not match its checksum in the manifest: it was changed or damaged; restore another snapshot`);
    }
  }

  deleteObject(key: string): Promise<void> {
    return this.storage.deleteObject(key);
  }
}
