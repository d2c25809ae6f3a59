// npm run bench:snapshot: snapshot and restore of a 10M-row table on the local backend, side by side with
// DuckDB's own COPY TO / FROM Parquet of the same table in the same run.
//
//   snapshot          takeSnapshot from source (src/snapshot/snapshot.ts) on a data dir opened as the server
//                     opens it (Database.open + openSystemDatabase): COPY to Parquet (zstd) into the staging
//                     file, SHA-256 of it, envelope encryption streamed into LocalBlobStorage (fsync, create-only
//                     link), manifest, latest. Both databases, as a server snapshots them (the system database
//                     holds the empty audit ledger). A fresh store each time, so nothing is reused.
//   baseline COPY     COPY (SELECT * FROM events) TO file (FORMAT parquet, COMPRESSION zstd) in a plain DuckDB
//                     instance on a byte-for-byte copy of the same database file.
//   restore           restoreSnapshot (src/snapshot/restore.ts) into an empty data dir: decrypt + hash into a
//                     staging file, CREATE TABLE + INSERT ... SELECT * FROM read_parquet, COMMIT, CHECKPOINT,
//                     close, rename into place.
//   baseline load     CREATE TABLE events AS SELECT * FROM read_parquet(file) into a new database file (the
//                     baseline COPY's file of the same round), CHECKPOINT, close.
//
// Every operation runs in a child process of its own (this file with --worker, on node_modules/.bin/node), so
// its peak RSS (VmHWM) is that operation's alone; the database is opened before the clock starts (a server
// has it open already), the restores time everything including opening the new file. Each round runs the
// four at BENCH_ROWS (default 10M) and at 1M rows (to see whether peak RSS grows with the table), skyduck and
// the baseline interleaved (which goes first alternates by round), each after the machine is quiet; the
// figures are medians over BENCH_ROUNDS (default 3). Both sides read their database from the page cache.
// Files go to BENCH_DIR (default the OS temp dir); the 10M-row run needs about 2 GB there. DuckDB's COPY TO
// does not fsync its file (strace shows none); skyduck's put does, as a durable snapshot must.
//
// The machine may be shared: every run records how much CPU other processes used and how much the cores sat
// in iowait; besides the ratio of the medians, the report gives the median of each round's own ratio (its
// two runs back to back), that median over the rounds where neither run was disturbed (other processes
// < 10% of the cores), and the ratio of CPU seconds, which a busy machine moves far less than wall time.
// BENCH_QUIET_SECONDS (default 60) caps the wait for a quiet machine before each run.
//
// Where the time goes: a further child process per round takes the snapshot's steps one at a time with the
// same calls (COPY, the same SHA-256 loop, SnapshotStore.putEncrypted), splits the put into encryption and
// write + fsync, and times two prototypes that are not skyduck's code (hash + encrypt + write in one pass;
// the whole upload streamed while COPY writes); and the restore's steps (decrypt + hash into staging,
// INSERT from Parquet, COMMIT + CHECKPOINT), plus takeSnapshot's fixed costs (the system database, the
// manifest and `latest`: takeSnapshot of the system database alone). That is a breakdown, not the measured figure.
//
// Writes bench/results/snapshot.json.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { median } from './startup.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const results = path.join(root, 'bench', 'results');
const nodeBin = path.join(root, 'node_modules', '.bin', 'node');

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const SMALL_ROWS = Math.min(1_000_000, ROWS);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
/** Where the data dirs, stores and Parquet files go (the filesystem is recorded): BENCH_DIR, else the OS temp dir. */
const benchDir = process.env.BENCH_DIR ?? os.tmpdir();
const TARGET_RATIO = 1.3;
const MiB = 1 << 20;

const createSql = (rows: number) =>
  "create table events as select range id, range % 1000 k, random() v, 'user-' || (range % 100000) u, " +
  `timestamp '2026-01-01' + to_seconds(range) t from range(${rows})`;
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

// ---------------------------------------------------------------------------------------------------
// Shared: machine load, process memory.

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Busy CPU time of the whole machine (all cores, /proc/stat), in ms. */
function machineBusyMs(): number {
  const [user, nice, system, , , irq, softirq, steal] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return ((user! + nice! + system! + irq! + softirq! + steal!) / CLK_TCK) * 1000;
}

/** How long to wait for a quiet machine before each measured operation (BENCH_QUIET_SECONDS, default 60). */
const quietSeconds = Number(process.env.BENCH_QUIET_SECONDS ?? 60);
/** A run during which other processes used more than this share of the cores counts as disturbed. */
const DISTURBED_PERCENT = 10;

/** Time the machine's cores spent idle waiting for I/O (/proc/stat iowait), in ms: a disk busy with another job shows here. */
function machineIowaitMs(): number {
  return (Number(fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/)[5]) / CLK_TCK) * 1000;
}

/** Waits (up to quietSeconds) until below 10% of the cores are busy over half a second: another job's burst would land in one side only. */
async function quiet(): Promise<void> {
  const cores = os.cpus().length;
  const deadline = performance.now() + quietSeconds * 1000;
  for (;;) {
    const busy = machineBusyMs();
    await new Promise((resolve) => setTimeout(resolve, 500));
    if ((machineBusyMs() - busy) / (500 * cores) < 0.1 || performance.now() > deadline) return;
  }
}

function statusMiB(field: 'VmHWM' | 'VmRSS'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error(`no ${field} in /proc/self/status`);
  return Number(match[1]) / 1024;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const duSize = (target: string): number => {
  const stat = fs.statSync(target);
  if (!stat.isDirectory()) return stat.size;
  return fs.readdirSync(target).reduce((sum, name) => sum + duSize(path.join(target, name)), 0);
};

// ---------------------------------------------------------------------------------------------------
// Worker (child process): one operation, timed, with its peak RSS.

type Request =
  | { op: 'build'; dataDir: string; rows: number; baselineFile: string }
  | { op: 'snapshot'; dataDir: string; storeRoot: string; keyFile: string }
  | { op: 'copy'; file: string; out: string }
  | { op: 'restore'; storeRoot: string; keyFile: string; dataDir: string; rows: number }
  | { op: 'load'; parquet: string; file: string; rows: number }
  | { op: 'breakdown'; dataDir: string; storeRoot: string; keyFile: string; restoreDir: string; rows: number };

interface Measured {
  seconds: number;
  /** CPU time (user + system, every thread) of the operation, in seconds. */
  cpu_seconds: number;
  /** VmRSS after start-up and opening the database, before the clock starts. */
  rss_before_mib: number;
  /** VmHWM at the end: the process's peak RSS, start-up included. */
  peak_rss_mib: number;
  /** CPU used by other processes meanwhile, in % of all cores. */
  other_cpu_percent: number;
  /** Cores idle waiting for I/O meanwhile (any process's), in % of all cores. */
  iowait_percent: number;
  /** Parquet bytes produced (snapshot, COPY) or read (restore, load). */
  parquet_bytes?: number;
  parquet_sha256?: string;
  rows?: number;
}

async function measure(run: () => Promise<Partial<Measured>>): Promise<Measured> {
  const rssBefore = statusMiB('VmRSS');
  const cpu = process.cpuUsage();
  const busy = machineBusyMs();
  const iowait = machineIowaitMs();
  const started = performance.now();
  const extra = await run();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  const other = Math.max(0, (100 * (machineBusyMs() - busy - cpuMs)) / (seconds * 1000 * os.cpus().length));
  return { seconds, cpu_seconds: cpuMs / 1000, rss_before_mib: rssBefore, peak_rss_mib: statusMiB('VmHWM'), other_cpu_percent: other,
    iowait_percent: (100 * (machineIowaitMs() - iowait)) / (seconds * 1000 * os.cpus().length), ...extra };
}

async function worker(request: Request): Promise<unknown> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const { Database } = await import('../src/engine/database.ts');
  const { openSystemDatabase } = await import('../src/agent/system-db.ts');
  const { LocalKeyManager } = await import('../src/cloud/local/keys.ts');
  const { LocalBlobStorage } = await import('../src/cloud/local/storage.ts');
  const { Envelope } = await import('../src/crypto/envelope.ts');
  const { SnapshotStore } = await import('../src/snapshot/store.ts');
  const { stagingPath } = await import('../src/data-dir.ts');
  const storeAt = (storeRoot: string, keyFile: string) => {
    const keys = LocalKeyManager.fromFile(keyFile);
    return new SnapshotStore(new LocalBlobStorage(storeRoot), new Envelope(keys), keys.keyUri);
  };
  const openSource = async (dataDir: string) => {
    const database = await Database.open(dataDir, { maxConcurrentQueries: 2 });
    const system = await openSystemDatabase(dataDir);
    return {
      database, system,
      sources: [
        { database: 'main' as const, connect: () => database.connect(), stagingFile: stagingPath(dataDir, 'main') },
        { database: 'system' as const, connect: () => system.connect(), stagingFile: stagingPath(dataDir, 'system') },
      ],
      close: () => { database.close(); system.close(); },
    };
  };

  switch (request.op) {
    case 'build': {
      // The data dir as a server leaves it: both databases, the audit ledger's table, the user table checkpointed.
      const { AuditLedger } = await import('../src/agent/audit.ts');
      const source = await openSource(request.dataDir);
      const ledger = await AuditLedger.open(source.system);
      await ledger.close();
      const connection = await source.database.connect();
      const started = performance.now();
      await connection.run(createSql(request.rows));
      const seconds = (performance.now() - started) / 1000;
      // The table's size as plain values: four 8-byte columns and the strings' bytes.
      const [[count, raw]] = (await connection.runAndReadAll('select count(*), sum(32 + strlen(u)) from events')).getRowsJson() as [[string, string]];
      await connection.run('CHECKPOINT');
      connection.closeSync();
      source.close();
      fs.copyFileSync(path.join(request.dataDir, 'skyduck.duckdb'), request.baselineFile);
      return { seconds, rows: Number(count), raw_bytes: Number(raw), database_bytes: fs.statSync(request.baselineFile).size };
    }
    case 'snapshot': {
      const source = await openSource(request.dataDir);
      const store = storeAt(request.storeRoot, request.keyFile);
      const { takeSnapshot } = await import('../src/snapshot/snapshot.ts');
      const result = await measure(async () => {
        const taken = await takeSnapshot(store, source.sources, { version: 'bench' });
        const events = taken.manifest.tables.find((t) => t.database === 'main' && t.name === 'events')!;
        return { parquet_bytes: taken.bytes, parquet_sha256: events.sha256, rows: events.rows };
      });
      source.close();
      return result;
    }
    case 'copy': {
      const instance = await DuckDBInstance.create(request.file);
      const connection = await instance.connect();
      const result = await measure(async () => {
        const copied = await connection.runAndReadAll(`COPY (SELECT * FROM events) TO ${literal(request.out)} (FORMAT parquet, COMPRESSION zstd)`);
        return { rows: Number(copied.getRows()[0]?.[0] ?? 0), parquet_bytes: fs.statSync(request.out).size };
      });
      connection.closeSync();
      instance.closeSync();
      return { ...result, parquet_sha256: await sha256File(request.out) };
    }
    case 'restore': {
      const { restoreSnapshot } = await import('../src/snapshot/restore.ts');
      const store = storeAt(request.storeRoot, request.keyFile);
      const manifest = await store.manifest((await store.latest())!);
      fs.mkdirSync(request.dataDir, { recursive: true, mode: 0o700 });
      const result = await measure(async () => {
        await restoreSnapshot(store, manifest, { dataDir: request.dataDir });
        return { parquet_bytes: manifest.tables.reduce((sum, t) => sum + t.bytes, 0) };
      });
      // Checked after VmHWM was read.
      const instance = await DuckDBInstance.create(path.join(request.dataDir, 'skyduck.duckdb'));
      const connection = await instance.connect();
      const count = Number((await connection.runAndReadAll('select count(*) from events')).getRows()[0]![0]);
      connection.closeSync();
      instance.closeSync();
      if (count !== request.rows) throw new Error(`the restored events holds ${count} rows, expected ${request.rows}`);
      return { ...result, rows: count };
    }
    case 'load': {
      const result = await measure(async () => {
        const instance = await DuckDBInstance.create(request.file);
        const connection = await instance.connect();
        const loaded = await connection.runAndReadAll(`CREATE TABLE events AS SELECT * FROM read_parquet(${literal(request.parquet)})`);
        await connection.run('CHECKPOINT');
        connection.closeSync();
        instance.closeSync();
        return { rows: Number(loaded.getRows()[0]?.[0] ?? 0), parquet_bytes: fs.statSync(request.parquet).size };
      });
      if (result.rows !== request.rows) throw new Error(`the baseline load holds ${result.rows} rows, expected ${request.rows}`);
      return result;
    }
    case 'breakdown':
      return breakdown(request, { storeAt, openSource, DuckDBInstance });
  }
}

/** Reads a file while another party is still appending to it, until `done()` and its end. */
async function* tail(file: string, done: () => boolean): AsyncGenerator<Buffer> {
  let handle: fs.promises.FileHandle | undefined;
  while (!handle) {
    try {
      handle = await fs.promises.open(file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || done()) throw error;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
  try {
    let position = 0;
    for (;;) {
      const finished = done(); // read before the read: an empty read after the writer finished is the end
      const buffer = Buffer.allocUnsafe(MiB);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead > 0) {
        position += bytesRead;
        yield buffer.subarray(0, bytesRead);
      } else if (finished) {
        return;
      } else {
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
  } finally {
    await handle.close();
  }
}

async function timed<T>(run: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const value = await run();
  return [(performance.now() - started) / 1000, value];
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) { /* dropped */ }
}

/** Where a snapshot's and a restore's time goes: the same steps taken one at a time, each timed. */
async function breakdown(request: Extract<Request, { op: 'breakdown' }>, deps: {
  storeAt(storeRoot: string, keyFile: string): import('../src/snapshot/store.ts').SnapshotStore;
  openSource(dataDir: string): Promise<{ database: import('../src/engine/database.ts').Database; sources: import('../src/snapshot/snapshot.ts').SnapshotSource[]; close(): void }>;
  DuckDBInstance: typeof import('@duckdb/node-api').DuckDBInstance;
}): Promise<unknown> {
  const { stagingPath } = await import('../src/data-dir.ts');
  const { pipeline } = await import('node:stream/promises');
  let source = await deps.openSource(request.dataDir);
  const store = deps.storeAt(request.storeRoot, request.keyFile);
  const staging = stagingPath(request.dataDir, 'main');
  fs.mkdirSync(path.dirname(staging), { recursive: true, mode: 0o700 });
  fs.rmSync(staging, { force: true });
  let connection = await source.database.connect();
  const read = () => fs.createReadStream(staging, { highWaterMark: MiB });
  const copySql = `COPY (SELECT * FROM "main"."events") TO ${literal(staging)} (FORMAT parquet, COMPRESSION zstd)`;
  const snapshot: Record<string, number> = {};
  const cpu: Record<string, number> = {};
  const step = async <T>(name: string, table: Record<string, number>, run: () => Promise<T>): Promise<T> => {
    const before = process.cpuUsage();
    const [seconds, value] = await timed(run);
    const used = process.cpuUsage(before);
    table[name] = seconds;
    cpu[name] = (used.user + used.system) / 1e6;
    return value;
  };

  await connection.run('BEGIN TRANSACTION READ ONLY');
  // The steps of takeSnapshot, one at a time, with the same calls.
  await step('copy', snapshot, () => connection.run(copySql));
  const sha256 = await step('sha256', snapshot, () => sha256File(staging));
  const bytes = fs.statSync(staging).size;
  await step('put_encrypted', snapshot, () => store.putEncrypted('bench/put', read()));
  // The put split: encryption alone (drained), then the plaintext written + fsynced through a file handle.
  const split: Record<string, number> = {};
  await step('read_only', split, () => drain(read()));
  await step('encrypt_only', split, () => drain(store.envelope.encryptStream('bench/drained', read())));
  const plain = path.join(request.storeRoot, 'plain.parquet');
  const handle = await fs.promises.open(plain, 'wx', 0o600);
  await step('write_only', split, async () => {
    for await (const chunk of read()) await handle.write(chunk as Buffer);
  });
  await step('fsync', split, () => handle.sync());
  await handle.close();
  fs.rmSync(plain);

  // Prototypes, not skyduck's code: (1) hash + encrypt + write in one read pass after COPY;
  // (2) COPY with the upload streamed while it writes, tailing the staging file (one pass, overlapped).
  const whatIf: Record<string, number> = {};
  const fused = createHash('sha256');
  await step('one_pass_hash_encrypt_write', whatIf, () => store.putEncrypted('bench/fused', (async function* () {
    for await (const chunk of read()) {
      fused.update(chunk as Buffer);
      yield chunk as Buffer;
    }
  })()));
  if (fused.digest('hex') !== sha256) throw new Error('the one-pass prototype hashed other bytes');
  fs.rmSync(staging);
  // The database opened again, so this COPY starts from the same cold buffer pool as the first one.
  await connection.run('COMMIT');
  connection.closeSync();
  source.close();
  source = await deps.openSource(request.dataDir);
  connection = await source.database.connect();
  await connection.run('BEGIN TRANSACTION READ ONLY');
  const streamed = createHash('sha256');
  let copied = false;
  await step('copy_with_streamed_upload', whatIf, () => Promise.all([
    connection.run(copySql).finally(() => (copied = true)),
    store.putEncrypted('bench/streamed', (async function* () {
      for await (const chunk of tail(staging, () => copied)) {
        streamed.update(chunk);
        yield chunk;
      }
    })()),
  ]));
  const streamedTail = streamed.digest('hex');
  await connection.run('COMMIT');
  const streamedHash = await sha256File(staging);
  fs.rmSync(staging, { force: true });
  // What takeSnapshot does besides the user table: the system database (the audit ledger), store.latest(),
  // the manifest and `latest`, each small object fsynced: takeSnapshot of the system database alone.
  const { takeSnapshot } = await import('../src/snapshot/snapshot.ts');
  const fixedStore = deps.storeAt(path.join(request.storeRoot, 'fixed'), request.keyFile);
  await step('fixed_costs', snapshot, () => takeSnapshot(fixedStore, source.sources.filter((s) => s.database === 'system'), { version: 'bench' }));
  const tableSql = String((await connection.runAndReadAll("select sql from duckdb_tables() where table_name = 'events'")).getRows()[0]![0]);
  connection.closeSync();
  source.close();

  // The restore's steps (restore.ts rebuild), one at a time, from the object put above.
  const restore: Record<string, number> = {};
  const restoreStaging = stagingPath(request.restoreDir, 'restore');
  fs.mkdirSync(path.dirname(restoreStaging), { recursive: true, mode: 0o700 });
  await step('decrypt_hash_write_staging', restore, async () => {
    const hash = createHash('sha256');
    await pipeline(await store.getDecrypted('bench/put'), async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        yield chunk;
      }
    }, fs.createWriteStream(restoreStaging, { mode: 0o600 }));
    if (hash.digest('hex') !== sha256) throw new Error('the restore breakdown decrypted other bytes');
  });
  const restoreSplit: Record<string, number> = {};
  await step('decrypt_only', restoreSplit, async () => drain(await store.getDecrypted('bench/put')));
  const file = path.join(request.restoreDir, 'skyduck.duckdb');
  const instance = await step('open_new_database', restore, () => deps.DuckDBInstance.create(file, { autoload_known_extensions: 'false', autoinstall_known_extensions: 'false' }));
  const target = await instance.connect();
  await target.run('BEGIN TRANSACTION');
  await target.run(tableSql);
  const count = await step('insert_from_parquet', restore, async () =>
    Number((await target.runAndReadAll(`INSERT INTO "main"."events" SELECT * FROM read_parquet(${literal(restoreStaging)})`)).getRows()[0]![0]));
  if (count !== request.rows) throw new Error(`the restore breakdown loaded ${count} rows, expected ${request.rows}`);
  await step('commit_checkpoint_close', restore, async () => {
    await target.run('COMMIT');
    await target.run('CHECKPOINT');
    target.closeSync();
    instance.closeSync();
  });
  fs.rmSync(request.restoreDir, { recursive: true, force: true });
  fs.rmSync(request.storeRoot, { recursive: true, force: true });
  return {
    parquet_bytes: bytes, snapshot, put_split: split, what_if: whatIf, restore, restore_split: restoreSplit, cpu_seconds: cpu,
    // The tailing reader saw exactly the file COPY left (and COPY wrote the same bytes both times).
    streamed_upload_hash_matches: streamedTail === streamedHash && streamedHash === sha256,
  };
}

async function runWorker(request: Request): Promise<any> {
  const { stdout } = await promisify(execFile)(nodeBin, [fileURLToPath(import.meta.url), '--worker', JSON.stringify(request)], {
    cwd: root, maxBuffer: 16 * MiB,
  }).catch((error: Error & { stderr?: string }) => {
    throw new Error(`worker ${request.op} failed: ${error.stderr || error.message}`);
  });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

// ---------------------------------------------------------------------------------------------------
// The run.

function medianRecord<T extends object>(runs: T[]): T {
  const fields = Object.keys(runs[0]!) as (keyof T)[];
  return Object.fromEntries(fields.map((field) => {
    const values = runs.map((run) => run[field]);
    if (values.every((value) => typeof value === 'number')) return [field, median(values as number[])];
    if (values.every((value) => value && typeof value === 'object' && !Array.isArray(value))) return [field, medianRecord(values as object[])];
    return [field, values[0]];
  })) as T;
}

interface Size {
  label: string;
  rows: number;
  dataDir: string;
  baselineFile: string;
  build?: { seconds: number; rows: number; raw_bytes: number; database_bytes: number };
  runs: { snapshot: Measured[]; copy: Measured[]; restore: Measured[]; load: Measured[]; order: string[] };
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(benchDir, 'skyduck-bench-snapshot-'));
  const { writeKeyFile } = await import('../src/cloud/local/keys.ts');
  const keyFile = path.join(tmp, 'key', 'local.key');
  writeKeyFile(keyFile);
  const sizes: Size[] = [...new Set([ROWS, SMALL_ROWS])].map((rows) => ({
    label: rows >= 1e6 ? `${rows / 1e6}M` : `${rows / 1e3}k`, rows,
    dataDir: path.join(tmp, `data-${rows}`), baselineFile: path.join(tmp, `baseline-${rows}.duckdb`),
    runs: { snapshot: [], copy: [], restore: [], load: [], order: [] },
  }));
  const breakdowns: any[] = [];
  let sameParquet: boolean | undefined;
  try {
    for (const size of sizes) {
      console.log(`building the ${size.label}-row table...`);
      fs.mkdirSync(size.dataDir, { mode: 0o700 });
      size.build = await runWorker({ op: 'build', dataDir: size.dataDir, rows: size.rows, baselineFile: size.baselineFile });
      if (size.build!.rows !== size.rows) throw new Error(`events holds ${size.build!.rows} rows, expected ${size.rows}`);
    }
    for (let round = 0; round < rounds; round++) {
      const skyduckFirst = round % 2 === 0;
      for (const size of sizes) {
        const dir = path.join(tmp, `round-${round}-${size.rows}`);
        const storeRoot = path.join(dir, 'store');
        const parquet = path.join(dir, 'baseline.parquet');
        fs.mkdirSync(dir);
        const pair = async (skyduck: () => Promise<Measured>, baseline: () => Promise<Measured>): Promise<[Measured, Measured]> => {
          await quiet();
          const first = await (skyduckFirst ? skyduck : baseline)();
          await quiet();
          const second = await (skyduckFirst ? baseline : skyduck)();
          return skyduckFirst ? [first, second] : [second, first];
        };
        console.log(`round ${round + 1}/${rounds}, ${size.label} rows: snapshot / COPY TO, restore / load (${skyduckFirst ? 'skyduck' : 'baseline'} first)`);
        const [snapshot, copy] = await pair(
          () => runWorker({ op: 'snapshot', dataDir: size.dataDir, storeRoot, keyFile }),
          () => runWorker({ op: 'copy', file: size.baselineFile, out: parquet }));
        if (snapshot.rows !== size.rows || copy.rows !== size.rows) throw new Error(`rows copied: snapshot ${snapshot.rows}, baseline ${copy.rows}, expected ${size.rows}`);
        if (size.rows === ROWS) sameParquet = (sameParquet ?? true) && snapshot.parquet_sha256 === copy.parquet_sha256;
        const [restore, load] = await pair(
          () => runWorker({ op: 'restore', storeRoot, keyFile, dataDir: path.join(dir, 'restored'), rows: size.rows }),
          () => runWorker({ op: 'load', parquet, file: path.join(dir, 'loaded.duckdb'), rows: size.rows }));
        console.log(`  snapshot ${snapshot.seconds.toFixed(2)} s, COPY TO ${copy.seconds.toFixed(2)} s, restore ${restore.seconds.toFixed(2)} s, load ${load.seconds.toFixed(2)} s`);
        size.runs.snapshot.push(snapshot);
        size.runs.copy.push(copy);
        size.runs.restore.push(restore);
        size.runs.load.push(load);
        size.runs.order.push(skyduckFirst ? 'skyduck first' : 'baseline first');
        fs.rmSync(dir, { recursive: true, force: true });
        if (size.rows === ROWS) {
          console.log(`round ${round + 1}/${rounds}, ${size.label} rows: breakdown`);
          await quiet();
          breakdowns.push(await runWorker({ op: 'breakdown', dataDir: size.dataDir, storeRoot: path.join(tmp, 'breakdown-store'), keyFile, restoreDir: path.join(tmp, 'breakdown-restore'), rows: size.rows }));
        }
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  // Figures, ratios, targets.
  const figures = Object.fromEntries(sizes.map((size) => [size.label, {
    rows: size.rows, build: size.build!,
    snapshot: medianRecord(size.runs.snapshot), copy: medianRecord(size.runs.copy),
    restore: medianRecord(size.runs.restore), load: medianRecord(size.runs.load),
  }]));
  const big = figures[sizes[0]!.label]!;
  const small = figures[sizes[sizes.length - 1]!.label]!;
  const ratios = {
    snapshot_time_vs_copy: big.snapshot.seconds / big.copy.seconds,
    restore_time_vs_load: big.restore.seconds / big.load.seconds,
    snapshot_peak_rss_vs_copy: big.snapshot.peak_rss_mib / big.copy.peak_rss_mib,
    restore_peak_rss_vs_load: big.restore.peak_rss_mib / big.load.peak_rss_mib,
    snapshot_peak_rss_big_vs_small: big.snapshot.peak_rss_mib / small.snapshot.peak_rss_mib,
    copy_peak_rss_big_vs_small: big.copy.peak_rss_mib / small.copy.peak_rss_mib,
    restore_peak_rss_big_vs_small: big.restore.peak_rss_mib / small.restore.peak_rss_mib,
    load_peak_rss_big_vs_small: big.load.peak_rss_mib / small.load.peak_rss_mib,
  };
  // Each round's pair ran back to back under the same machine conditions: the median of the per-round
  // ratios, and the same over the rounds where neither side was disturbed (other processes < 10% of the cores).
  const bigRuns = sizes[0]!.runs;
  const paired = (a: Measured[], b: Measured[], quietOnly: boolean) => {
    const values = a.map((run, i) => [run, b[i]!] as const)
      .filter(([x, y]) => !quietOnly || (x.other_cpu_percent < DISTURBED_PERCENT && y.other_cpu_percent < DISTURBED_PERCENT))
      .map(([x, y]) => x.seconds / y.seconds);
    return values.length ? median(values) : null;
  };
  const robust = {
    snapshot_time_vs_copy_paired_median: paired(bigRuns.snapshot, bigRuns.copy, false),
    restore_time_vs_load_paired_median: paired(bigRuns.restore, bigRuns.load, false),
    snapshot_time_vs_copy_quiet_rounds: paired(bigRuns.snapshot, bigRuns.copy, true),
    restore_time_vs_load_quiet_rounds: paired(bigRuns.restore, bigRuns.load, true),
    quiet_snapshot_rounds: bigRuns.snapshot.filter((r, i) => r.other_cpu_percent < DISTURBED_PERCENT && bigRuns.copy[i]!.other_cpu_percent < DISTURBED_PERCENT).length,
    quiet_restore_rounds: bigRuns.restore.filter((r, i) => r.other_cpu_percent < DISTURBED_PERCENT && bigRuns.load[i]!.other_cpu_percent < DISTURBED_PERCENT).length,
    /** CPU seconds (all threads) are far less sensitive to a busy machine than wall time. */
    snapshot_cpu_vs_copy: big.snapshot.cpu_seconds / big.copy.cpu_seconds,
    restore_cpu_vs_load: big.restore.cpu_seconds / big.load.cpu_seconds,
  };
  const targets = {
    [`snapshot <= ${TARGET_RATIO}x COPY TO`]: ratios.snapshot_time_vs_copy <= TARGET_RATIO,
    [`restore <= ${TARGET_RATIO}x COPY FROM (CREATE TABLE AS read_parquet)`]: ratios.restore_time_vs_load <= TARGET_RATIO,
    // "Not growing beyond what DuckDB's COPY itself needs": skyduck's growth from 1M to 10M rows no more than the baseline's (+5% noise).
    'snapshot peak RSS grows with size no more than COPY TO': ratios.snapshot_peak_rss_big_vs_small <= ratios.copy_peak_rss_big_vs_small * 1.05,
    'restore peak RSS grows with size no more than the load': ratios.restore_peak_rss_big_vs_small <= ratios.load_peak_rss_big_vs_small * 1.05,
  };
  const breakdown = breakdowns.length ? medianRecord(breakdowns) : undefined;
  const machine = {
    cpus: os.cpus().length, model: os.cpus()[0]?.model, memory_gib: os.totalmem() / 2 ** 30, node: process.versions.node,
    duckdb: JSON.parse(fs.readFileSync(path.join(root, 'node_modules', '@duckdb', 'node-api', 'package.json'), 'utf8')).version,
    filesystem: (() => {
      try {
        return execFileSync('df', ['-T', benchDir], { encoding: 'utf8' }).trim().split('\n').pop()!.split(/\s+/).slice(0, 2).join(' ');
      } catch {
        return undefined;
      }
    })(),
    bench_dir: benchDir,
    date: new Date().toISOString(),
  };
  const commit = (() => {
    try {
      return execFileSync('git', ['describe', '--always', '--dirty'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return undefined;
    }
  })();
  const report = {
    machine, commit, rounds, rows: ROWS, small_rows: SMALL_ROWS, table_sql: createSql(ROWS),
    figures: 'medians over the rounds; seconds of the operation alone (the source database opened before the clock starts), ' +
      'MB/s = Parquet MB (1e6 bytes) / s, peak RSS = VmHWM of the operation\'s own process',
    baseline: 'a plain @duckdb/node-api instance (same Node, same DuckDB) in its own process: COPY TO Parquet zstd on a byte-for-byte copy ' +
      'of the database file, and CREATE TABLE AS SELECT * FROM read_parquet of that file into a new database file, CHECKPOINT, close',
    same_parquet_bytes_as_baseline: sameParquet,
    disturbed_when_other_cpu_percent_above: DISTURBED_PERCENT,
    sizes: figures, ratios, robust_ratios: robust, targets,
    breakdown: breakdown && { note: 'the snapshot\'s and restore\'s steps taken one at a time in a separate process with the same calls: a breakdown, not the measured figure; what_if are prototypes, not skyduck\'s code', ...breakdown },
    rounds_detail: Object.fromEntries(sizes.map((size) => [size.label, size.runs])),
    breakdown_rounds: breakdowns,
  };
  fs.mkdirSync(results, { recursive: true });
  fs.writeFileSync(path.join(results, 'snapshot.json'), `${JSON.stringify(report, null, 2)}\n`);

  const mb = (bytes: number) => (bytes / 1e6).toFixed(0);
  const x = (value: number) => `${value.toFixed(2)}x`;
  const line = (size: string, name: string, m: Measured, baseline?: Measured) =>
    `| ${size} | ${name} | ${m.seconds.toFixed(2)} | ${(m.parquet_bytes! / 1e6 / m.seconds).toFixed(0)} | ${baseline ? x(m.seconds / baseline.seconds) : ''} | ` +
    `${m.cpu_seconds.toFixed(1)} | ${m.peak_rss_mib.toFixed(0)} | ${baseline ? x(m.peak_rss_mib / baseline.peak_rss_mib) : ''} | ${m.other_cpu_percent.toFixed(1)} | ${m.iowait_percent.toFixed(1)} |`;
  const lines = [
    `# Snapshot benchmark (${machine.date}, ${machine.cpus} cores, ${machine.memory_gib.toFixed(0)} GiB, Node ${machine.node}, DuckDB ${machine.duckdb}, files on ${machine.filesystem} at ${benchDir}, medians of ${rounds} rounds)`,
    '',
    ...sizes.map((size) => `- ${size.label} rows: database ${mb(size.build!.database_bytes)} MB, raw values ${mb(size.build!.raw_bytes)} MB, Parquet (zstd) ${mb(figures[size.label]!.copy.parquet_bytes!)} MB`),
    `- skyduck's Parquet is byte for byte the baseline's: ${sameParquet}`,
    '',
    '| rows | operation | s | Parquet MB/s | time vs baseline | CPU s | peak RSS MiB | RSS vs baseline | other CPU % | iowait % |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...sizes.flatMap((size) => {
      const f = figures[size.label]!;
      return [
        line(size.label, 'skyduck snapshot (takeSnapshot)', f.snapshot, f.copy),
        line(size.label, 'baseline COPY TO Parquet', f.copy),
        line(size.label, 'skyduck restore (restoreSnapshot)', f.restore, f.load),
        line(size.label, 'baseline CREATE TABLE AS read_parquet', f.load),
      ];
    }),
    '',
    ...Object.entries(ratios).map(([k, v]) => `- ${k}: ${x(v)}`),
    ...Object.entries(robust).map(([k, v]) => `- ${k}: ${v === null ? 'no such round' : k.startsWith('quiet_') ? v : x(v)}`),
    ...Object.entries(targets).map(([k, v]) => `- target ${k}: ${v ? 'met' : 'NOT met'}`),
  ];
  if (breakdown) {
    const total = (record: Record<string, number>) => Object.values(record).reduce((sum, v) => sum + v, 0);
    const rowsOf = (record: Record<string, number>, of?: number) => Object.entries(record).map(([name, seconds]) =>
      `| ${name} | ${seconds.toFixed(2)} | ${(breakdown.parquet_bytes / 1e6 / seconds).toFixed(0)} | ${(breakdown.cpu_seconds[name] as number).toFixed(2)} | ${of ? `${((100 * seconds) / of).toFixed(0)}%` : ''} |`);
    lines.push(
      '',
      `## Where the time goes (${sizes[0]!.label} rows; steps taken one at a time in a separate process: a breakdown, not the measured figure)`,
      '',
      '| step | s | MB/s | CPU s | share |',
      '|---|---:|---:|---:|---:|',
      `| **snapshot** (sum ${total(breakdown.snapshot).toFixed(2)} s; measured takeSnapshot ${big.snapshot.seconds.toFixed(2)} s, baseline COPY ${big.copy.seconds.toFixed(2)} s) | | | | |`,
      ...rowsOf(breakdown.snapshot, total(breakdown.snapshot)),
      '| *put_encrypted split (extra passes)* | | | | |',
      ...rowsOf(breakdown.put_split),
      '| *what-if prototypes (not skyduck\'s code)* | | | | |',
      ...rowsOf(breakdown.what_if),
      `| **restore** (sum ${total(breakdown.restore).toFixed(2)} s; measured restoreSnapshot ${big.restore.seconds.toFixed(2)} s, baseline load ${big.load.seconds.toFixed(2)} s) | | | | |`,
      ...rowsOf(breakdown.restore, total(breakdown.restore)),
      '| *restore split (extra pass)* | | | | |',
      ...rowsOf(breakdown.restore_split),
      '',
      `- the streamed-upload prototype hashed exactly the bytes COPY left in the file, in every round: ${breakdowns.every((b) => b.streamed_upload_hash_matches)}`,
    );
  }
  console.log(`\n${lines.join('\n')}`);
}

if (process.argv[2] === '--worker') {
  worker(JSON.parse(process.argv[3]!) as Request).then(
    (value) => process.stdout.write(`${JSON.stringify(value)}\n`),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
