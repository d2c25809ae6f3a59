// npm run bench:query: query latency, throughput and streaming of the sealed skyduck-local (a copy of
// dist/skyduck-local taken at the start, so a rebuild during the run changes nothing) over HTTP on
// loopback, side by side with the same statements run in-process through @duckdb/node-api in the same run.
//
//   1. `select 42` and a GROUP BY over 10M rows, driven by autocannon with 1 connection (latency) and 4
//      (throughput) for BENCH_SECONDS each (default 10). Each HTTP run is followed at once by the same
//      statement in-process, so the two are measured back to back under the same machine conditions.
//   2. `select * from events` streamed as NDJSON, 10M rows and 1M rows: MB/s and the server's peak RSS
//      (VmHWM of a server process started for that one stream), and the same rows read in-process.
//
// The in-process baseline is a separate Node process (this file run with --baseline), on its own copy of
// the data made by the same SQL: it has its own heap, event loop and DuckDB threads, and runs while the
// server is idle, so neither side's garbage, audit flushes or DuckDB workers fall into the other's figures.
// It also runs skyduck's own query pipeline (src/engine/pipeline.ts, without HTTP or audit) to split the
// overhead into engine pipeline and HTTP.
//
// Each scenario runs BENCH_ROUNDS times (default 3), HTTP and in-process interleaved, each run after the
// machine is quiet; the figures are medians over the rounds, and every run records how much CPU other
// processes used meanwhile (the machine may be shared).
//
// Latency percentiles come from every response's own time (autocannon's 'response' event, float ms):
// autocannon's histogram records whole milliseconds, too coarse for a sub-millisecond overhead.
// Writes bench/results/query.json.
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './startup.ts';
// @ts-expect-error autocannon 9 ships no type declarations; the part used here is typed below.
import untypedAutocannon from 'autocannon';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const results = path.join(root, 'bench', 'results');
const built = path.join(root, 'dist', 'skyduck-local');
/** The copy of dist/skyduck-local this run measures: a rebuild during the run cannot swap it. */
let exe = built;

const ROWS = 10_000_000;
const SMALL_ROWS = 1_000_000;
const CREATE = `create table events as select range id, range % 1000 as k, random() as v from range(${ROWS})`;
const STATEMENTS = { select42: 'select 42', groupBy: 'select k, sum(v), count(*) from events group by k' } as const;
const STREAM_10M = 'select * from events';
const STREAM_1M = `select * from events limit ${SMALL_ROWS}`;
const THROUGHPUT_CONNECTIONS = 4;

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
/** Every scenario runs this many times, the layers interleaved; the figures are the medians over the rounds. */
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const warmupSeconds = Math.min(2, Math.max(0.5, seconds / 5));

// ---------------------------------------------------------------------------------------------------
// Shared: latency summaries.

interface Latency {
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  requests: number;
  requests_per_s: number;
  /** CPU time (user + system, all threads) of the process answering, per request: the server's, or the baseline's. */
  cpu_ms_per_request?: number;
  /** HTTP only: CPU time of the load generator (autocannon, in this process) per request. */
  client_cpu_ms_per_request?: number;
  /** CPU used by processes other than the ones measured, in % of all cores: a disturbed run shows here. */
  other_cpu_percent?: number;
}

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

/**
 * Waits (up to 30 s) until the machine is quiet, below 10% of its cores busy over half a second, before a
 * measured run: on a shared machine another job's burst would otherwise land in one side's figures only.
 */
async function quiet(): Promise<void> {
  const cores = os.cpus().length;
  const deadline = performance.now() + 30_000;
  for (;;) {
    const busy = machineBusyMs();
    await new Promise((resolve) => setTimeout(resolve, 500));
    if ((machineBusyMs() - busy) / (500 * cores) < 0.1 || performance.now() > deadline) return;
  }
}

const otherCpuPercent = (busyMs: number, ownMs: number, elapsedSeconds: number) =>
  Math.max(0, (100 * (busyMs - ownMs)) / (elapsedSeconds * 1000 * os.cpus().length));

/** Nearest-rank percentile of sorted samples. */
const percentile = (sorted: number[], p: number): number => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;

function summarize(samples: number[], elapsedSeconds: number): Latency {
  if (samples.length === 0) throw new Error('no sample was taken');
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
    mean_ms: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
    requests: sorted.length,
    requests_per_s: sorted.length / elapsedSeconds,
  };
}

// ---------------------------------------------------------------------------------------------------
// The in-process baseline (child process).

type BaselineRequest =
  | { op: 'open'; file: string }
  | { op: 'create' }
  | { op: 'reopen' }
  | { op: 'latency'; layer: 'duckdb' | 'pipeline'; sql: string; connections: number; seconds: number; warmup: number }
  | { op: 'stream'; layer: StreamLayer; sql: string }
  | { op: 'close' };

/** fetch: DuckDB producing chunks; values: and the binding making JS values of them; encode: skyduck's pipeline and NDJSON encoder. */
type StreamLayer = 'fetch' | 'values' | 'encode';

interface StreamBaseline {
  rows: number;
  bytes: number;
  seconds: number;
  rows_per_s: number;
  other_cpu_percent: number;
}

const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

async function baselineChild(): Promise<void> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const { ConnectionPool } = await import('../src/engine/pool.ts');
  const { QueryPipeline } = await import('../src/engine/pipeline.ts');
  type Instance = Awaited<ReturnType<typeof DuckDBInstance.create>>;
  let file = '';
  let instance: Instance | undefined;
  const principal = { keyId: 'bench', agent: 'bench', scope: 'read' as const };
  // The server's default limits; no audit (the ledger is the server's, its cost shows in the HTTP figures).
  const limits = { queryTimeout: 600_000, maxResultRows: 100_000, maxResultBytes: 64 * 1024 * 1024 };

  async function loop(run: () => Promise<void>, connections: number, forSeconds: number, samples?: number[]): Promise<number> {
    const started = performance.now();
    const deadline = started + forSeconds * 1000;
    await Promise.all(Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await run();
        samples?.push(performance.now() - t0);
      }
    }));
    return (performance.now() - started) / 1000;
  }

  const handlers = {
    open: async (request: Extract<BaselineRequest, { op: 'open' }>) => {
      file = request.file;
      instance = await DuckDBInstance.create(file);
      return {};
    },
    reopen: async () => {
      instance!.closeSync();
      instance = await DuckDBInstance.create(file);
      return {};
    },
    create: async () => {
      const connection = await instance!.connect();
      const started = performance.now();
      await connection.run(CREATE);
      const ms = performance.now() - started;
      connection.closeSync();
      return { ms };
    },
    latency: async (request: Extract<BaselineRequest, { op: 'latency' }>) => {
      const connections = await Promise.all(Array.from({ length: request.connections }, () => instance!.connect()));
      const pool = new ConnectionPool(instance!, 16);
      const pipeline = new QueryPipeline({ pool, limits, audit: () => undefined });
      // One client per connection: each worker of the loop takes the next connection in turn.
      let next = 0;
      const run = request.layer === 'duckdb'
        ? async () => {
          const connection = connections[next++ % connections.length]!;
          (await connection.runAndReadAll(request.sql)).getRowsJson();
        }
        : async () => {
          const response = await pipeline.run(principal, { sql: request.sql, format: 'json' });
          if (response.kind !== 'json') throw new Error('expected a JSON result');
          JSON.stringify(response.body); // what c.json does with it
        };
      await loop(run, request.connections, request.warmup);
      const samples: number[] = [];
      const cpu = process.cpuUsage();
      const busy = machineBusyMs();
      const elapsed = await loop(run, request.connections, request.seconds, samples);
      const ownMs = cpuMs(cpu);
      const other = otherCpuPercent(machineBusyMs() - busy, ownMs, elapsed);
      const cpuPerRequest = ownMs / samples.length;
      for (const connection of connections) connection.closeSync();
      pool.close();
      return { ...summarize(samples, elapsed), cpu_ms_per_request: cpuPerRequest, other_cpu_percent: other };
    },
    stream: async (request: Extract<BaselineRequest, { op: 'stream' }>): Promise<StreamBaseline> => {
      const connection = await instance!.connect();
      const cpu = process.cpuUsage();
      const busy = machineBusyMs();
      const started = performance.now();
      const result = request.layer === 'encode' ? undefined : await connection.stream(request.sql);
      let rows = 0;
      let bytes = 0;
      if (request.layer !== 'encode') {
        const values = request.layer === 'values';
        for (let chunk = await result!.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result!.fetchChunk()) {
          if (values) chunk.getRows();
          rows += chunk.rowCount;
        }
      } else {
        // skyduck's own query pipeline and NDJSON encoder, drained in-process: everything but HTTP and audit.
        const pool = new ConnectionPool(instance!, 16);
        const response = await new QueryPipeline({ pool, limits, audit: () => undefined }).run(principal, { sql: request.sql, format: 'ndjson' });
        if (response.kind !== 'stream') throw new Error('expected a stream');
        let last: Buffer = Buffer.alloc(0);
        for await (const part of response.body) {
          const chunk = Buffer.from(part.buffer, part.byteOffset, part.byteLength);
          bytes += chunk.length;
          for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) rows++;
          last = chunk;
        }
        while (pool.active > 0) await new Promise((resolve) => setTimeout(resolve, 1)); // the lease goes back after COMMIT
        pool.close();
        if (last.toString('utf8').trimEnd().split('\n').pop()?.startsWith('{"error"')) throw new Error(`the stream failed: ${last.toString('utf8').slice(-300)}`);
      }
      const elapsed = (performance.now() - started) / 1000;
      const other = otherCpuPercent(machineBusyMs() - busy, cpuMs(cpu), elapsed);
      connection.closeSync();
      return { rows, bytes, seconds: elapsed, rows_per_s: rows / elapsed, other_cpu_percent: other };
    },
    close: async () => {
      instance?.closeSync();
      return {};
    },
  };

  process.on('message', (request: BaselineRequest) => {
    (handlers[request.op] as (r: BaselineRequest) => Promise<unknown>)(request).then(
      (value) => process.send!({ ok: true, value }),
      (error: Error) => process.send!({ ok: false, error: error.stack ?? String(error) }),
    );
  });
  process.send!({ ok: true, value: 'ready' });
}

class Baseline {
  private readonly child: ChildProcess;
  private readonly ready: Promise<unknown>;
  private pending: { resolve(value: unknown): void; reject(error: Error): void } | undefined;

  constructor() {
    this.child = fork(fileURLToPath(import.meta.url), ['--baseline'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.ready = new Promise((resolve, reject) => (this.pending = { resolve, reject }));
    this.child.on('message', (message: { ok: boolean; value?: unknown; error?: string }) => {
      const pending = this.pending;
      this.pending = undefined;
      if (message.ok) pending?.resolve(message.value);
      else pending?.reject(new Error(`in-process baseline: ${message.error}`));
    });
    this.child.on('exit', (code) => this.pending?.reject(new Error(`the in-process baseline exited (${code})`)));
  }

  async call<T>(request: BaselineRequest): Promise<T> {
    await this.ready;
    return new Promise<T>((resolve, reject) => {
      this.pending = { resolve: resolve as (value: unknown) => void, reject };
      this.child.send(request);
    });
  }

  async close(): Promise<void> {
    await this.call({ op: 'close' });
    this.child.disconnect();
    await new Promise((resolve) => (this.child.exitCode === null ? this.child.once('exit', resolve) : resolve(undefined)));
  }
}

// ---------------------------------------------------------------------------------------------------
// The sealed server.

interface Server {
  url: string;
  pid: number;
  stop(): Promise<void>;
  /** What the data dir holds and what the server said on stderr: for failure messages. */
  describe(): string;
}

function serverEnv(dataDir: string, nativeCache: string): Record<string, string> {
  return {
    SKYDUCK_LISTEN: '127.0.0.1:0',
    SKYDUCK_DATA_DIR: dataDir,
    SKYDUCK_NATIVE_CACHE: nativeCache,
    // The timeout runs until a stream's last row is sent; the default (60 s) could cut the 10M-row stream.
    SKYDUCK_QUERY_TIMEOUT: '10m',
  };
}

function createKey(env: Record<string, string>, scope: 'read' | 'write'): string {
  const key = execFileSync(exe, ['keys', 'create', '--scope', scope, '--agent', `bench-${scope}`], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  if (!/^sk_\S+$/.test(key)) throw new Error(`${exe} keys create printed no key`);
  return key;
}

function startServer(env: Record<string, string>): Promise<Server> {
  const child = spawn(exe, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise<Server>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${exe} serve did not print its listening line within 30 s: ${stdout}${stderr}`));
    }, 30_000);
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        const dataDir = env.SKYDUCK_DATA_DIR!;
        const describe = () => {
          const listing = fs.existsSync(dataDir) ? fs.readdirSync(dataDir).join(', ') : 'is gone';
          return `data dir ${dataDir}: ${listing}; server stderr: ${stderr.slice(-1000) || '(none)'}`;
        };
        resolve({ url: match[1]!, pid: child.pid!, stop, describe });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${exe} serve exited (${code}) before listening: ${stderr}`));
    });
  });
}

function procStatusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

/** One POST /v1/query answered with JSON; throws unless 200. */
async function queryJson(server: Server, key: string, sql: string): Promise<{ rows: unknown[][] }> {
  const response = await fetch(`${server.url}/v1/query`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sql }),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${sql}: HTTP ${response.status}: ${text}; ${server.describe()}`);
  return JSON.parse(text) as { rows: unknown[][] };
}

// ---------------------------------------------------------------------------------------------------
// HTTP load with autocannon.

interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  resets: number;
  statusCodeStats: Record<string, { count: number }>;
}
interface AutocannonInstance extends PromiseLike<AutocannonResult> {
  on(event: 'response', listener: (client: unknown, statusCode: number, bytes: number, responseTimeMs: number) => void): this;
}
const autocannon = untypedAutocannon as (options: Record<string, unknown>) => AutocannonInstance;

/** utime + stime of every thread of a process, in ms (clock-tick resolution). */
function processCpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / CLK_TCK) * 1000;
}

async function cannon(server: Server, key: string, sql: string, connections: number, forSeconds: number): Promise<Latency> {
  const samples: number[] = [];
  const serverCpu = processCpuMs(server.pid);
  const clientCpu = process.cpuUsage();
  const busy = machineBusyMs();
  const instance = autocannon({
    url: `${server.url}/v1/query`,
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sql }),
    connections,
    pipelining: 1,
    duration: forSeconds,
  });
  instance.on('response', (_client, statusCode, _bytes, ms) => {
    if (statusCode >= 200 && statusCode < 300) samples.push(ms);
  });
  const result = await instance;
  const serverCpuMs = processCpuMs(server.pid) - serverCpu;
  const clientCpuMs = cpuMs(clientCpu);
  const other = otherCpuPercent(machineBusyMs() - busy, serverCpuMs + clientCpuMs, result.duration);
  const failed = result.non2xx + result.errors + result.timeouts + result.resets;
  if (failed > 0) {
    // One more request, to show what the server says.
    const probe = await fetch(`${server.url}/v1/query`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ sql }),
    }).then(async (response) => `${response.status} ${(await response.text()).slice(0, 300)}`, (error: Error) => error.message);
    throw new Error(`${sql} with ${connections} connection(s): ${result.non2xx} non-2xx, ${result.errors} errors, ` +
      `${result.timeouts} timeouts, ${result.resets} resets (status codes ${JSON.stringify(result.statusCodeStats)}); ` +
      `one more request now: ${probe}; ${server.describe()}`);
  }
  return {
    ...summarize(samples, result.duration),
    cpu_ms_per_request: serverCpuMs / samples.length,
    client_cpu_ms_per_request: clientCpuMs / samples.length,
    other_cpu_percent: other,
  };
}

// ---------------------------------------------------------------------------------------------------
// Streaming.

interface StreamRun {
  rows: number;
  bytes: number;
  seconds: number;
  mb_per_s: number;
  rows_per_s: number;
  /** VmRSS right before the stream (after start-up and one select 42). */
  rss_before_mib: number;
  /** VmHWM after the stream: the server process's peak RSS over its life (it was started for this stream). */
  peak_rss_mib: number;
  /** VmRSS sampled every 100 ms during the stream. */
  rss_samples_mib: number[];
  other_cpu_percent: number;
}

function streamNdjson(server: Server, key: string, sql: string, expectedRows: number): Promise<Omit<StreamRun, 'rss_before_mib' | 'peak_rss_mib' | 'rss_samples_mib' | 'other_cpu_percent'>> {
  const url = new URL(`${server.url}/v1/query`);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = http.request({
      host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent: false,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/x-ndjson' },
    }, (response) => {
      let bytes = 0;
      let rows = 0;
      let tail: Buffer = Buffer.alloc(0);
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) rows++;
        tail = chunk.length >= 512 ? chunk.subarray(chunk.length - 512) : Buffer.concat([tail, chunk]).subarray(-512);
      });
      response.on('error', reject);
      response.on('end', () => {
        const elapsed = (performance.now() - started) / 1000;
        const last = tail.toString('utf8').trimEnd().split('\n').pop() ?? '';
        if (response.statusCode !== 200) return reject(new Error(`${sql}: HTTP ${response.statusCode}: ${tail.toString('utf8')}`));
        if (last.startsWith('{"error"')) return reject(new Error(`${sql}: the stream ended with ${last}`));
        if (rows !== expectedRows) return reject(new Error(`${sql}: ${rows} rows streamed, expected ${expectedRows}`));
        resolve({ rows, bytes, seconds: elapsed, mb_per_s: bytes / 1e6 / elapsed, rows_per_s: rows / elapsed });
      });
    });
    request.on('error', reject);
    request.end(JSON.stringify({ sql }));
  });
}

/** Starts a fresh server process on the data dir, streams `sql` once and reads its peak RSS. */
async function measuredStream(env: Record<string, string>, key: string, sql: string, expectedRows: number): Promise<StreamRun> {
  const server = await startServer(env);
  try {
    await queryJson(server, key, 'select 42'); // the database is open and the query path loaded
    const before = procStatusKiB(server.pid, 'VmRSS');
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(Math.round(procStatusKiB(server.pid, 'VmRSS') / 1024)), 100);
    try {
      const serverCpu = processCpuMs(server.pid);
      const clientCpu = process.cpuUsage();
      const busy = machineBusyMs();
      const run = await streamNdjson(server, key, sql, expectedRows).catch((error: Error) => {
        throw new Error(`${error.message}; ${server.describe()}`);
      });
      const other = otherCpuPercent(machineBusyMs() - busy, processCpuMs(server.pid) - serverCpu + cpuMs(clientCpu), run.seconds);
      return { ...run, rss_before_mib: before / 1024, peak_rss_mib: procStatusKiB(server.pid, 'VmHWM') / 1024, rss_samples_mib: samples, other_cpu_percent: other };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------------

const STREAM_LAYERS: Record<StreamLayer, string> = { fetch: 'DuckDB fetchChunk', values: 'fetchChunk + getRows', encode: 'skyduck pipeline + NDJSON encoder' };
/** The median of each numeric field over the runs; other fields are the first run's. */
function medianRecord<T extends object>(runs: T[]): T {
  const fields = Object.keys(runs[0]!) as (keyof T)[];
  return Object.fromEntries(fields.map((field) => {
    const values = runs.map((run) => run[field]).filter((value): value is T[keyof T] & number => typeof value === 'number');
    return [field, values.length ? median(values) : runs[0]![field]];
  })) as T;
}

const ms = (value: number) => value.toFixed(value < 10 ? 3 : 1);
const ratio = (value: number) => `${value.toFixed(2)}x`;

async function main(): Promise<void> {
  if (!fs.existsSync(built)) throw new Error(`${built} is missing: build it with node build/build.ts --variant local-only`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skyduck-bench-query-'));
  exe = path.join(tmp, 'skyduck-local');
  fs.copyFileSync(built, exe);
  fs.chmodSync(exe, 0o755);
  const binary = {
    path: path.relative(root, built),
    bytes: fs.statSync(exe).size,
    mtime: fs.statSync(built).mtime.toISOString(),
    sha256: createHash('sha256').update(fs.readFileSync(exe)).digest('hex'),
    commit: (() => {
      try {
        return execFileSync('git', ['describe', '--always', '--dirty'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      } catch {
        return undefined;
      }
    })(),
  };
  const dataDir = path.join(tmp, 'data');
  fs.mkdirSync(dataDir, { mode: 0o700 });
  const env = serverEnv(dataDir, path.join(tmp, 'native-cache'));
  const readKey = createKey(env, 'read');
  const writeKey = createKey(env, 'write');
  const baseline = new Baseline();
  let server: Server | undefined;
  try {
    console.log(`creating the ${ROWS / 1e6}M-row table in the server and in the in-process baseline...`);
    server = await startServer(env);
    let started = performance.now();
    await queryJson(server, writeKey, CREATE);
    const serverCreateMs = performance.now() - started;
    const [[count]] = (await queryJson(server, readKey, 'select count(*) from events')).rows as [[string]];
    if (Number(count) !== ROWS) throw new Error(`events holds ${count} rows, expected ${ROWS}`);
    await baseline.call({ op: 'open', file: path.join(tmp, 'baseline.duckdb') });
    const { ms: baselineCreateMs } = await baseline.call<{ ms: number }>({ op: 'create' });

    // HTTP and in-process back to back, per statement and connection count.
    const scenarios = [
      { name: 'select 42', sql: STATEMENTS.select42, connections: 1 },
      { name: 'select 42', sql: STATEMENTS.select42, connections: THROUGHPUT_CONNECTIONS },
      { name: 'group by over 10M rows', sql: STATEMENTS.groupBy, connections: 1 },
      { name: 'group by over 10M rows', sql: STATEMENTS.groupBy, connections: THROUGHPUT_CONNECTIONS },
    ];
    type Layers = { http: Latency; pipeline_in_process: Latency; duckdb_in_process: Latency };
    const perRound: Layers[][] = scenarios.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (const [index, scenario] of scenarios.entries()) {
        process.stdout.write(`round ${round + 1}/${rounds}: ${scenario.name}, ${scenario.connections} connection(s): http`);
        await quiet();
        await cannon(server, readKey, scenario.sql, scenario.connections, warmupSeconds);
        const httpRun = await cannon(server, readKey, scenario.sql, scenario.connections, seconds);
        process.stdout.write(', skyduck pipeline in-process');
        const layer = async (name: 'duckdb' | 'pipeline') =>
          (await quiet(), baseline.call<Latency>({ op: 'latency', layer: name, sql: scenario.sql, connections: scenario.connections, seconds, warmup: warmupSeconds }));
        const pipelineRun = await layer('pipeline');
        process.stdout.write(', @duckdb/node-api in-process\n');
        const duckdbRun = await layer('duckdb');
        perRound[index]!.push({ http: httpRun, pipeline_in_process: pipelineRun, duckdb_in_process: duckdbRun });
      }
    }
    const latencyRows = scenarios.map((scenario, index) => {
      const runs = perRound[index]!;
      return {
        statement: scenario.name, sql: scenario.sql, connections: scenario.connections,
        http: medianRecord(runs.map((run) => run.http)),
        pipeline_in_process: medianRecord(runs.map((run) => run.pipeline_in_process)),
        duckdb_in_process: medianRecord(runs.map((run) => run.duckdb_in_process)),
        rounds: runs,
      };
    });
    await server.stop();
    server = undefined;

    // Streams: a fresh server process for each, so VmHWM is that stream's peak alone; in-process, a
    // reopened database for each, so both start from a cold buffer pool. Medians over the rounds.
    const httpStreams: Record<'1M' | '10M', StreamRun[]> = { '1M': [], '10M': [] };
    const inProcessStreams: Record<string, StreamBaseline[]> = {};
    for (let round = 0; round < rounds; round++) {
      console.log(`round ${round + 1}/${rounds}: streaming NDJSON over HTTP (a fresh server per stream), then in-process`);
      for (const [label, sql, expected] of [['1M', STREAM_1M, SMALL_ROWS], ['10M', STREAM_10M, ROWS]] as const) {
        await quiet();
        httpStreams[label].push(await measuredStream(env, readKey, sql, expected));
        for (const layer of ['fetch', 'values', 'encode'] as const) {
          await baseline.call({ op: 'reopen' });
          await quiet();
          (inProcessStreams[`${label} ${layer}`] ??= []).push(await baseline.call<StreamBaseline>({ op: 'stream', layer, sql }));
        }
      }
    }
    // (rss_samples_mib, not a number, is the first round's.)
    const stream1M = medianRecord(httpStreams['1M']);
    const stream10M = medianRecord(httpStreams['10M']);
    const streamBaselines = Object.fromEntries(Object.entries(inProcessStreams).map(([label, runs]) => [label, medianRecord(runs)]));

    // Figures, ratios, targets.
    const row = (statement: string, connections: number) => latencyRows.find((r) => r.statement === statement && r.connections === connections)!;
    const s42 = row('select 42', 1);
    const s42n = row('select 42', THROUGHPUT_CONNECTIONS);
    const gb = row('group by over 10M rows', 1);
    const gbn = row('group by over 10M rows', THROUGHPUT_CONNECTIONS);
    const overhead = {
      select42_p50_ms: s42.http.p50_ms - s42.duckdb_in_process.p50_ms,
      select42_p99_ms: s42.http.p99_ms - s42.duckdb_in_process.p99_ms,
      select42_p50_pipeline_ms: s42.pipeline_in_process.p50_ms - s42.duckdb_in_process.p50_ms,
      select42_p50_http_layer_ms: s42.http.p50_ms - s42.pipeline_in_process.p50_ms,
    };
    const ratios = {
      select42_rps_http_vs_in_process: s42n.http.requests_per_s / s42n.duckdb_in_process.requests_per_s,
      group_by_p50_http_vs_in_process: gb.http.p50_ms / gb.duckdb_in_process.p50_ms,
      group_by_p99_http_vs_in_process: gb.http.p99_ms / gb.duckdb_in_process.p99_ms,
      group_by_rps_http_vs_in_process: gbn.http.requests_per_s / gbn.duckdb_in_process.requests_per_s,
      stream_peak_rss_10m_vs_1m: stream10M.peak_rss_mib / stream1M.peak_rss_mib,
      stream_10m_rows_per_s_http_vs_encode_in_process: stream10M.rows_per_s / streamBaselines['10M encode']!.rows_per_s,
      stream_10m_rows_per_s_http_vs_duckdb_values_in_process: stream10M.rows_per_s / streamBaselines['10M values']!.rows_per_s,
    };
    const targets = {
      'HTTP overhead for select 42 p50 <= 1 ms': overhead.select42_p50_ms <= 1,
      'peak RSS of the 10M-row stream <= 1.10x the 1M-row stream': ratios.stream_peak_rss_10m_vs_1m <= 1.1,
    };
    const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, memory_gib: os.totalmem() / 2 ** 30, node: process.versions.node, date: new Date().toISOString() };
    const report = {
      machine, binary, seconds_per_run: seconds, warmup_seconds: warmupSeconds, rounds,
      figures: 'latency figures are medians over the rounds of each run\'s own p50/p99/req/s; every round is under latency[].rounds',
      baseline: 'a separate Node process (@duckdb/node-api, same Node binary) on its own copy of the table, run back to back with each HTTP run while the server is idle',
      create_10m_rows_ms: { http: serverCreateMs, in_process: baselineCreateMs },
      latency: latencyRows, overhead,
      streams: { '1M': stream1M, '10M': stream10M, in_process: streamBaselines, rounds: { http: httpStreams, in_process: inProcessStreams } },
      ratios, targets,
    };
    fs.mkdirSync(results, { recursive: true });
    fs.writeFileSync(path.join(results, 'query.json'), `${JSON.stringify(report, null, 2)}\n`);

    const cell = (l: Latency) => `${ms(l.p50_ms)} | ${ms(l.p99_ms)} | ${l.requests_per_s.toFixed(0)}`;
    const mib = (value: number) => value.toFixed(0);
    const table = [
      `# Query benchmark (${machine.date}, ${machine.cpus} cores, Node ${machine.node}, ${seconds} s per run, medians of ${rounds} rounds)`,
      '',
      '| statement | conns | HTTP p50 ms | p99 | req/s | pipeline in-proc p50 | p99 | req/s | @duckdb/node-api p50 | p99 | req/s |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...latencyRows.map((r) => `| ${r.statement} | ${r.connections} | ${cell(r.http)} | ${cell(r.pipeline_in_process)} | ${cell(r.duckdb_in_process)} |`),
      '',
      '| statement | conns | skyduck server CPU ms/req | autocannon CPU ms/req | pipeline in-proc CPU ms/req | @duckdb/node-api CPU ms/req | other processes\' CPU % (http / pipeline / node-api) |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...latencyRows.map((r) => `| ${r.statement} | ${r.connections} | ${ms(r.http.cpu_ms_per_request!)} | ${ms(r.http.client_cpu_ms_per_request!)} | ${ms(r.pipeline_in_process.cpu_ms_per_request!)} | ${ms(r.duckdb_in_process.cpu_ms_per_request!)} | ${[r.http, r.pipeline_in_process, r.duckdb_in_process].map((l) => l.other_cpu_percent!.toFixed(1)).join(' / ')} |`),
      '',
      '| NDJSON stream | rows | MB | s | MB/s | rows/s | RSS before MiB | peak RSS MiB | other CPU % |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...([['select * (1M rows)', stream1M], ['select * (10M rows)', stream10M]] as const).map(([label, s]) =>
        `| ${label} | ${s.rows} | ${(s.bytes / 1e6).toFixed(0)} | ${s.seconds.toFixed(2)} | ${s.mb_per_s.toFixed(1)} | ${s.rows_per_s.toFixed(0)} | ${mib(s.rss_before_mib)} | ${mib(s.peak_rss_mib)} | ${s.other_cpu_percent.toFixed(1)} |`),
      ...Object.entries(streamBaselines).map(([label, s]) =>
        `| in-process ${STREAM_LAYERS[label.split(' ')[1] as StreamLayer]} (${label.split(' ')[0]} rows) | ${s.rows} | ${s.bytes ? (s.bytes / 1e6).toFixed(0) : ''} | ${s.seconds.toFixed(2)} | ${s.bytes ? (s.bytes / 1e6 / s.seconds).toFixed(1) : ''} | ${s.rows_per_s.toFixed(0)} | | | ${s.other_cpu_percent.toFixed(1)} |`),
      '',
      `- HTTP overhead select 42 p50: ${ms(overhead.select42_p50_ms)} ms (pipeline ${ms(overhead.select42_p50_pipeline_ms)} ms + HTTP/Hono/auth/audit ${ms(overhead.select42_p50_http_layer_ms)} ms); p99: ${ms(overhead.select42_p99_ms)} ms`,
      ...Object.entries(ratios).map(([k, v]) => `- ${k}: ${ratio(v)}`),
      ...Object.entries(targets).map(([k, v]) => `- target ${k}: ${v ? 'met' : 'NOT met'}`),
    ].join('\n');
    console.log(`\n${table}`);
  } finally {
    await server?.stop();
    await baseline.close().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv.includes('--baseline')) {
  baselineChild().catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
