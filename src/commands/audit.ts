// `skyduck audit verify`: recomputes the audit ledger's hash chain from the file on disk.
import { AuditLedger } from '../agent/audit.ts';
import { openSystemDatabase } from '../agent/system-db.ts';
import type { Config } from '../config/config.ts';
import { StartupError } from '../fs-checks.ts';

/** One line for the operator; ok is false when the chain is broken or the ledger cannot be read. */
export async function auditVerify(config: Config): Promise<{ text: string; ok: boolean }> {
  let db;
  try {
    // Read-only: verifying must never be what changes the ledger.
    db = await openSystemDatabase(config.dataDir, { readOnly: true });
    const result = await (await AuditLedger.open(db)).verify();
    if (result.ok) return { text: `audit ledger OK: ${result.rows} rows, chain intact`, ok: true };
    return { text: `audit ledger BROKEN at row ${result.seq}: ${result.reason}`, ok: false };
  } catch (error) {
    if (error instanceof StartupError) return { text: `audit ledger not verified: ${error.message}`, ok: false };
    throw error;
  } finally {
    db?.close();
  }
}
