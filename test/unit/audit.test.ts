// The audit ledger: an append-only hash chain in system.duckdb that names the first row changed, deleted
// or reordered behind skyduck's back, and `skyduck audit verify` reading it from the file.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { type AuditEntry, AuditLedger, fingerprint, GENESIS_HASH } from '../../src/agent/audit.ts';
import { openSystemDatabase, SYSTEM_DATABASE_FILE, type SystemDatabase } from '../../src/agent/system-db.ts';
import { auditVerify } from '../../src/commands/audit.ts';
import type { Config } from '../../src/config/config.ts';
import { root, tempDir, until } from '../support/process.ts';

const entry = (n: number, agent = 'etl-bot'): AuditEntry => ({
  agent, keyId: `key-${agent}`, fingerprint: fingerprint(`select ${n}`), statementType: 'SELECT',
  rows: n, bytes: n * 10, durationMs: n / 7, outcome: n % 5 === 0 ? 'query_error' : 'ok',
});

const opened: SystemDatabase[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

async function openLedger(dataDir: string): Promise<AuditLedger> {
  const db = await openSystemDatabase(dataDir);
  opened.push(db);
  return AuditLedger.open(db);
}

/** A ledger of `n` rows, written and closed, so the file can be changed behind its back. */
async function ledgerFile(n: number): Promise<string> {
  const dataDir = tempDir('audit');
  const ledger = await openLedger(dataDir);
  for (let i = 1; i <= n; i++) ledger.append(entry(i));
  await ledger.close();
  opened.pop()?.close();
  return dataDir;
}

/** What anyone with the file could do: plain DuckDB, no skyduck in the way. */
async function tamper(dataDir: string, sql: string): Promise<void> {
  const instance = await DuckDBInstance.create(path.join(dataDir, SYSTEM_DATABASE_FILE));
  const connection = await instance.connect();
  await connection.run(sql);
  connection.closeSync();
  instance.closeSync();
}

const config = (dataDir: string) => ({ dataDir }) as Config;

describe('audit ledger', () => {
  it('verifies a chain it wrote', async () => {
    const ledger = await openLedger(tempDir('audit'));
    for (let i = 1; i <= 25; i++) ledger.append(entry(i));
    await ledger.flush();
    expect(await ledger.verify()).toEqual({ ok: true, rows: 25 });
  });

  it('starts the chain from the genesis hash and links each row to the one before', async () => {
    const ledger = await openLedger(tempDir('audit'));
    for (let i = 1; i <= 3; i++) ledger.append(entry(i));
    const rows = await ledger.list({ limit: 10 });
    expect(rows.map((row) => row.seq)).toEqual([1, 2, 3]);
    expect(rows[0]?.prevHash).toBe(GENESIS_HASH);
    expect(rows[1]?.prevHash).toBe(rows[0]?.hash);
    expect(rows[2]?.prevHash).toBe(rows[1]?.hash);
    expect(rows[1]).toMatchObject({ ...entry(2), durationMs: 0.286 });
  });

  it('continues the chain after a close and reopen', async () => {
    const dataDir = await ledgerFile(4);
    const ledger = await openLedger(dataDir);
    ledger.append(entry(5));
    const rows = await ledger.list({ after: 3, limit: 10 });
    expect(rows.map((row) => row.seq)).toEqual([4, 5]);
    expect(rows[1]?.prevHash).toBe(rows[0]?.hash);
    expect(await ledger.verify()).toEqual({ ok: true, rows: 5 });
  });

  it('keeps seq contiguous and in call order under many concurrent appends', async () => {
    const ledger = await openLedger(tempDir('audit'));
    // More than one batch, appended from many tasks at once, with a flush racing the background writes.
    await Promise.all(Array.from({ length: 1_234 }, async (_, i) => {
      await Promise.resolve();
      ledger.append(entry(i + 1, `agent-${i % 3}`));
      if (i % 300 === 0) await ledger.flush();
    }));
    await ledger.flush();
    const rows = await ledger.list({ limit: 2_000 });
    expect(rows.map((row) => row.seq)).toEqual(Array.from({ length: 1_234 }, (_, i) => i + 1));
    expect(rows.map((row) => row.rows)).toEqual(Array.from({ length: 1_234 }, (_, i) => i + 1));
    expect(await ledger.verify()).toEqual({ ok: true, rows: 1_234 });
  });

  it('writes queued rows in the background without a flush', async () => {
    const dataDir = tempDir('audit');
    const ledger = await openLedger(dataDir);
    ledger.append(entry(1));
    // A second connection to the same instance sees only what was committed.
    const reader = opened[0]!.connection;
    await until('the background write', async () => {
      const count = (await reader.runAndReadAll('SELECT count(*) FROM audit_log')).getRows()[0]?.[0];
      return count === 1n ? true : undefined;
    }, 5_000);
  });

  it('lists after a seq, up to a limit, for one agent', async () => {
    const ledger = await openLedger(tempDir('audit'));
    for (let i = 1; i <= 10; i++) ledger.append(entry(i, i % 2 === 0 ? 'even' : 'odd'));
    expect((await ledger.list({ after: 4, limit: 3 })).map((row) => row.seq)).toEqual([5, 6, 7]);
    expect((await ledger.list({ agent: 'even', limit: 10 })).map((row) => row.seq)).toEqual([2, 4, 6, 8, 10]);
    expect((await ledger.list({ agent: 'odd', after: 5, limit: 1 })).map((row) => row.seq)).toEqual([7]);
    const [row] = await ledger.list({ after: 9, limit: 1 });
    expect(typeof row?.seq).toBe('number');
    expect(typeof row?.bytes).toBe('number');
    expect(Date.parse(row!.at)).toBeGreaterThan(Date.now() - 60_000);
    expect(JSON.parse(JSON.stringify(row))).toEqual(row);
  });

  it('names the row whose content was changed afterwards', async () => {
    const dataDir = await ledgerFile(30);
    await tamper(dataDir, "UPDATE audit_log SET outcome = 'forged' WHERE seq = 17");
    const ledger = await openLedger(dataDir);
    expect(await ledger.verify()).toEqual({
      ok: false, rows: 16, seq: 17, reason: "hash does not match the row's content (the row was changed after it was written)",
    });
  });

  it('names a row whose stored hash was replaced', async () => {
    const dataDir = await ledgerFile(10);
    await tamper(dataDir, "UPDATE audit_log SET hash = repeat('f', 64) WHERE seq = 4");
    const ledger = await openLedger(dataDir);
    expect(await ledger.verify()).toMatchObject({ ok: false, rows: 3, seq: 4, reason: expect.stringMatching(/^hash does not match/) });
  });

  it('names the row after a deleted one', async () => {
    const dataDir = await ledgerFile(10);
    await tamper(dataDir, 'DELETE FROM audit_log WHERE seq = 5');
    const ledger = await openLedger(dataDir);
    expect(await ledger.verify()).toEqual({ ok: false, rows: 4, seq: 6, reason: 'seq gap: row 5 is missing (deleted)' });
  });

  it('names a row whose prev_hash was pointed elsewhere, even when its own hash was recomputed', async () => {
    const dataDir = await ledgerFile(6);
    const ledger = await openLedger(dataDir);
    const [row3] = await ledger.list({ after: 2, limit: 1 });
    opened.pop()?.close();
    // Rebuild row 3 as if rows 2 and 3 had been swapped: valid content hash, wrong link.
    const forged = await forgeRow({ ...row3!, prevHash: GENESIS_HASH });
    await tamper(dataDir, `UPDATE audit_log SET prev_hash = '${GENESIS_HASH}', hash = '${forged}' WHERE seq = 3`);
    const reopened = await openLedger(dataDir);
    expect(await reopened.verify()).toMatchObject({ ok: false, rows: 2, seq: 3, reason: expect.stringMatching(/^prev_hash does not match/) });
  });

  it('fingerprints a statement the same whatever its whitespace, and different statements differently', () => {
    expect(fingerprint('select  *\n  from t\twhere x = 1 ')).toBe(fingerprint('select * from t where x = 1'));
    expect(fingerprint('select 1')).not.toBe(fingerprint('select 2'));
    expect(fingerprint('select 1')).toMatch(/^[0-9a-f]{16}$/);
  });
});

/** Recomputes a row's hash the way the ledger documents it: sha256(prev_hash \n canonical JSON). */
async function forgeRow(row: { seq: number; at: string; prevHash: string } & AuditEntry): Promise<string> {
  const { createHash } = await import('node:crypto');
  const canonical = JSON.stringify({
    seq: String(row.seq), at: String(BigInt(Date.parse(row.at)) * 1000n), agent: row.agent, keyId: row.keyId,
    fingerprint: row.fingerprint, statementType: row.statementType, rows: String(row.rows), bytes: String(row.bytes),
    durationMs: String(row.durationMs), outcome: row.outcome,
  });
  return createHash('sha256').update(`${row.prevHash}\n${canonical}`).digest('hex');
}

describe('skyduck audit verify', () => {
  it('reports an intact chain', async () => {
    const dataDir = await ledgerFile(12);
    expect(await auditVerify(config(dataDir))).toEqual({ text: 'audit ledger OK: 12 rows, chain intact', ok: true });
  });

  it('reports the first broken row', async () => {
    const dataDir = await ledgerFile(20);
    await tamper(dataDir, 'UPDATE audit_log SET rows = 0 WHERE seq = 17');
    expect(await auditVerify(config(dataDir))).toEqual({
      text: "audit ledger BROKEN at row 17: hash does not match the row's content (the row was changed after it was written)",
      ok: false,
    });
  });

  it('names the missing file', async () => {
    const dataDir = tempDir('audit');
    const { text, ok } = await auditVerify(config(dataDir));
    expect(ok).toBe(false);
    expect(text).toContain(path.join(dataDir, SYSTEM_DATABASE_FILE));
    expect(text).toContain('does not exist');
  });

  it('reports a dropped audit_log table as not verified', async () => {
    const dataDir = await ledgerFile(3);
    await tamper(dataDir, 'DROP TABLE audit_log');
    const { text, ok } = await auditVerify(config(dataDir));
    expect(ok).toBe(false);
    expect(text).toContain('has no audit_log table');
  });

  it('names the process that holds the ledger open', async () => {
    const dataDir = await ledgerFile(2);
    // DuckDB's lock is per process (fcntl): only another process shows it.
    const holder = spawn(path.join(root, 'node_modules', '.bin', 'node'), ['--input-type=module', '-e', `
      import { DuckDBInstance } from '@duckdb/node-api';
      const instance = await DuckDBInstance.create(${JSON.stringify(path.join(dataDir, SYSTEM_DATABASE_FILE))});
      await instance.connect();
      process.stdout.write('ready\\n');
      process.stdin.resume();
    `], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      let stdout = '';
      holder.stdout.on('data', (chunk) => (stdout += chunk));
      await until('the holder to open the ledger', () => (stdout.includes('ready') ? true : undefined));
      const { text, ok } = await auditVerify(config(dataDir));
      expect(ok).toBe(false);
      expect(text).toContain(`the ledger ${path.join(dataDir, SYSTEM_DATABASE_FILE)} is in use by another process (pid ${holder.pid}`);
      expect(text).toContain('stop it first or use GET /v1/audit');
    } finally {
      holder.kill();
    }
  });

  it('refuses a second open of the ledger in the same process', async () => {
    const dataDir = tempDir('audit');
    await openLedger(dataDir);
    const { text, ok } = await auditVerify(config(dataDir));
    expect(ok).toBe(false);
    expect(text).toContain('is already open in this process');
  });
});
