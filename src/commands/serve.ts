// `skyduck serve`. Start-up is ordered for the first answer: DuckDB's native files are prepared and the
// database opened on the thread pool while the main thread loads the HTTP stack and starts listening.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildInfo } from '../build-info.ts';
import { assertCompiled, loadCloud } from '../cloud/index.ts';
import type { Config } from '../config/config.ts';
import type { Database } from '../engine/database.ts';
import { StartupError, ensureWritableDir } from '../fs-checks.ts';
import { versionFacts } from '../info.ts';
import { nativeCacheSaved, prepareNative } from '../native/binding.ts';
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
  /** Stops accepting, finishes in-flight requests (bounded), closes DuckDB. */
  stop(): Promise<void>;
}

/** Starts the HTTP API on config.listen; `fail` ends the process if the database cannot open. */
export async function startServer(config: Config, fail: (error: unknown) => never): Promise<RunningServer> {
  assertCompiled(config.cloud);
  ensureWritableDir(config.dataDir, 'SKYDUCK_DATA_DIR');

  mark('serve');
  const database: Promise<Database> = prepareNative(config.nativeCache)
    .then(() => mark('native files ready'))
    .then(() => import('../engine/database.ts'))
    .then(({ Database }) => (mark('duckdb loaded'), Database.open(config.dataDir)))
    .then((db) => (mark('database open'), db));
  database.catch(fail);
  // A fresh native extraction is saved in the background; failing to save only costs the next start.
  const nativeSaved = database
    .then(() => nativeCacheSaved())
    .catch((error: Error) => console.error(`skyduck: ${error.message}; the next start extracts again`));

  const [{ createApp }, { createAdaptorServer }] = await Promise.all([
    import('../api/app.ts'),
    import('@hono/node-server'),
  ]);
  mark('http stack loaded');

  // Opening the selected cloud's storage client at start makes a bundling or configuration fault show
  // at once, not at the first snapshot. It makes no request: `skyduck doctor` is the reachability check.
  const cloud = await loadCloud(config.cloud);
  cloud.createStorage(config);

  const app = createApp({
    engine: { query: async (sql) => (await database).query(sql) },
    info: () => ({ ...versionFacts(), provider: config.cloud, sdk: cloud.sdkPackages }),
    logError: (error) => console.error(`skyduck: request failed: ${(error as Error)?.stack ?? String(error)}`),
  });

  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
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
      database.then((db) => db.close()).then(() => nativeSaved).then(() => resolve(), reject);
    });
    server.closeIdleConnections();
  });
  return { url: `http://${host}:${port}`, stop };
}

export async function serve(config: Config, fail: (error: unknown) => never): Promise<void> {
  const server = await startServer(config, fail);
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
