// The audit ledger: one row per request an agent made, append-only and hash-chained in the system
// database, so a row changed, deleted or reordered afterwards is found by `verify`. The SQL text itself
// is never stored (it may hold literals that are secrets), only its fingerprint.
import { createHash } from 'node:crypto';
import { type DuckDBConnection, type DuckDBTimestampTZValue, type DuckDBValue, timestampTZValue } from '@duckdb/node-api';
import { StartupError } from '../fs-checks.ts';
import type { AuditRecord } from '../engine/types.ts';
import type { SystemDatabase } from './system-db.ts';

export interface AuditEntry {
  agent: string;
  keyId: string;
  fingerprint: string;
  statementType: string;
  rows: number;
  bytes: number;
  durationMs: number;
  /** 'ok', or the error code the request failed with. */
  outcome: string;
}

export interface AuditRow extends AuditEntry {
  seq: number;
  /** ISO 8601, UTC, millisecond precision. */
  at: string;
  prevHash: string;
  hash: string;
}

export type VerifyResult = { ok: true; rows: number } | { ok: false; rows: number; seq: number; reason: string };

/** The prev_hash of row 1. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Rows are queued in memory and written at most FLUSH_INTERVAL_MS later, or once BATCH_ROWS are waiting,
 * so a `select 42` request does not wait for a DuckDB commit. The trade-off: a crash (kill -9) loses the
 * rows of the last ~100 ms. The chain on disk stays valid, because each batch is one INSERT (one
 * transaction) in seq order, so what survives is always a prefix of the chain.
 */
const FLUSH_INTERVAL_MS = 100;
const BATCH_ROWS = 500;

// `at` is a keyword in DuckDB, hence the quotes.
const COLUMNS = 'seq, "at", agent, key_id, fingerprint, statement_type, rows, bytes, duration_ms, outcome, prev_hash, hash';
const CREATE_TABLE = `CREATE TABLE audit_log (
  seq BIGINT NOT NULL, "at" TIMESTAMPTZ NOT NULL, agent VARCHAR NOT NULL, key_id VARCHAR NOT NULL,
  fingerprint VARCHAR NOT NULL, statement_type VARCHAR NOT NULL, rows BIGINT NOT NULL, bytes BIGINT NOT NULL,
  duration_ms DOUBLE NOT NULL, outcome VARCHAR NOT NULL, prev_hash VARCHAR NOT NULL, hash VARCHAR NOT NULL)`;
const ROW_PLACEHOLDERS = `(${COLUMNS.split(',').map(() => '?').join(', ')})`;

/**
 * A row as stored. Read back from DuckDB, counts come as bigint; appended, as numbers: the canonical text
 * is the same for both. A row changed by hand may hold nulls where the schema has none.
 */
interface Stored {
  seq: number | bigint;
  atMicros: bigint;
  agent: string;
  keyId: string;
  fingerprint: string;
  statementType: string;
  rows: number | bigint;
  bytes: number | bigint;
  durationMs: number;
  outcome: string;
  prevHash: string;
  hash: string;
}

/** Decimal text for numbers, so the hashed bytes do not depend on how a reader holds them. Null stays null (distinct from "null"). */
const decimal = (value: unknown) => (value === null ? null : String(value));

/** sha256(prev_hash + "\n" + canonical JSON of the other fields, in fixed key order). */
function rowHash(row: Stored): string {
  const canonical = JSON.stringify({
    seq: decimal(row.seq), at: decimal(row.atMicros), agent: row.agent, keyId: row.keyId, fingerprint: row.fingerprint,
    statementType: row.statementType, rows: decimal(row.rows), bytes: decimal(row.bytes),
    durationMs: decimal(row.durationMs), outcome: row.outcome,
  });
  return createHash('sha256').update(`${row.prevHash}\n${canonical}`).digest('hex');
}

/** Counts that cannot make the INSERT fail (NaN, negative, beyond BIGINT): a failing row would block every later one. */
const count = (value: number) => (Number.isFinite(value) ? Math.min(Math.max(Math.trunc(value), 0), Number.MAX_SAFE_INTEGER) : 0);
const millis = (value: number) => (Number.isFinite(value) ? Math.round(Math.max(value, 0) * 1000) / 1000 : 0);

/** One row of `SELECT ${COLUMNS}`. */
function decode(values: DuckDBValue[]): Stored {
  const [seq, at, agent, keyId, fingerprint, statementType, rows, bytes, durationMs, outcome, prevHash, hash] = values;
  const atMicros = (at as DuckDBTimestampTZValue | null)?.micros ?? null;
  return { seq, atMicros, agent, keyId, fingerprint, statementType, rows, bytes, durationMs, outcome, prevHash, hash } as unknown as Stored;
}

/** Parameters for one `${ROW_PLACEHOLDERS}`. */
function encode(row: Stored): DuckDBValue[] {
  return [
    BigInt(row.seq), timestampTZValue(row.atMicros), row.agent, row.keyId, row.fingerprint, row.statementType,
    BigInt(row.rows), BigInt(row.bytes), row.durationMs, row.outcome, row.prevHash, row.hash,
  ];
}

function toAuditRow(row: Stored): AuditRow {
  return {
    seq: Number(row.seq), at: new Date(Number(row.atMicros / 1000n)).toISOString(), agent: row.agent, keyId: row.keyId,
    fingerprint: row.fingerprint, statementType: row.statementType, rows: Number(row.rows), bytes: Number(row.bytes),
    durationMs: row.durationMs, outcome: row.outcome, prevHash: row.prevHash, hash: row.hash,
  };
}

/** Why `row` does not continue a chain whose last row had `expectedSeq - 1` and `prevHash`; undefined if it does. */
function breakIn(row: Stored, expectedSeq: bigint, prevHash: string): string | undefined {
  if (rowHash(row) !== row.hash) return "hash does not match the row's content (the row was changed after it was written)";
  if (row.seq === null) return 'the row has no seq (the row was changed after it was written)';
  const seq = BigInt(row.seq);
  if (seq > expectedSeq) {
    const missing = seq - expectedSeq === 1n ? `row ${expectedSeq} is` : `rows ${expectedSeq}..${seq - 1n} are`;
    return `seq gap: ${missing} missing (deleted)`;
  }
  if (seq < expectedSeq) return `seq ${seq} comes again after ${expectedSeq - 1n} (a row was inserted or copied)`;
  if (row.prevHash !== prevHash) {
    return "prev_hash does not match the previous row's hash (a row before it was changed and re-hashed, or rows were reordered)";
  }
  return undefined;
}

export class AuditLedger {
  private readonly db: SystemDatabase;
  /** Its own connection, so a batch never lands inside someone else's transaction or streaming read. */
  private readonly writer: DuckDBConnection;
  private readonly onError: (error: unknown) => void;
  private lastSeq: number;
  private lastHash: string;
  /** Chained rows not yet written, in seq order. */
  private queue: Stored[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The last write scheduled; writes run one after another so batches land in seq order. */
  private writing: Promise<void> = Promise.resolve();
  /** A write scheduled but not started: it will take every row queued by then, so no second one is needed. */
  private pendingWrite: Promise<void> | undefined;
  private closed = false;

  private constructor(db: SystemDatabase, writer: DuckDBConnection, lastSeq: number, lastHash: string, onError: (error: unknown) => void) {
    this.db = db;
    this.writer = writer;
    this.lastSeq = lastSeq;
    this.lastHash = lastHash;
    this.onError = onError;
  }

  /**
   * Creates audit_log if missing and continues the chain from its last row. `onError` hears of background
   * writes that failed; their rows stay queued and are tried again.
   */
  static async open(db: SystemDatabase, opts: { onError?: (error: unknown) => void } = {}): Promise<AuditLedger> {
    const tables = await db.connection.runAndReadAll(
      "SELECT 1 FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = 'audit_log'");
    if (tables.currentRowCount === 0) {
      // A read-only open is `skyduck audit verify`: a ledger without its table was dropped, not empty.
      if (db.readOnly) throw new StartupError(`the ledger ${db.file} has no audit_log table (it was dropped, or this is not a skyduck system database)`);
      await db.connection.run(CREATE_TABLE);
    }
    const last = (await db.connection.runAndReadAll('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1')).getRows()[0];
    const onError = opts.onError ?? ((error) => process.stderr.write(`audit ledger: write failed, will retry: ${(error as Error)?.message ?? error}\n`));
    return new AuditLedger(db, await db.connect(), last ? Number(last[0]) : 0, last ? String(last[1]) : GENESIS_HASH, onError);
  }

  /** Chains the entry at once (so the order is the order of the calls) and queues it for the next batch. */
  append(entry: AuditEntry): void {
    if (this.closed) throw new Error('the audit ledger is closed');
    if (this.db.readOnly) throw new Error(`the ledger ${this.db.file} is open read-only`);
    const row: Stored = {
      ...entry, seq: this.lastSeq + 1, atMicros: BigInt(Date.now()) * 1000n, rows: count(entry.rows), bytes: count(entry.bytes),
      durationMs: millis(entry.durationMs), prevHash: this.lastHash, hash: '',
    };
    row.hash = rowHash(row);
    this.lastSeq += 1;
    this.lastHash = row.hash;
    this.queue.push(row);
    if (this.queue.length >= BATCH_ROWS) this.writeInBackground();
    else this.timer ??= setTimeout(() => this.writeInBackground(), FLUSH_INTERVAL_MS).unref();
  }

  /** Writes every queued row; rejects if a batch could not be written (its rows stay queued). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pendingWrite) return this.pendingWrite;
    const write = this.writing.catch(() => undefined).then(() => {
      this.pendingWrite = undefined;
      return this.drain();
    });
    this.pendingWrite = write;
    this.writing = write;
    return write;
  }

  /** Flushes and stops taking entries. The system database stays open: it is its owner's to close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.flush();
    } finally {
      this.writer.closeSync();
    }
  }

  /** Rows in seq order after `after`, optionally of one agent. Flushes first, so a caller sees its own requests. */
  async list(opts: { after?: number; limit: number; agent?: string }): Promise<AuditRow[]> {
    await this.flush();
    const values: DuckDBValue[] = [BigInt(opts.after ?? 0)];
    let where = 'seq > ?';
    if (opts.agent !== undefined) {
      where += ' AND agent = ?';
      values.push(opts.agent);
    }
    values.push(BigInt(opts.limit));
    const reader = await this.db.connection.runAndReadAll(
      `SELECT ${COLUMNS} FROM audit_log WHERE ${where} ORDER BY seq LIMIT ?`, values);
    return reader.getRows().map((values) => toAuditRow(decode(values)));
  }

  /** Recomputes the chain over the whole table, a chunk at a time, and names the first row that breaks it. */
  async verify(): Promise<VerifyResult> {
    await this.flush();
    // A connection of its own: any other query on the connection would end the streaming result.
    const connection = await this.db.connect();
    try {
      const result = await connection.stream(`SELECT ${COLUMNS} FROM audit_log ORDER BY seq NULLS LAST`);
      let rows = 0;
      let prevHash = GENESIS_HASH;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) return { ok: true, rows };
        for (const values of chunk.getRows()) {
          const row = decode(values);
          const reason = breakIn(row, BigInt(rows + 1), prevHash);
          if (reason) return { ok: false, rows, seq: row.seq === null ? rows + 1 : Number(row.seq), reason };
          rows += 1;
          prevHash = row.hash;
        }
      }
    } finally {
      connection.closeSync();
    }
  }

  /** The timers are unref'd: they alone do not keep a process alive, which is why the owner must close(). */
  private writeInBackground(): void {
    if (this.pendingWrite) return;
    this.flush().catch((error: unknown) => {
      this.onError(error);
      if (!this.closed) this.timer ??= setTimeout(() => this.writeInBackground(), FLUSH_INTERVAL_MS).unref();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, BATCH_ROWS);
      await this.writer.run(
        `INSERT INTO audit_log (${COLUMNS}) VALUES ${batch.map(() => ROW_PLACEHOLDERS).join(', ')}`, batch.flatMap(encode));
      this.queue.splice(0, batch.length);
    }
  }
}

/** Identifies a statement without storing it: whitespace runs collapsed, sha256, first 16 hex digits. */
export function fingerprint(sql: string): string {
  return createHash('sha256').update(sql.replace(/\s+/g, ' ').trim()).digest('hex').slice(0, 16);
}

/** The ledger row of one request the engine reports: the SQL itself becomes its fingerprint. */
export function toAuditEntry(record: AuditRecord): AuditEntry {
  return {
    agent: record.principal.agent,
    keyId: record.principal.keyId,
    fingerprint: fingerprint(record.sql),
    statementType: record.statementType,
    rows: record.rows,
    bytes: record.bytes,
    durationMs: record.durationMs,
    outcome: record.outcome,
  };
}
