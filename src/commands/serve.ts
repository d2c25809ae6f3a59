// `skyduck serve`. Start-up is ordered for the first answer: DuckDB's native files are prepared and the
// database opened on the thread pool while the main thread loads the HTTP stack and starts listening.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildInfo } from '../build-info.ts';
import { assertCompiled, loadCloud } from '../cloud/index.ts';
import type { Config } from '../config/config.ts';
import fs from 'node:fs';
import path from 'node:path';
import type { AuditLedger } from '../agent/audit.ts';
import { KeyStore } from '../agent/keys.ts';
import { authenticate } from '../engine/authenticate.ts';
import { DATABASE_FILE, RESTORED_FROM_FILE, stagingPath } from '../data-dir.ts';
import type { Database } from '../engine/database.ts';
import type { SnapshotService } from '../snapshot/service.ts';
import type { Principal } from '../engine/types.ts';
import type { SnapshotStore } from '../snapshot/store.ts';
import type { McpSessions } from '../agent/mcp.ts';
import type { MemoryStore } from '../agent/memory.ts';
import { StartupError, ensureWritableDir } from '../fs-checks.ts';
import { versionFacts } from '../info.ts';
import { nativeCacheSaved, prepareNative } from '../native/binding.ts';
import { createLogger, errorFields, type Logger } from '../log.ts';
import { mark } from '../trace.ts';

const DRAIN_MS = 10_000;

function listenError(error: NodeJS.ErrnoException, config: Config): StartupError {
  const where = `${config.listen.host}:${config.listen.port}`;
  const reason =
    error.code === 'EADDRINUSE' ? 'the address is already in use' :
    error.code === 'EACCES' ? 'permission denied' :
    error.code === 'EADDRNOTAVAIL' ? 'the address is not on this machine' : error.message;
  return new StartupError(`cannot listen on ${where}: ${reason}; set SKYDUCK_LISTEN to another host:port`);
}

export interface RunningServer {
  url: string;
  /** Set when this start made the data dir's first admin key: shown once, never stored in clear. */
  initialAdminKey?: string;
  /** Stops accepting, finishes in-flight requests (bounded), closes DuckDB. */
  stop(): Promise<void>;
}

/**
 * Starts the HTTP API on config.listen; `fail` ends the process if the database cannot open. A first
 * admin key made for a fresh data dir goes to `onAdminKey` at once, before anything else can fail, so it
 * is never made and lost (`serve` shows it; `selftest` uses it).
 */
export async function startServer(config: Config, fail: (error: unknown) => never, onAdminKey: (key: string) => void = () => undefined): Promise<RunningServer> {
  assertCompiled(config.cloud);
  ensureWritableDir(config.dataDir, 'SKYDUCK_DATA_DIR');

  mark('serve');
  const log = createLogger(config.logLevel);
  const keys = new KeyStore(config.dataDir);
  const settings = { maxConcurrentQueries: config.maxConcurrentQueries, memoryLimit: config.memoryLimit, threads: config.threads };
  const native = prepareNative(config.nativeCache).then(() => mark('native files ready'));
  // Opening the selected cloud's storage client at start makes a bundling or configuration fault show
  // at once, not at the first snapshot. It makes no request: `skyduck doctor` is the reachability check.
  const cloud = await loadCloud(config.cloud);
  const { openSnapshotStore } = await import('../snapshot/open.ts');
  const store = openSnapshotStore(config, cloud);

  // A data dir without a database is new, or its disk was lost: the latest snapshot, if any, comes back
  // first (with keys.json, so the same API keys work), before anything else touches the directory. If the
  // store cannot be asked, the start fails: an empty database would otherwise become the next `latest`.
  const fresh = !fs.existsSync(path.join(config.dataDir, DATABASE_FILE));
  const restoredMarker = path.join(config.dataDir, RESTORED_FROM_FILE);
  const loaded = fresh ? restoreLatest(store, config.dataDir, native, log).then(() => native) : native;
  if (fresh) await loaded;
  const initialAdminKey = keys.ensureInitialAdminKey();
  if (initialAdminKey) onAdminKey(initialAdminKey);

  // DuckDB's module loads as soon as its native files are ready (it touches no data); the database opens
  // once a restore, if any, is done.
  const duckdb = native.then(() => import('../engine/database.ts')).then((module) => (mark('duckdb loaded'), module));
  const database: Promise<Database> = Promise.all([duckdb, loaded])
    .then(([{ Database }]) => Database.open(config.dataDir, settings))
    .then((db) => (mark('database open'), db));
  // skyduck's own tables (the audit ledger) in a DuckDB instance of their own, which user SQL cannot name.
  const system = loaded
    .then(() => import('../agent/system-db.ts'))
    .then(({ openSystemDatabase }) => openSystemDatabase(config.dataDir));
  const ledger: Promise<AuditLedger> = system
    .then(async (db) => (await import('../agent/audit.ts')).AuditLedger.open(db))
    .then((opened) => (mark('ledger open'), opened));
  const memory: Promise<MemoryStore> = system.then(async (db) => (await import('../agent/memory.ts')).MemoryStore.open(db));
  Promise.all([database, ledger, memory]).catch(fail);
  // A fresh native extraction is saved in the background; failing to save only costs the next start.
  const nativeSaved = database
    .then(() => nativeCacheSaved())
    .catch((error: Error) => log.warn('native_cache.not_saved', { ...errorFields(error), consequence: 'the next start extracts again' }));

  const [{ createApp }, { createAdaptorServer }] = await Promise.all([
    import('../api/app.ts'),
    import('@hono/node-server'),
  ]);
  mark('http stack loaded');

  const limits = {
    queryTimeout: config.queryTimeout,
    maxResultRows: config.maxResultRows,
    maxResultBytes: config.maxResultBytes,
    maxIngestBytes: config.maxIngestBytes,
  };
  // The warehouse is made once the database is open; requests before that wait for it.
  // The engine modules load DuckDB's binding, so they are imported only once its native files are ready.
  const engine = loaded.then(() => Promise.all([import('../engine/warehouse.ts'), import('../agent/audit.ts')]));
  const snapshots = Promise.all([database, ledger, loaded.then(() => import('../snapshot/service.ts'))]).then(([db, audit, { SnapshotService }]) =>
    new SnapshotService({
      store,
      version: buildInfo.version,
      keep: config.snapshotKeep,
      keysFile: keys.file,
      restored: fs.existsSync(restoredMarker),
      afterSnapshot: () => fs.promises.rm(restoredMarker, { force: true }),
      sources: [
        { database: 'main', connect: () => db.connect(), stagingFile: stagingPath(config.dataDir, 'main') },
        { database: 'system', connect: () => system.then((s) => s.connect()), stagingFile: stagingPath(config.dataDir, 'system') },
      ],
      beforeSnapshot: () => audit.flush(),
      log: (event, fields) => log.info(event, fields),
    }));
  snapshots.then((service) => config.snapshotInterval && service.every(config.snapshotInterval), () => undefined);
  const warehouse = Promise.all([database, ledger, engine, snapshots]).then(([db, audit, [{ Warehouse }, { toAuditEntry }], service]) => new Warehouse({
    database: db,
    limits,
    onWrite: () => service.markDirty(),
    audit: (record) => audit.append(toAuditEntry(record)),
    auditLog: (query) => audit.flush().then(() => audit.list(query)),
    verifyAudit: () => audit.flush().then(() => audit.verify()),
  }));
  warehouse.catch(() => undefined);

  let sessions: Promise<McpSessions> | undefined;
  const mcpSessions = () => (sessions ??= import('../agent/mcp.ts').then(({ McpSessions }) => new McpSessions({
    version: buildInfo.version,
    query: async (principal, request) => (await warehouse).query(principal, request),
    listTables: async (principal) => (await warehouse).listTables(principal),
    describeTable: async (principal, name) => (await warehouse).describeTable(principal, name),
    memory: () => memory,
    snapshots: snapshotOps,
  }, (error) => log.error('mcp.tool_failed', errorFields(error, true))), (error) => {
    sessions = undefined; // a failed load is tried again by the next request, not kept
    throw error;
  }));

  // Scope checks and error mapping of the snapshot service, from its module, which loads in the background.
  const operations = import('../snapshot/service.ts').then(({ snapshotOperations }) => snapshotOperations(() => snapshots));
  const snapshotOps = {
    take: async (principal: Principal) => (await operations).take(principal),
    list: async (principal: Principal) => (await operations).list(principal),
  };

  const app = createApp({
    authenticate: (token) => authenticate(token, (candidate) => keys.authenticate(candidate)),
    warehouse: {
      query: async (principal, request) => (await warehouse).query(principal, request),
      listTables: async (principal) => (await warehouse).listTables(principal),
      describeTable: async (principal, name) => (await warehouse).describeTable(principal, name),
      ingest: async (principal, name, body, format, mode) => (await warehouse).ingest(principal, name, body, format, mode),
      auditLog: async (principal, query) => (await warehouse).auditLog(principal, query),
      verifyAudit: async (principal) => (await warehouse).verifyAudit(principal),
    },
    snapshots: snapshotOps,
    memory: {
      store: async (principal, input) => (await memory).store(principal, input as never),
      search: async (principal, options) => (await memory).search(principal, options as never),
      list: async (principal, options) => (await memory).list(principal, options as never),
    },
    mcp: {
      // The MCP SDK loads on the first /mcp request, not at start.
      handle: async (request, principal) => (await mcpSessions()).handle(request, principal),
    },
    info: () => ({ ...versionFacts(), provider: config.cloud, sdk: cloud.sdkPackages }),
    identity: () => cloud.createIdentity(config).identity().then(
      ({ principal, source, expiresAt }) => ({ principal, source, expiresAt }),
      (error: Error) => ({ error: error.message }),
    ),
    limits: { maxBodyBytes: config.maxBodyBytes, maxIngestBytes: config.maxIngestBytes },
    corsOrigins: config.corsOrigins,
    log,
    logError: (error, requestId) => log.error('request.failed', { request_id: requestId, ...errorFields(error, true) }),
  });

  // A client has SKYDUCK_REQUEST_TIMEOUT to send a whole request (slow-loris bodies end in 408), and at
  // most 60 s for the headers. Node checks these every connectionsCheckingInterval (30 s by default),
  // which would let a 2 s timeout hold for 30 s: the check runs at least every second.
  const server = createAdaptorServer({
    fetch: app.fetch,
    serverOptions: {
      requestTimeout: config.requestTimeout,
      headersTimeout: Math.min(config.requestTimeout, 60_000),
      connectionsCheckingInterval: Math.min(1_000, Math.max(config.requestTimeout / 2, 100)),
    },
  }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(listenError(error as NodeJS.ErrnoException, config)));
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  mark('listening');
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  const stop = () => new Promise<void>((resolve, reject) => {
    const force = setTimeout(() => server.closeAllConnections(), DRAIN_MS).unref();
    server.close(() => {
      clearTimeout(force);
      snapshotAtExit(snapshots, config.snapshotExitTimeout, log)
        .then(() => database)
        .then((db) => db.close())
        .then(() => sessions?.then((open) => open.close()))
        .then(() => memory)
        .then((store) => store.close())
        .then(() => ledger)
        .then((audit) => audit.close())
        .then(() => system)
        .then((db) => db.close())
        .then(() => nativeSaved)
        .then(() => resolve(), reject);
    });
    server.closeIdleConnections();
  });
  return { url: `http://${host}:${port}`, stop, ...(initialAdminKey ? { initialAdminKey } : {}) };
}

/** Restores the store's latest snapshot into a data dir that has no database yet, if there is one. */
async function restoreLatest(store: SnapshotStore, dataDir: string, loaded: Promise<unknown>, log: Logger): Promise<void> {
  const latest = await store.latest();
  if (!latest) return;
  await loaded;
  const [{ restoreSnapshot }] = await Promise.all([import('../snapshot/restore.ts')]);
  const manifest = await store.manifest(latest);
  log.info('restore.start', { id: latest, store: store.location, tables: manifest.tables.length });
  const started = performance.now();
  await restoreSnapshot(store, manifest, {
    dataDir,
    onProgress: (progress) => log.info('restore.progress', { ...progress, rate: Math.round(progress.rate) }),
  });
  log.info('restore.done', { id: latest, ms: Math.round(performance.now() - started) });
}

/** On the way out, a snapshot of data that changed since the last one, given at most `ms`. */
async function snapshotAtExit(snapshots: Promise<SnapshotService>, ms: number, log: Logger): Promise<void> {
  const service = await snapshots.catch(() => undefined);
  if (!service) return;
  service.stop();
  if (!service.changed) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      log.warn('snapshot.abandoned', { reason: 'exit', after_ms: ms, hint: 'raise SKYDUCK_SNAPSHOT_EXIT_TIMEOUT' });
      resolve();
    }, ms);
  });
  await Promise.race([service.take('exit').then(() => undefined, () => undefined), timeout]);
  clearTimeout(timer);
}

/** The name of the file the first admin key is left in when no terminal shows it. */
export const INITIAL_ADMIN_KEY_FILE = 'initial-admin-key';

/**
 * The first start on a fresh data dir made an admin key. On a terminal (the laptop flow) it is printed
 * once; otherwise stdout is a log, where a key must never go, so it is left in a 0600 file to collect.
 */
function announceAdminKey(key: string, dataDir: string): void {
  if (process.stdout.isTTY) {
    console.log(`admin key (shown once; create more with \`skyduck keys create\`): ${key}`);
    return;
  }
  const file = path.join(dataDir, INITIAL_ADMIN_KEY_FILE);
  fs.writeFileSync(file, `${key}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600); // a stale file from an earlier data dir keeps its mode otherwise
  console.log(`skyduck: created the first admin key in ${file}: read it, keep it safe, then delete the file`);
}

export async function serve(config: Config, fail: (error: unknown) => never): Promise<void> {
  // The key file exists before the listening line: whoever waits for the line can read it.
  const server = await startServer(config, fail, (key) => announceAdminKey(key, config.dataDir));
  console.log(`${buildInfo.binary} ${buildInfo.version} listening on ${server.url}`);
  for (const warning of config.warnings) console.error(`skyduck: ${warning}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`skyduck: ${signal}: finishing in-flight requests`);
    server.stop().then(() => process.exit(0), fail);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
