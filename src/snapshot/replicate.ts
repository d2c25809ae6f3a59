// Replication: the snapshots of one store copied to another, on the same cloud or another one. Each
// object's data key is re-wrapped for the destination's key (Envelope.rewrapStream) while its segments
// are copied byte for byte: nothing is decrypted on the way. Object names stay the same, and since the
// envelope binds an object to its name relative to the store's root, the copy opens at the destination.
//
// Order, so that the destination never looks more complete than it is: a snapshot's objects first
// (create-only; one already there is complete, as every put is atomic), its manifest last (create-only,
// with the destination key's URI), and once all are there `latest`; then the copy of `latest` is restored
// into a temporary data dir, every checksum and row count checked. A snapshot whose id the destination
// already has is skipped, never overwritten, so a re-run copies only what is new.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { CloudError, ConfigError, NotFoundError, PreconditionFailedError } from '../cloud/errors.ts';
import { assertCompiled, loadCloud } from '../cloud/index.ts';
import { defaultKeyFile } from '../cloud/local/index.ts';
import type { CloudSettings } from '../cloud/settings.ts';
import { type CloudName, type KeyManager, ProviderNotCompiledError } from '../cloud/types.ts';
import type { Config } from '../config/config.ts';
import { EnvelopeError } from '../crypto/data-keys.ts';
import { Envelope, keyUriOf } from '../crypto/envelope.ts';
import { SnapshotError } from './errors.ts';
import { type Location, parseLocation } from './locations.ts';
import type { Manifest } from './manifest.ts';
import type { Progress } from './snapshot.ts';
import { SnapshotStore } from './store.ts';

/** What replicate reads from the configuration: credentials and region for both sides, the local key. */
export type ReplicateConfig = Pick<Config, 'cloud' | 'key' | 'region' | 'identity' | 'dataDir'>;

export interface ReplicateRequest {
  from: string;
  to: string;
  /** The destination's key: KMS key ARN, Cloud KMS key name, Key Vault key URL or key file (or its key URI). */
  toKey?: string;
  fromEndpoint?: string;
  toEndpoint?: string;
  fromKmsEndpoint?: string;
  toKmsEndpoint?: string;
}

export interface ReplicateResult {
  from: string;
  to: string;
  /** Snapshots copied now, and those the destination already had (oldest first). */
  copied: string[];
  skipped: string[];
  /** Objects copied now, and those already at the destination (shared with an earlier snapshot). */
  objects: number;
  present: number;
  /** Envelope bytes written to the destination. */
  bytes: number;
  /** Time spent copying (the verification not included). */
  ms: number;
  /** What `latest` names at the destination afterwards. */
  latest: string;
  /** The destination key, recorded in the copied manifests. */
  keyUri: string;
  /** The snapshot restored from the destination and checked. */
  verified: { id: string; tables: number; rows: number; ms: number };
}

export interface ReplicateOptions {
  onProgress?: (stage: 'replicate' | 'verify', progress: Progress) => void;
}

interface Side {
  flag: '--from' | '--to';
  location: Location;
  endpoint?: string;
  kmsEndpoint?: string;
}

const KEY_SCHEMES: Record<string, CloudName> = { 'aws-kms': 'aws', 'gcp-kms': 'gcp', 'azure-kv': 'azure', local: 'local' };
const KEY_FORMS = 'a KMS key ARN for s3://, a Cloud KMS key name for gs://, a Key Vault key URL for az://, a key file for file://';
/** The longest envelope header: the fixed part (29 bytes), then the key URI and the wrapped key, each after a u16 length. */
const LONGEST_HEADER = 29 + 2 * (2 + 0xffff);

/** The running binary must carry the cloud a URL names; the error names the URL and the binaries that do. */
function assertCarried(cloud: CloudName, what: string): void {
  try {
    assertCompiled(cloud);
  } catch (error) {
    if (error instanceof ProviderNotCompiledError) error.message = error.message.replace(`SKYDUCK_CLOUD=${cloud}`, what);
    throw error;
  }
}

function settingsOf(config: ReplicateConfig, side: Side, key?: string): CloudSettings {
  return {
    bucket: side.location.bucket,
    prefix: side.location.prefix,
    region: config.region,
    endpoint: side.endpoint,
    kmsEndpoint: side.kmsEndpoint,
    key,
    identity: config.identity,
    dataDir: config.dataDir,
  };
}

const isLoopback = (host: string) => /^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?$/.test(host);

/**
 * A key URI as the key setting its cloud's KeyManager takes: the ARN, the Cloud KMS key name, the Key
 * Vault key URL (https, or http for a test double on this machine, or the origin of `kmsEndpoint`).
 */
function keySettingOf(uri: string, kmsEndpoint?: string): { cloud: CloudName; key: string; region?: string } | undefined {
  const match = /^([a-z-]+):\/\/(.+)$/.exec(uri);
  const cloud = match ? KEY_SCHEMES[match[1]!] : undefined;
  if (!match || !cloud) return undefined;
  const rest = match[2]!;
  if (cloud === 'aws') return { cloud, key: rest, region: /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(rest)?.[1] };
  if (cloud === 'azure') {
    const host = rest.split('/')[0]!;
    const endpoint = kmsEndpoint === undefined ? undefined : URL.parse(kmsEndpoint);
    if (kmsEndpoint !== undefined && !endpoint) throw new ConfigError(`the Key Vault endpoint ${kmsEndpoint} is not a URL`);
    const origin = endpoint?.origin ?? `${isLoopback(host) ? 'http' : 'https'}://${host}`;
    return { cloud, key: `${origin}${rest.slice(host.length)}` };
  }
  return { cloud, key: rest };
}

/** The source's key managers, one per key URI its objects name, each made once. */
class SourceKeys {
  private readonly envelopes = new Map<string, Promise<Envelope>>();
  private readonly config: ReplicateConfig;
  private readonly side: Side;

  constructor(config: ReplicateConfig, side: Side) {
    this.config = config;
    this.side = side;
  }

  envelope(keyUri: string): Promise<Envelope> {
    let envelope = this.envelopes.get(keyUri);
    if (!envelope) {
      envelope = this.open(keyUri).then((keys) => new Envelope(keys));
      this.envelopes.set(keyUri, envelope);
    }
    return envelope;
  }

  private async open(keyUri: string): Promise<KeyManager> {
    const from = this.side.location.url;
    const setting = keySettingOf(keyUri, this.side.kmsEndpoint);
    if (!setting) throw new SnapshotError(`the snapshots in ${from} name a key skyduck does not know, ${keyUri}`);
    assertCarried(setting.cloud, `${keyUri} (the key of the snapshots in ${from})`);
    const cloud = await loadCloud(setting.cloud);
    if (setting.cloud !== 'local') {
      return cloud.createKeyManager({ ...settingsOf(this.config, this.side, setting.key), region: setting.region ?? this.config.region });
    }
    // A local key's URI is only its id: the key itself is the file SKYDUCK_KMS_KEY names (or the data dir's).
    const file = this.config.key ?? defaultKeyFile(this.config);
    const named = this.config.key ? `SKYDUCK_KMS_KEY (${file})` : `the data dir's key file ${file} (SKYDUCK_KMS_KEY is not set)`;
    let keys: KeyManager;
    try {
      keys = cloud.createKeyManager({ dataDir: this.config.dataDir, key: file });
    } catch (error) {
      throw new ConfigError(`the snapshots in ${from} are wrapped by ${keyUri}, a local key, and ${named} cannot be read: ${(error as Error).message}`);
    }
    if (keys.keyUri !== keyUri) {
      throw new ConfigError(
        `the snapshots in ${from} are wrapped by ${keyUri}, but ${named} is ${keys.keyUri}: set SKYDUCK_KMS_KEY to the key file that wrapped them`,
      );
    }
    return keys;
  }
}

/** The source is only listed and read raw: each object's key manager comes from its own header (SourceKeys). */
const RAW_READS_ONLY: KeyManager = {
  keyUri: 'none://source-read-raw',
  encrypt: () => Promise.reject(new Error('the source store of a replication is never written')),
  decrypt: () => Promise.reject(new Error('the source store of a replication is read raw')),
  generateDataKey: () => Promise.reject(new Error('the source store of a replication is never written')),
};

/** The destination's key setting: --to-key, else SKYDUCK_KMS_KEY when the destination is on the configured cloud. */
function destinationKeySetting(config: ReplicateConfig, request: ReplicateRequest, to: Side): string | undefined {
  if (request.toKey !== undefined) {
    if (request.toKey.startsWith('local://')) {
      throw new ConfigError(`--to-key ${request.toKey}: a local key is named by its key file's path, not its URI`);
    }
    return keySettingOf(request.toKey, to.kmsEndpoint)?.key ?? request.toKey;
  }
  // Locally an unset key means the data dir's own key file, as for every other command.
  if (to.location.cloud === config.cloud && (config.key !== undefined || config.cloud === 'local')) return config.key;
  throw new ConfigError(`--to ${to.location.url} needs the key to wrap data keys with there: pass --to-key (${KEY_FORMS})`);
}

/** The first bytes of `stream` up to the envelope's key URI, and every byte (those included) to copy on. */
async function readKeyUri(stream: Readable, where: string): Promise<{ keyUri: string; chunks: AsyncGenerator<Buffer> }> {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let length = 0;
  for (;;) {
    const next = await iterator.next();
    if (!next.done) {
      head.push(next.value);
      length += next.value.length;
    }
    try {
      const keyUri = keyUriOf(Buffer.concat(head));
      const chunks = (async function* () {
        try {
          yield* head;
          for (let more = await iterator.next(); !more.done; more = await iterator.next()) yield more.value;
        } finally {
          await iterator.return?.();
        }
      })();
      return { keyUri, chunks };
    } catch (error) {
      if (!next.done && length < LONGEST_HEADER) continue;
      await iterator.return?.();
      throw new SnapshotError(`${where} is not a readable skyduck envelope (${(error as Error).message}): the source is damaged`);
    }
  }
}

const objectsOf = (manifest: Manifest): string[] =>
  [...manifest.tables.map((table) => table.object), ...(manifest.keys ? [manifest.keys.object] : [])];

/**
 * A failure of a store, a key or the filesystem, said with the store it happened at (its own message names
 * the object); anything else (a bug) as it is.
 */
function failure(what: string, error: unknown): unknown {
  const system = typeof (error as NodeJS.ErrnoException)?.code === 'string' && error instanceof Error;
  if (error instanceof CloudError || error instanceof EnvelopeError || system) {
    return new SnapshotError(`${what}: ${(error as Error).message}`, { cause: error });
  }
  return error;
}

async function at<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw failure(what, error);
  }
}

interface Opened {
  source: SnapshotStore;
  destination: SnapshotStore;
  sourceKeys: SourceKeys;
  toKeys: KeyManager;
}

/** Both stores, with the destination's key; usage errors (URLs, clouds, keys) before any request. */
async function open(config: ReplicateConfig, request: ReplicateRequest): Promise<Opened> {
  const from: Side = { flag: '--from', location: parseLocation(request.from, '--from'), endpoint: request.fromEndpoint, kmsEndpoint: request.fromKmsEndpoint };
  const to: Side = { flag: '--to', location: parseLocation(request.to, '--to'), endpoint: request.toEndpoint, kmsEndpoint: request.toKmsEndpoint };
  if (from.location.url === to.location.url && from.endpoint === to.endpoint) {
    throw new ConfigError(`--from and --to both name ${to.location.url}: replicate copies to another store`);
  }
  for (const side of [from, to]) assertCarried(side.location.cloud, `${side.flag} ${side.location.url}`);
  const [fromCloud, toCloud] = await Promise.all([loadCloud(from.location.cloud), loadCloud(to.location.cloud)]);
  const toKeySetting = destinationKeySetting(config, request, to);
  let toKeys: KeyManager;
  try {
    toKeys = toCloud.createKeyManager(settingsOf(config, to, toKeySetting));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(`the key for ${to.location.url} (--to-key, or SKYDUCK_KMS_KEY on the configured cloud) does not work: ${error.message}`);
  }
  return {
    source: new SnapshotStore(fromCloud.createStorage(settingsOf(config, from)), new Envelope(RAW_READS_ONLY), RAW_READS_ONLY.keyUri),
    destination: new SnapshotStore(toCloud.createStorage(settingsOf(config, to)), new Envelope(toKeys), toKeys.keyUri),
    sourceKeys: new SourceKeys(config, from),
    toKeys,
  };
}

/** Copies one object, its data key re-wrapped for `toKeys`; `counted` sees each written chunk's size. */
async function copyObject(stores: Opened, object: string, counted: (bytes: number) => void): Promise<void> {
  const { source, destination, sourceKeys, toKeys } = stores;
  const where = `${source.location}/${object}`;
  let stream: Readable;
  try {
    stream = await source.storage.getStream(object);
  } catch (error) {
    if (error instanceof NotFoundError) throw new SnapshotError(`${where} is missing: the source snapshot is incomplete`, { cause: error });
    throw error;
  }
  try {
    const { keyUri, chunks } = await readKeyUri(stream, where);
    const envelope = await sourceKeys.envelope(keyUri);
    const rewrapped = (async function* () {
      for await (const chunk of envelope.rewrapStream(chunks, toKeys)) {
        counted(chunk.length);
        yield chunk;
      }
    })();
    await destination.storage.putStream(object, rewrapped, { ifNoneMatch: '*' });
  } catch (error) {
    // Written meanwhile by another run: complete, since every put is atomic.
    if (!(error instanceof PreconditionFailedError)) throw error;
  } finally {
    stream.destroy();
  }
}

/** Restores snapshot `id` from the destination into a temporary data dir (every checksum and row count checked), then removes it. */
async function verifyCopy(destination: SnapshotStore, id: string, onProgress?: (progress: Progress) => void): Promise<ReplicateResult['verified']> {
  const started = performance.now();
  const manifest = await at(`cannot read back ${id} from ${destination.location}`, () => destination.manifest(id));
  // DuckDB is loaded only here: the caller prepares its native library (prepareNative) first.
  const { restoreSnapshot } = await import('./restore.ts');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'skyduck-replicate-verify-'));
  try {
    await restoreSnapshot(destination, manifest, { dataDir, onProgress });
  } catch (error) {
    throw new SnapshotError(`the copy of ${id} in ${destination.location} does not restore: ${(error as Error).message}`, { cause: error });
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
  const rows = manifest.tables.reduce((sum, table) => sum + table.rows, 0);
  return { id, tables: manifest.tables.length, rows, ms: performance.now() - started };
}

export async function replicate(config: ReplicateConfig, request: ReplicateRequest, options: ReplicateOptions = {}): Promise<ReplicateResult> {
  const stores = await open(config, request);
  const { source, destination, toKeys } = stores;
  const reading = `cannot read the snapshots in ${source.location}`;
  const writing = `cannot replicate to ${destination.location}`;

  const started = performance.now();
  const [ids, sourceLatest] = await at(reading, () => Promise.all([source.list(), source.latest()]));
  if (ids.length === 0) throw new SnapshotError(`${source.location} holds no snapshot to replicate`);
  // The destination is read before anything is written: a missing bucket or refused access ends here.
  const [present, objectsThere] = await at(writing, async () => [new Set(await destination.list()), new Set(await destination.listObjects())] as const);

  const skipped = ids.filter((id) => present.has(id));
  const manifests: Manifest[] = [];
  for (const id of ids.filter((id) => !present.has(id))) manifests.push(await at(reading, () => source.manifest(id)));
  // Unchanged tables share objects across snapshots: each is copied once, with the first snapshot naming it.
  const referenced = new Set(manifests.flatMap(objectsOf));
  const toCopy = [...referenced].filter((object) => !objectsThere.has(object));
  const copiedObjects = new Set<string>();
  let bytes = 0;
  const report = (object?: string) => {
    const seconds = (performance.now() - started) / 1000;
    options.onProgress?.('replicate', { tables: copiedObjects.size, of: toCopy.length, bytes, rate: seconds > 0 ? bytes / seconds : 0, table: object });
  };

  const copied: string[] = [];
  for (const manifest of manifests) {
    for (const object of objectsOf(manifest)) {
      if (objectsThere.has(object) || copiedObjects.has(object)) continue;
      report(object);
      await at(`${writing}: copying ${object}`, () => copyObject(stores, object, (size) => (bytes += size)));
      copiedObjects.add(object);
      report();
    }
    try {
      await destination.putManifest({ ...manifest, key_uri: toKeys.keyUri });
      copied.push(manifest.id);
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw failure(writing, error);
      skipped.push(manifest.id);
    }
  }

  // `latest` follows the source's, but never moves back past a newer snapshot taken at the destination.
  const wanted = sourceLatest && ids.includes(sourceLatest) ? sourceLatest : ids.at(-1)!;
  const current = await at(writing, () => destination.latest());
  const latest = current && current >= wanted ? current : wanted;
  if (latest !== current) await at(writing, () => destination.setLatest(latest));
  const ms = performance.now() - started;

  const verified = await verifyCopy(destination, wanted, (progress) => options.onProgress?.('verify', progress));
  return {
    from: source.location,
    to: destination.location,
    copied,
    skipped: skipped.sort(),
    objects: copiedObjects.size,
    present: referenced.size - toCopy.length,
    bytes,
    ms,
    latest,
    keyUri: toKeys.keyUri,
    verified,
  };
}
