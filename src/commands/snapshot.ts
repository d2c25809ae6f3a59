// `skyduck snapshot`, `snapshots`, `restore [--snapshot ID]` and `export --snapshot ID --out DIR`: the
// snapshot store from the command line. snapshot and restore open the data dir's databases themselves, so
// they run with the server stopped (a running server takes snapshots with POST /v1/snapshots).
import fs from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { buildInfo } from '../build-info.ts';
import { loadCloud } from '../cloud/index.ts';
import type { Config } from '../config/config.ts';
import { DATABASE_FILE, KEYS_FILE, stagingPath } from '../data-dir.ts';
import { StartupError } from '../fs-checks.ts';
import { prepareNative } from '../native/binding.ts';
import { SnapshotError } from '../snapshot/errors.ts';
import { openSnapshotStore } from '../snapshot/open.ts';
import type { Progress } from '../snapshot/snapshot.ts';
import { SnapshotStore } from '../snapshot/store.ts';

type Write = (text: string) => void;

const MiB = 1024 * 1024;

/** On a terminal one line redrawn in place; otherwise one JSON line per step, for logs. */
export function progressPrinter(what: string, write: Write, tty = Boolean(process.stderr.isTTY)): (progress: Progress) => void {
  return (progress) => {
    if (tty) {
      write(`\r${what}: ${progress.tables}/${progress.of} tables, ${(progress.bytes / MiB).toFixed(1)} MiB, ${(progress.rate / MiB).toFixed(1)} MiB/s   `);
    } else {
      write(`${JSON.stringify({ event: `${what}.progress`, ...progress, rate: Math.round(progress.rate) })}\n`);
    }
  };
}

async function store(config: Config): Promise<SnapshotStore> {
  return openSnapshotStore(config, await loadCloud(config.cloud));
}

/** A DuckDB lock error means a server holds the data dir: say what to do instead. */
function inUse(error: unknown, instead: string): never {
  const message = (error as Error)?.message ?? '';
  if (/Could not set lock|in use by/.test(message)) {
    throw new StartupError(`the data dir is in use by a running skyduck server: ${instead}`);
  }
  throw error;
}

export async function snapshotCommand(config: Config, write: Write, progress: Write): Promise<void> {
  const snapshots = await store(config);
  await prepareNative(config.nativeCache);
  const [{ Database }, { openSystemDatabase }, { AuditLedger }, { takeSnapshot }, { applyRetention }] = await Promise.all([
    import('../engine/database.ts'), import('../agent/system-db.ts'), import('../agent/audit.ts'),
    import('../snapshot/snapshot.ts'), import('../snapshot/retention.ts'),
  ]);
  if (!fs.existsSync(path.join(config.dataDir, DATABASE_FILE))) {
    throw new SnapshotError(`${config.dataDir} holds no database to snapshot (check SKYDUCK_DATA_DIR)`);
  }
  const database = await Database.open(config.dataDir, { maxConcurrentQueries: 1 }).catch((error) => inUse(error, 'use POST /v1/snapshots'));
  try {
    const system = await openSystemDatabase(config.dataDir).catch((error) => inUse(error, 'use POST /v1/snapshots'));
    try {
      await (await AuditLedger.open(system)).close();
      const result = await takeSnapshot(snapshots, [
        { database: 'main', connect: () => database.connect(), stagingFile: stagingPath(config.dataDir, 'main') },
        { database: 'system', connect: () => system.connect(), stagingFile: stagingPath(config.dataDir, 'system') },
      ], { version: buildInfo.version, keysFile: path.join(config.dataDir, KEYS_FILE), onProgress: progressPrinter('snapshot', progress) });
      const retention = await applyRetention(snapshots, config.snapshotKeep);
      if (process.stderr.isTTY) progress('\n');
      write(`snapshot ${result.manifest.id} in ${snapshots.location}: ${result.manifest.tables.length} tables ` +
        `(${result.written} written, ${result.reused} unchanged), ${(result.bytes / MiB).toFixed(1)} MiB of Parquet, ` +
        `${Math.round(result.ms)} ms${retention.deletedSnapshots.length ? `; removed ${retention.deletedSnapshots.length} old snapshot(s)` : ''}\n`);
    } finally {
      system.close();
    }
  } finally {
    database.close();
  }
}

export async function listCommand(config: Config, write: Write, json: boolean): Promise<void> {
  const snapshots = await store(config);
  const { summarize } = await import('../snapshot/service.ts');
  const [ids, latest] = await Promise.all([snapshots.list(), snapshots.latest()]);
  const rows = (await Promise.all(ids.map((id) => snapshots.manifest(id)))).map((m) => summarize(m, latest)).reverse();
  if (json) {
    write(`${JSON.stringify(rows)}\n`);
    return;
  }
  if (rows.length === 0) {
    write(`no snapshots in ${snapshots.location}\n`);
    return;
  }
  for (const row of rows) {
    write(`${row.id}  ${row.created_at}  ${row.tables} tables  ${row.rows} rows  ${(row.bytes / MiB).toFixed(1)} MiB${row.latest ? '  (latest)' : ''}\n`);
  }
}

export async function restoreCommand(config: Config, id: string | undefined, write: Write, progress: Write): Promise<void> {
  const snapshots = await store(config);
  await prepareNative(config.nativeCache);
  const { restoreSnapshot } = await import('../snapshot/restore.ts');
  const manifest = await snapshots.choose(id);
  fs.mkdirSync(config.dataDir, { recursive: true });
  // Held by a running server? Opening the current database says so before anything is rebuilt.
  if (fs.existsSync(path.join(config.dataDir, DATABASE_FILE))) {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const probe = await DuckDBInstance.create(path.join(config.dataDir, DATABASE_FILE)).catch((error) => inUse(error, 'stop it, then restore'));
    probe.closeSync();
  }
  await restoreSnapshot(snapshots, manifest, { dataDir: config.dataDir, onProgress: progressPrinter('restore', progress) });
  if (process.stderr.isTTY) progress('\n');
  write(`restored snapshot ${manifest.id} (${manifest.tables.length} tables, every checksum verified) into ${config.dataDir}\n`);
}

/** Every table of a snapshot as a plain Parquet file, decrypted and checked: `<out>/<database>/<schema>.<table>.parquet`. */
export async function exportCommand(config: Config, id: string | undefined, out: string, write: Write): Promise<void> {
  const snapshots = await store(config);
  const manifest = await snapshots.choose(id);
  for (const table of manifest.tables) {
    const dir = path.join(out, table.database);
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `${SnapshotStore.tableFileName(table.schema, table.name)}.parquet`);
    const partial = `${file}.partial`;
    await snapshots.fetchVerified(table.object, table.sha256, partial).catch(async (error: unknown) => {
      await rm(partial, { force: true });
      throw error;
    });
    // Only a checked file gets its final name: a reader never sees a partial export as complete.
    await rename(partial, file);
    write(`${file}  ${table.rows} rows\n`);
  }
  write(`exported snapshot ${manifest.id}: ${manifest.tables.length} tables to ${out}\n`);
}

