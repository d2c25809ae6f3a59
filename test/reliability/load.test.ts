// Load: 64 concurrent clients against the sealed skyduck-local on loopback for SKYDUCK_LOAD_SECONDS (default
// 60) seconds, mixing reads (count, GROUP BY, a client's rows as JSON with params and as NDJSON), ingests
// (POST /v1/tables/events with small CSV and NDJSON batches), INSERTs through /v1/query with params, and a
// snapshot every ~5 s. Every write carries ids unique per client and sequence number, so the end state can be
// checked row by row: an acknowledged (2xx) write is there exactly once, a refused (4xx) one is not, a write
// whose outcome the client never learned is there whole or not at all, and nothing else is there. Some writes
// are deliberately bad (a short CSV row, a cut NDJSON line, a value that is not a number) to prove a 4xx
// leaves nothing behind. Also: no 5xx (429 is counted and retried after Retry-After), the server's RSS
// sampled every 500 ms stays under RSS_BOUND_MIB, `audit verify` passes on the stopped data dir, and the
// snapshots restore into empty data dirs with every row acknowledged before they were taken.
// Figures (requests, p50/p99 per kind, 429s, peak RSS, rows) are printed and written to bench/results/load.json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as wait } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KindStats, procCpuMs, procStatusBytes, sampleRss, textTable } from '../support/load.ts';
import { isolate, root, type Running, runToEnd, serve, tempDir, terminate } from '../support/process.ts';

const SECONDS = Number(process.env.SKYDUCK_LOAD_SECONDS ?? 60);
if (!(SECONDS > 0)) throw new Error(`SKYDUCK_LOAD_SECONDS must be a positive number of seconds, got ${process.env.SKYDUCK_LOAD_SECONDS}`);
const CLIENTS = 64;
const READ_AGENTS = 4;
const WRITE_AGENTS = 4;
const SNAPSHOT_EVERY_MS = 5_000;
/** The server's resident memory must stay under this for the whole run (sampled, and the kernel's VmHWM). */
const RSS_BOUND_MIB = 1536;
/** A request not answered in this time counts as "no answer": for a write, an unknown outcome. */
const REQUEST_TIMEOUT_MS = 30_000;
const SNAPSHOT_TIMEOUT_MS = 120_000;
/** A request refused with 429 this many times in a row is given up (and for a write, counts as refused). */
const MAX_429_RETRIES = 60;
/** Share of writes sent deliberately bad, which must be refused with a 4xx and leave no row. */
const BAD_WRITE_SHARE = 0.03;

const exe = isolate('skyduck-local');
const native = tempDir('load-native');
const store = tempDir('load-store');
const keyDir = tempDir('load-key');
const dataDirOf = (name: string) => path.join(tempDir(`load-${name}`), 'data');
const envFor = (dataDir: string): Record<string, string> => ({
  SKYDUCK_DATA_DIR: dataDir,
  SKYDUCK_NATIVE_CACHE: native,
  SKYDUCK_STORAGE_BUCKET: store,
  SKYDUCK_KMS_KEY: path.join(keyDir, 'store.key'),
});
const env = envFor(dataDirOf('data'));

type ReadKind = 'read_count' | 'read_group' | 'read_client_json' | 'read_client_ndjson';
type WriteKind = 'ingest_csv' | 'ingest_ndjson' | 'insert';
type Kind = ReadKind | WriteKind | 'snapshot' | 'verify';
const KINDS: Kind[] = ['read_count', 'read_group', 'read_client_json', 'read_client_ndjson', 'ingest_csv', 'ingest_ndjson', 'insert', 'snapshot'];

/** Percent of a client's requests per kind. */
const MIX: [Exclude<Kind, 'snapshot' | 'verify'>, number][] = [
  ['read_count', 10], ['read_group', 15], ['read_client_json', 15], ['read_client_ndjson', 15],
  ['ingest_csv', 12], ['ingest_ndjson', 12], ['insert', 21],
];

interface WriteOp {
  kind: WriteKind;
  client: number;
  seq: number;
  ids: string[];
  /** Sent bad on purpose: must be refused. */
  bad: boolean;
  /** When the first attempt was sent (performance.now()). */
  firstSentAt: number;
  outcome: 'pending' | 'acked' | 'refused' | 'unknown';
  ackedAt?: number;
  status?: number;
  detail?: string;
}

interface SnapshotTaken {
  sentAt: number;
  answeredAt: number;
  status?: number;
  id?: string;
  ms?: number;
  written?: number;
  reused?: number;
  rows?: number;
}

interface Answer {
  status?: number;
  text: string;
  error?: string;
}

/** Per kind; 'verify' is the test's own set-up and end-state queries, kept out of the figures. */
const stats = new Map<Kind, KindStats>([...KINDS, 'verify' as const].map((kind) => [kind, new KindStats()]));
const ops: WriteOp[] = [];
const opOfId = new Map<string, WriteOp>();
const snapshots: SnapshotTaken[] = [];
/** Things the clients saw that must not happen; checked once the load is over (an expect() in a loop would stop it). */
const violations: string[] = [];
let ackedRows = 0;
const ackedRowsOfClient = new Array<number>(CLIENTS).fill(0);
let retryWaitMs = 0;

/**
 * One request, retried while it is refused with 429: the wait is the server's Retry-After plus a little
 * jitter so 64 clients do not come back in the same millisecond. Returns the last answer.
 */
async function send(kind: Kind, route: string, init: { method?: string; key: string; headers?: Record<string, string>; body?: string }, url: string, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Answer> {
  for (let attempt = 0; ; attempt++) {
    const started = performance.now();
    let answer: Answer;
    try {
      const response = await fetch(`${url}${route}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: { authorization: `Bearer ${init.key}`, ...init.headers },
        body: init.body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      answer = { status: response.status, text: await response.text() };
      if (response.status === 429 && attempt < MAX_429_RETRIES) {
        stats.get(kind)!.record(429, performance.now() - started);
        const seconds = Number(response.headers.get('retry-after'));
        if (!(seconds >= 0)) violations.push(`${kind}: 429 without a usable Retry-After (${response.headers.get('retry-after')})`);
        const pause = (seconds >= 0 ? seconds * 1000 : 1000) + Math.random() * 250;
        retryWaitMs += pause;
        // The client honours Retry-After, as the API asks: a paced retry, not a test waiting for a condition.
        await wait(pause);
        continue;
      }
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      answer = { text: '', error: `${(error as Error).name}: ${(error as Error).message}${cause ? ` (${cause.code ?? ''} ${cause.message ?? ''})` : ''}` };
    }
    stats.get(kind)!.record(answer.status, performance.now() - started);
    return answer;
  }
}

const json = (text: string): any => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

function readChecked(kind: ReadKind, answer: Answer, check: (text: string) => string | undefined): void {
  if (answer.status === 200) {
    const problem = check(answer.text);
    if (problem) violations.push(`${kind}: ${problem}`);
  } else if (answer.status !== undefined && answer.status !== 429) {
    violations.push(`${kind}: status ${answer.status}: ${answer.text.slice(0, 300)}`);
  }
}

const amount = () => Math.round(Math.random() * 100_000) / 100;
/** Text that needs CSV quoting and JSON escaping: commas, quotes, non-ASCII. */
const note = (client: number, seq: number, row: number) => `client ${client}, "batch" ${seq}/${row} ü 🦆`;
const csvField = (text: string) => `"${text.replaceAll('"', '""')}"`;

function newOp(kind: WriteKind, client: number, seq: number, rows: number, bad: boolean): WriteOp {
  const ids = Array.from({ length: rows }, (_, row) => `c${client}-s${seq}-r${row}`);
  const op: WriteOp = { kind, client, seq, ids, bad, firstSentAt: performance.now(), outcome: 'pending' };
  ops.push(op);
  for (const id of ids) opOfId.set(id, op);
  return op;
}

/** The outcome of a write: 2xx present, 4xx absent, anything else unknown. */
function settle(op: WriteOp, answer: Answer, rowsAdded: (body: any) => number | undefined): void {
  op.status = answer.status;
  if (answer.status !== undefined && answer.status >= 200 && answer.status < 300) {
    op.outcome = 'acked';
    op.ackedAt = performance.now();
    ackedRows += op.ids.length;
    ackedRowsOfClient[op.client]! += op.ids.length;
    const added = rowsAdded(json(answer.text));
    if (added !== op.ids.length) violations.push(`${op.kind} ${op.ids[0]}: acknowledged ${added} rows for a batch of ${op.ids.length}`);
    if (op.bad) violations.push(`${op.kind} ${op.ids[0]}: a deliberately bad batch was accepted: ${answer.text.slice(0, 300)}`);
  } else if (answer.status !== undefined && answer.status >= 400 && answer.status < 500) {
    op.outcome = 'refused';
    op.detail = answer.text.slice(0, 300);
    if (!op.bad && answer.status !== 429) violations.push(`${op.kind} ${op.ids[0]}: a good batch was refused with ${answer.status}: ${op.detail}`);
  } else {
    op.outcome = 'unknown';
    op.detail = answer.error ?? `${answer.status} ${answer.text.slice(0, 300)}`;
  }
}

const COLUMNS = ['id', 'client', 'seq', 'via', 'amount', 'note'] as const;

async function ingest(url: string, key: string, client: number, seq: number, format: 'csv' | 'ndjson'): Promise<void> {
  const rows = 1 + Math.floor(Math.random() * 40);
  const bad = Math.random() < BAD_WRITE_SHARE;
  const op = newOp(format === 'csv' ? 'ingest_csv' : 'ingest_ndjson', client, seq, rows, bad);
  const values = op.ids.map((id, row) => ({ id, client, seq, via: format, amount: amount(), note: note(client, seq, row) }));
  let body: string;
  if (format === 'csv') {
    const lines = [COLUMNS.join(','), ...values.map((v) => [v.id, v.client, v.seq, v.via, v.amount, csvField(v.note)].join(','))];
    // A row one field short: strict CSV refuses the whole body (422 naming its line).
    if (bad) lines.push(`c${client}-s${seq}-bad,${client},${seq},csv,1.5`);
    body = `${lines.join('\n')}\n`;
  } else {
    const lines = values.map((v) => JSON.stringify(v));
    // A line cut in the middle: not JSON, the whole body is refused.
    if (bad) lines.push(`{"id": "c${client}-s${seq}-bad", "client": ${client}, "seq"`);
    body = `${lines.join('\n')}\n`;
  }
  const answer = await send(op.kind, '/v1/tables/events', {
    key, headers: { 'content-type': format === 'csv' ? 'text/csv' : 'application/x-ndjson' }, body,
  }, url);
  settle(op, answer, (result) => result?.rows_added);
}

async function insert(url: string, key: string, client: number, seq: number): Promise<void> {
  const rows = 1 + Math.floor(Math.random() * 5);
  const bad = Math.random() < BAD_WRITE_SHARE;
  const op = newOp('insert', client, seq, rows, bad);
  const params: unknown[] = [];
  const tuples = op.ids.map((id, row) => {
    const base = params.length;
    // The last row of a bad INSERT has an amount that is not a number: the statement fails whole.
    params.push(id, client, seq, 'insert', bad && row === rows - 1 ? 'not a number' : amount(), note(client, seq, row));
    return `(${COLUMNS.map((_, i) => `$${base + i + 1}`).join(', ')})`;
  });
  const sql = `insert into events (${COLUMNS.join(', ')}) values ${tuples.join(', ')}`;
  const answer = await send('insert', '/v1/query', {
    key, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql, params }),
  }, url);
  // An INSERT answers one row with the count DuckDB inserted (a BIGINT, hence a string).
  settle(op, answer, (result) => (result?.rows?.[0]?.[0] === undefined ? undefined : Number(result.rows[0][0])));
}

async function read(url: string, key: string, kind: ReadKind): Promise<void> {
  const query = (body: object, accept?: string) =>
    send(kind, '/v1/query', { key, headers: { 'content-type': 'application/json', ...(accept ? { accept } : {}) }, body: JSON.stringify(body) }, url);
  // Rows acknowledged before the read was sent: a read must see at least these (a 2xx write is committed).
  const before = ackedRows;
  const target = Math.floor(Math.random() * CLIENTS);
  const beforeOfTarget = ackedRowsOfClient[target]!;
  switch (kind) {
    case 'read_count':
      return readChecked(kind, await query({ sql: 'select count(*) as n, count(distinct id) as ids from events' }), (text) => {
        const [n, ids] = (json(text)?.rows?.[0] ?? []).map(Number);
        if (n !== ids) return `count(*) ${n} differs from count(distinct id) ${ids}: a duplicated id`;
        if (!(n >= before)) return `count(*) ${n} is less than the ${before} rows acknowledged before the read`;
        return undefined;
      });
    case 'read_group':
      return readChecked(kind, await query({
        sql: 'select via, client % 8 as shard, count(*) as n, sum(amount) as total, avg(amount) as mean from events group by all order by all',
      }), (text) => {
        const rows = json(text)?.rows as unknown[][] | undefined;
        if (!rows) return `not a JSON result: ${text.slice(0, 200)}`;
        const n = rows.reduce((sum, row) => sum + Number(row[2]), 0);
        if (!(n >= before)) return `GROUP BY counts add up to ${n}, less than the ${before} rows acknowledged before the read`;
        return undefined;
      });
    case 'read_client_json':
      return readChecked(kind, await query({
        sql: 'select id, seq, amount, note from events where client = $1 order by seq desc, id limit 100', params: [target],
      }), (text) => {
        const result = json(text);
        if (!result || result.row_count !== result.rows.length || result.rows.length > 100) return `unexpected result: ${text.slice(0, 200)}`;
        if (result.rows.length < Math.min(100, beforeOfTarget)) return `${result.rows.length} rows of client ${target}, fewer than the ${Math.min(100, beforeOfTarget)} expected`;
        return undefined;
      });
    case 'read_client_ndjson':
      return readChecked(kind, await query({
        sql: 'select id, client, seq, via, amount, note from events where client = $client', params: { client: target },
      }, 'application/x-ndjson'), (text) => {
        const lines = text.split('\n').filter(Boolean);
        const seen = new Set<string>();
        for (const line of lines) {
          const row = json(line);
          if (!row || row.client !== target) return `a line that is not a row of client ${target}: ${line.slice(0, 200)}`;
          if (seen.has(row.id)) return `id ${row.id} streamed twice`;
          seen.add(row.id);
        }
        if (lines.length < beforeOfTarget) return `${lines.length} rows of client ${target}, fewer than the ${beforeOfTarget} acknowledged before the read`;
        return undefined;
      });
  }
}

function pickKind(): (typeof MIX)[number][0] {
  let roll = Math.random() * 100;
  for (const [kind, weight] of MIX) {
    roll -= weight;
    if (roll < 0) return kind;
  }
  return 'read_count';
}

async function client(url: string, client: number, readKey: string, writeKey: string, endAt: number): Promise<void> {
  let seq = 0;
  while (performance.now() < endAt) {
    const kind = pickKind();
    if (kind === 'ingest_csv') await ingest(url, writeKey, client, seq++, 'csv');
    else if (kind === 'ingest_ndjson') await ingest(url, writeKey, client, seq++, 'ndjson');
    else if (kind === 'insert') await insert(url, writeKey, client, seq++);
    else await read(url, readKey, kind);
  }
}

/** POST /v1/snapshots every SNAPSHOT_EVERY_MS until endAt. */
async function snapshotter(url: string, writeKey: string, startedAt: number, endAt: number): Promise<void> {
  for (let tick = 1; ; tick++) {
    const due = startedAt + tick * SNAPSHOT_EVERY_MS;
    if (due >= endAt) return;
    // The snapshot rhythm of the load (one every ~5 s), not a wait for a condition.
    await wait(due - performance.now());
    const taken: SnapshotTaken = { sentAt: performance.now(), answeredAt: 0 };
    const answer = await send('snapshot', '/v1/snapshots', { method: 'POST', key: writeKey }, url, SNAPSHOT_TIMEOUT_MS);
    taken.answeredAt = performance.now();
    taken.status = answer.status;
    const body = json(answer.text);
    if (answer.status === 200 && body) Object.assign(taken, { id: body.id, ms: body.ms, written: body.written, reused: body.reused, rows: body.rows });
    else violations.push(`snapshot: ${answer.status ?? answer.error} ${answer.text.slice(0, 300)}`);
    snapshots.push(taken);
  }
}

/** Every id of events and how often it is there, read as one NDJSON stream. */
async function idCounts(url: string, key: string): Promise<Map<string, number>> {
  const answer = await send('verify', '/v1/query', {
    key, headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' }, body: JSON.stringify({ sql: 'select id from events' }),
  }, url, 120_000);
  expect(answer.status, answer.error ?? answer.text.slice(0, 500)).toBe(200);
  const counts = new Map<string, number>();
  for (const line of answer.text.split('\n')) {
    if (!line) continue;
    const { id } = JSON.parse(line) as { id: string };
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/**
 * The rows of a table (as id counts) against the writes: none twice, each write whole or absent, refused
 * writes absent, writes acknowledged before `ackedBefore` present, writes first sent after `sentAfter` absent
 * (for a snapshot: its transaction began before it answered), and no id that no write sent.
 */
function checkRows(what: string, counts: Map<string, number>, ackedBefore: number, sentAfter: number) {
  const problems: string[] = [];
  const tally = { present_rows: 0, acked_required: 0, refused_absent: 0, unknown_present: 0, unknown_absent: 0 };
  for (const [id, n] of counts) {
    if (n > 1) problems.push(`${what}: id ${id} is there ${n} times`);
    if (!opOfId.has(id)) problems.push(`${what}: id ${id} was never sent`);
    tally.present_rows += n;
  }
  for (const op of ops) {
    const present = op.ids.filter((id) => counts.has(id)).length;
    const whole = present === op.ids.length;
    if (present !== 0 && !whole) problems.push(`${what}: ${op.kind} ${op.ids[0]} (${op.outcome}) is there in part: ${present} of ${op.ids.length} rows`);
    if (op.outcome === 'acked' && op.ackedAt! < ackedBefore) {
      tally.acked_required++;
      if (!whole) problems.push(`${what}: ${op.kind} ${op.ids[0]} was acknowledged (${op.status}) and is missing`);
    }
    if (op.outcome === 'refused') {
      if (present) problems.push(`${what}: ${op.kind} ${op.ids[0]} was refused (${op.status}) and is there`);
      else tally.refused_absent++;
    }
    if (op.outcome === 'unknown') tally[present ? 'unknown_present' : 'unknown_absent']++;
    if (op.outcome === 'pending') problems.push(`${what}: ${op.kind} ${op.ids[0]} never settled`);
    if (op.firstSentAt > sentAfter && present) problems.push(`${what}: ${op.kind} ${op.ids[0]} was sent after the snapshot answered and is in it`);
  }
  return { problems, tally };
}

const round1 = (value: number) => Math.round(value * 10) / 10;
const report: Record<string, unknown> = {};

function writeReport(): void {
  const dir = path.join(root, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'load.json'), `${JSON.stringify(report, null, 2)}\n`);
}

describe(`skyduck-local under load: ${CLIENTS} clients for ${SECONDS} s`, () => {
  let running: Running | undefined;
  const readKeys: string[] = [];
  const writeKeys: string[] = [];
  let finalCounts: Map<string, number> | undefined;
  let stoppedAt = 0;

  beforeAll(async () => {
    const keygen = await runToEnd(exe, ['keygen', '--out', env.SKYDUCK_KMS_KEY!], { SKYDUCK_NATIVE_CACHE: native });
    expect(keygen.code, keygen.stderr).toBe(0);
    running = await serve(exe, env);
    for (const [scope, count, keys] of [['read', READ_AGENTS, readKeys], ['write', WRITE_AGENTS, writeKeys]] as const) {
      for (let i = 0; i < count; i++) {
        const made = await runToEnd(exe, ['keys', 'create', '--scope', scope, '--agent', `load-${scope}er-${i}`], env);
        expect(made.code, made.stderr).toBe(0);
        keys.push(made.stdout.trim());
      }
    }
    const created = await send('verify', '/v1/query', {
      key: writeKeys[0]!, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'create table events (id varchar, client integer, seq integer, via varchar, amount double, note varchar)' }),
    }, running.url);
    expect(created.status, created.text).toBe(200);
    Object.assign(report, {
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memory_gib: round1(os.totalmem() / 2 ** 30), node: process.versions.node, date: new Date().toISOString() },
      binary: { path: 'dist/skyduck-local', bytes: fs.statSync(exe).size, mtime: fs.statSync(path.join(root, 'dist', 'skyduck-local')).mtime.toISOString() },
      settings: {
        clients: CLIENTS, seconds: SECONDS, read_agents: READ_AGENTS, write_agents: WRITE_AGENTS, snapshot_every_ms: SNAPSHOT_EVERY_MS,
        max_concurrent_queries: '16 (default)', request_timeout_ms: REQUEST_TIMEOUT_MS, rss_bound_mib: RSS_BOUND_MIB,
        bad_write_share: BAD_WRITE_SHARE, mix_percent: Object.fromEntries(MIX), transport: "Node's fetch (undici's global keep-alive agent), loopback",
      },
    });
  });

  afterAll(async () => {
    if (running && running.child.exitCode === null && running.child.signalCode === null) {
      running.child.kill('SIGKILL');
      await running.exit;
    }
    if (Object.keys(report).length) writeReport();
  });

  it(`answers every request without a 5xx, loses and duplicates no row, and stays under ${RSS_BOUND_MIB} MiB`, async () => {
    const server = running!;
    const pid = server.child.pid!;
    const rss = sampleRss(pid, 500);
    const serverCpuBefore = procCpuMs(pid);
    const clientCpuBefore = process.cpuUsage();
    const startedAt = performance.now();
    const endAt = startedAt + SECONDS * 1000;
    await Promise.all([
      ...Array.from({ length: CLIENTS }, (_, i) => client(server.url, i, readKeys[i % READ_AGENTS]!, writeKeys[i % WRITE_AGENTS]!, endAt)),
      snapshotter(server.url, writeKeys[0]!, startedAt, endAt),
    ]);
    const loadMs = performance.now() - startedAt;
    const serverCpuMs = procCpuMs(pid) - serverCpuBefore;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const clientCpuMs = (clientCpu.user + clientCpu.system) / 1000;

    finalCounts = await idCounts(server.url, readKeys[0]!);
    const final = checkRows('end of run', finalCounts, Infinity, Infinity);
    const peak = rss.stop();
    const hwmMiB = round1((procStatusBytes(pid, 'VmHWM') ?? 0) / 2 ** 20);

    const kinds = Object.fromEntries(KINDS.map((kind) => [kind, stats.get(kind)!.summary()]));
    const all = Object.values(kinds);
    const sum = (field: 'requests' | 'ok' | 'too_many' | 'other_4xx' | 'server_errors' | 'no_answer') => all.reduce((total, k) => total + k[field], 0);
    const writes = {
      operations: ops.length,
      acked: ops.filter((op) => op.outcome === 'acked').length,
      refused: ops.filter((op) => op.outcome === 'refused').length,
      unknown: ops.filter((op) => op.outcome === 'unknown').length,
      bad_sent: ops.filter((op) => op.bad).length,
      rows_acked: ackedRows,
      rows_at_end: final.tally.present_rows,
      ...final.tally,
    };
    Object.assign(report, {
      load: {
        seconds: round1(loadMs / 1000),
        requests: sum('requests'), ok: sum('ok'), too_many_429: sum('too_many'), other_4xx: sum('other_4xx'),
        server_errors_5xx: sum('server_errors'), no_answer: sum('no_answer'),
        ok_per_second: round1(sum('ok') / (loadMs / 1000)),
        retry_after_wait_s: round1(retryWaitMs / 1000),
      },
      kinds,
      writes,
      snapshots_under_load: snapshots.map(({ sentAt, answeredAt, ...rest }) => ({ ...rest, at_s: round1((sentAt - startedAt) / 1000), answered_after_ms: Math.round(answeredAt - sentAt) })),
      rss: { bound_mib: RSS_BOUND_MIB, peak_sampled_mib: peak.peakMiB, vm_hwm_mib: hwmMiB, first_mib: peak.samples[0], last_mib: peak.samples.at(-1), samples: peak.samples.length, every_ms: 500 },
      cpu: {
        server_ms: Math.round(serverCpuMs), client_ms: Math.round(clientCpuMs),
        server_cores_busy: round1(serverCpuMs / loadMs), client_cores_busy: round1(clientCpuMs / loadMs),
      },
      violations: violations.slice(0, 50),
      end_problems: final.problems.slice(0, 50),
    });

    const table = textTable([
      ['kind', 'requests', '2xx', '429', 'other 4xx', '5xx', 'no answer', 'p50 ms', 'p99 ms', 'max ms'],
      ...KINDS.map((kind) => {
        const k = kinds[kind]!;
        return [kind, k.requests, k.ok, k.too_many, k.other_4xx, k.server_errors, k.no_answer, k.ok_p50_ms, k.ok_p99_ms, k.ok_max_ms];
      }),
      ['all', sum('requests'), sum('ok'), sum('too_many'), sum('other_4xx'), sum('server_errors'), sum('no_answer'), null, null, null],
    ]);
    console.log([
      `skyduck-local, ${CLIENTS} clients + 1 snapshotter, ${round1(loadMs / 1000)} s on ${os.cpus().length} cores (latencies of 2xx answers, body read to the end)`,
      table,
      `writes: ${writes.operations} (${writes.acked} acknowledged, ${writes.refused} refused of which ${writes.bad_sent} sent bad on purpose, ${writes.unknown} unknown); ` +
        `rows acknowledged ${writes.rows_acked}, rows at the end ${writes.rows_at_end}`,
      `snapshots under load: ${snapshots.filter((s) => s.status === 200).length}/${snapshots.length} (${snapshots.map((s) => s.ms).join(', ')} ms)`,
      `server RSS: peak ${peak.peakMiB} MiB sampled every 500 ms, VmHWM ${hwmMiB} MiB (bound ${RSS_BOUND_MIB} MiB); ` +
        `CPU: server ${round1(serverCpuMs / loadMs)} cores, test client ${round1(clientCpuMs / loadMs)} cores; 429 retries waited ${round1(retryWaitMs / 1000)} s in all`,
    ].join('\n'));
    writeReport();

    expect(violations.slice(0, 20), `${violations.length} violations`).toEqual([]);
    expect(final.problems.slice(0, 20), `${final.problems.length} problems with the rows at the end`).toEqual([]);
    expect(sum('server_errors'), JSON.stringify(kinds)).toBe(0);
    // Every 4xx but 429 is the refusal of a deliberately bad write, and every bad write was refused (or never answered).
    expect(sum('other_4xx')).toBe(ops.filter((op) => op.bad && op.outcome === 'refused' && op.status !== 429).length);
    expect(ops.filter((op) => op.bad && op.outcome === 'acked')).toEqual([]);
    expect(writes.acked).toBeGreaterThan(0);
    for (const kind of KINDS) expect(kinds[kind]!.ok, `${kind} never succeeded`).toBeGreaterThan(0);
    expect(snapshots.length).toBeGreaterThan(0);
    expect(snapshots.every((s) => s.status === 200)).toBe(true);
    expect(peak.peakMiB).toBeLessThan(RSS_BOUND_MIB);
    expect(hwmMiB).toBeLessThan(RSS_BOUND_MIB);
  }, SECONDS * 1000 + 240_000);

  it('stops cleanly (with its exit snapshot) and `audit verify` passes on the stopped data dir', async () => {
    const server = running!;
    stoppedAt = performance.now();
    expect(await terminate(server, 90_000), server.stderr().slice(-2000)).toBe(0);
    const events = server.stderr().split('\n').filter((line) => line.startsWith('{')).map((line) => json(line)).filter(Boolean);
    const failures = events.filter((event) => event.level === 'error');
    expect(failures.slice(0, 5), 'error lines in the server log').toEqual([]);
    const exitSnapshot = events.filter((event) => event.event === 'snapshot.done').at(-1);
    const verified = await runToEnd(exe, ['audit', 'verify'], env, 120_000);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    const rows = Number(/audit ledger OK: (\d+) rows, chain intact/.exec(verified.stdout)?.[1]);
    // One ledger row per query or upload the warehouse answered (429s included); snapshots are not in it.
    const answered = KINDS.filter((kind) => kind !== 'snapshot').reduce((total, kind) => total + stats.get(kind)!.count(() => true), 0) +
      stats.get('verify')!.count(() => true);
    report.audit = { verify: verified.stdout.trim(), rows, requests_answered: answered, exit_snapshot: exitSnapshot && { id: exitSnapshot.id, ms: exitSnapshot.ms, written: exitSnapshot.written } };
    writeReport();
    expect(rows, verified.stdout).toBeGreaterThanOrEqual(answered);
  }, 240_000);

  it('the latest snapshot (taken at exit) restores by itself into an empty data dir with exactly the rows at the end', async () => {
    const listed = await runToEnd(exe, ['snapshots', '--json'], env, 60_000);
    expect(listed.code, listed.stderr).toBe(0);
    const latest = (JSON.parse(listed.stdout) as { id: string; latest: boolean }[]).find((s) => s.latest);
    expect(latest).toBeDefined();
    const restoredEnv = envFor(dataDirOf('restored-latest'));
    const second = await serve(exe, restoredEnv);
    try {
      const events = second.stderr().split('\n').filter((line) => line.startsWith('{')).map((line) => json(line)).filter(Boolean);
      expect(events.find((event) => event.event === 'restore.done'), second.stderr()).toMatchObject({ id: latest!.id });
      const counts = await idCounts(second.url, readKeys[2]!);
      // If the exit snapshot was taken it holds every acknowledged row; otherwise latest is the last one under load.
      const underLoad = snapshots.find((s) => s.id === latest!.id);
      const checked = checkRows(`latest ${latest!.id}`, counts, underLoad?.sentAt ?? stoppedAt, underLoad?.answeredAt ?? Infinity);
      report.restore_latest = { id: latest!.id, taken_at_exit: !underLoad, rows: checked.tally.present_rows, ...checked.tally, problems: checked.problems.slice(0, 50) };
      writeReport();
      expect(checked.problems.slice(0, 20), `${checked.problems.length} problems`).toEqual([]);
      if (!underLoad) {
        // Taken after the last write: exactly the rows the first server held at the end.
        const missing = [...finalCounts!.keys()].filter((id) => !counts.has(id));
        const extra = [...counts.keys()].filter((id) => !finalCounts!.has(id));
        expect({ missing: missing.slice(0, 10), extra: extra.slice(0, 10), size: counts.size }).toEqual({ missing: [], extra: [], size: finalCounts!.size });
      }
    } finally {
      expect(await terminate(second, 90_000)).toBe(0);
    }
  }, 420_000);
  it('the last snapshot taken under load restores into an empty data dir with every row acknowledged before it', async () => {
    const last = snapshots.filter((s) => s.status === 200).at(-1);
    expect(last, 'no snapshot was taken under load').toBeDefined();
    const restoredEnv = envFor(dataDirOf('restored-by-id'));
    const restored = await runToEnd(exe, ['restore', '--snapshot', last!.id!], restoredEnv, 180_000);
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    const latestBefore = (json((await runToEnd(exe, ['snapshots', '--json'], env, 60_000)).stdout) as { id: string; latest: boolean }[] | undefined)
      ?.find((s) => s.latest)?.id;
    expect(latestBefore).toBeDefined();
    const second = await serve(exe, restoredEnv);
    try {
      const counts = await idCounts(second.url, readKeys[1]!);
      const checked = checkRows(`snapshot ${last!.id}`, counts, last!.sentAt, last!.answeredAt);
      report.restore_under_load_snapshot = { id: last!.id, rows: checked.tally.present_rows, manifest_rows_all_tables: last!.rows, ...checked.tally, problems: checked.problems.slice(0, 50) };
      writeReport();
      expect(checked.problems.slice(0, 20), `${checked.problems.length} problems`).toEqual([]);
      expect(checked.tally.acked_required).toBeGreaterThan(0);
    } finally {
      expect(await terminate(second, 90_000)).toBe(0);
    }
    // The server on the restored (older) data wrote nothing: on SIGTERM it must not snapshot it, which would make
    // the older data `latest` over the newer snapshot taken at the end of the load.
    const exitSnapshot = second.stderr().split('\n').filter((line) => line.startsWith('{')).map((line) => json(line))
      .find((event) => event?.event === 'snapshot.done');
    const listed = await runToEnd(exe, ['snapshots', '--json'], env, 60_000);
    const latest = (json(listed.stdout) as { id: string; rows: number; latest: boolean }[] | undefined)?.find((s) => s.latest);
    Object.assign(report.restore_under_load_snapshot as object, {
      its_server_snapshotted_at_exit: exitSnapshot ? { id: exitSnapshot.id, written: exitSnapshot.written, reused: exitSnapshot.reused } : null,
      latest_after_its_server_stopped: latest && { id: latest.id, rows_all_tables: latest.rows },
    });
    writeReport();
    expect(exitSnapshot, 'a restored server that wrote nothing took a snapshot at exit').toBeUndefined();
    expect(latest?.id).toBe(latestBefore);
  }, 420_000);
});
