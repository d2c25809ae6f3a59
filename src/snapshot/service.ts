// Snapshots for a running server: one at a time, on request (POST /v1/snapshots), every
// SKYDUCK_SNAPSHOT_INTERVAL when data changed, and on SIGTERM before exit (bounded). Progress goes to the
// log as one JSON line per table.
import { CloudError } from '../cloud/errors.ts';
import { diskFull, isDiskFull } from '../engine/errors.ts';
import { EngineError, type Principal, type Scope, scopeAllows } from '../engine/types.ts';
import { SnapshotError } from './errors.ts';
import type { Manifest } from './manifest.ts';
import { applyRetention } from './retention.ts';
import { type Progress, type SnapshotResult, type SnapshotSource, takeSnapshot } from './snapshot.ts';
import type { SnapshotStore } from './store.ts';

export interface SnapshotSummary {
  id: string;
  created_at: string;
  tables: number;
  rows: number;
  bytes: number;
  latest: boolean;
}

export interface ServiceOptions {
  store: SnapshotStore;
  sources: SnapshotSource[];
  version: string;
  keep: number;
  /** keys.json, stored with each snapshot. */
  keysFile?: string;
  /** The database was restored from a snapshot and has not changed since. */
  restored?: boolean;
  /** Called after a snapshot is durable (the restored-from marker is removed). */
  afterSnapshot?: () => Promise<void>;
  /** Called before the sources are read: the audit ledger flushes its queued rows. */
  beforeSnapshot?: () => Promise<void>;
  /** One structured line per event: snapshot.start, .progress, .done, .failed. */
  log(event: string, fields: Record<string, unknown>): void;
}

export function summarize(manifest: Manifest, latest?: string): SnapshotSummary {
  return {
    id: manifest.id,
    created_at: manifest.created_at,
    tables: manifest.tables.length,
    rows: manifest.tables.reduce((sum, table) => sum + table.rows, 0),
    bytes: manifest.tables.reduce((sum, table) => sum + table.bytes, 0),
    latest: manifest.id === latest,
  };
}

export class SnapshotService {
  private readonly options: ServiceOptions;
  private running: Promise<SnapshotResult> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /**
   * Data changed since the last snapshot began. True at start unless the database was just restored
   * from a snapshot: a restored server that writes nothing must not make an older snapshot `latest`.
   */
  private dirty: boolean;

  constructor(options: ServiceOptions) {
    this.options = options;
    this.dirty = !options.restored;
  }

  get location(): string {
    return this.options.store.location;
  }

  /** The warehouse calls this after every committed write. */
  markDirty(): void {
    this.dirty = true;
  }

  get changed(): boolean {
    return this.dirty;
  }

  /** A snapshot now; a request during a running one waits for that one to end, then starts its own. */
  async take(reason: string): Promise<SnapshotResult> {
    while (this.running) await this.running.catch(() => undefined);
    this.running = this.run(reason);
    try {
      return await this.running;
    } finally {
      this.running = undefined;
    }
  }

  async list(): Promise<SnapshotSummary[]> {
    const { store } = this.options;
    const [ids, latest] = await Promise.all([store.list(), store.latest()]);
    const manifests = await Promise.all(ids.map((id) => store.manifest(id)));
    return manifests.map((manifest) => summarize(manifest, latest)).reverse();
  }

  /** Every `ms`, a snapshot when data changed; failures are logged and retried at the next tick. */
  every(ms: number): void {
    this.timer = setInterval(() => {
      if (!this.dirty || this.running) return;
      this.take('interval').catch(() => undefined);
    }, ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async run(reason: string): Promise<SnapshotResult> {
    const { store, log } = this.options;
    this.dirty = false;
    log('snapshot.start', { reason, store: store.location });
    try {
      await this.options.beforeSnapshot?.();
      const result = await takeSnapshot(store, this.options.sources, {
        version: this.options.version,
        keysFile: this.options.keysFile,
        onProgress: (progress: Progress) => log('snapshot.progress', { ...progress, rate: Math.round(progress.rate) }),
      });
      const retention = await applyRetention(store, this.options.keep);
      await this.options.afterSnapshot?.();
      log('snapshot.done', {
        id: result.manifest.id, tables: result.manifest.tables.length, written: result.written,
        reused: result.reused, bytes: result.bytes, ms: Math.round(result.ms), removed_snapshots: retention.deletedSnapshots.length,
      });
      return result;
    } catch (error) {
      this.dirty = true;
      log('snapshot.failed', { reason, error: (error as Error).message });
      throw error;
    }
  }
}

/** Scope check, then the call; a storage or key failure is a 503 naming what failed (never a secret). */
async function scoped<T>(principal: Principal, scope: Scope, what: string, call: () => Promise<T>): Promise<T> {
  if (!scopeAllows(principal.scope, scope)) {
    throw new EngineError(403, 'insufficient_scope', `${what} needs a key with ${scope} scope; this key has ${principal.scope} scope`);
  }
  try {
    return await call();
  } catch (error) {
    if (isDiskFull(error)) throw diskFull();
    if (error instanceof CloudError || error instanceof SnapshotError) throw new EngineError(503, 'snapshot_failed', `${what} failed: ${error.message}`);
    throw error;
  }
}

/** The snapshot operations as the API and MCP offer them: take needs write scope, list read. */
export function snapshotOperations(service: () => Promise<SnapshotService>) {
  return {
    take: (principal: Principal) => scoped(principal, 'write', 'taking a snapshot', async () => {
      const result = await (await service()).take('request');
      return { ...summarize(result.manifest, result.manifest.id), written: result.written, reused: result.reused, ms: Math.round(result.ms) } as Record<string, unknown>;
    }),
    list: (principal: Principal) =>
      scoped(principal, 'read', 'listing snapshots', async () => (await (await service()).list()) as unknown as Record<string, unknown>[]),
  };
}
