// A whole warehouse from source on a temp data dir: the user database, the system database with its
// audit ledger, a key store with one key per scope, and the HTTP app on top. No executable involved.
import { AuditLedger, toAuditEntry } from '../../src/agent/audit.ts';
import { KeyStore } from '../../src/agent/keys.ts';
import { openSystemDatabase, type SystemDatabase } from '../../src/agent/system-db.ts';
import { createApp } from '../../src/api/app.ts';
import { authenticate } from '../../src/engine/authenticate.ts';
import { Database } from '../../src/engine/database.ts';
import { Warehouse, type WarehouseLimits } from '../../src/engine/warehouse.ts';
import { tempDir } from './process.ts';

export interface TestWarehouse {
  dataDir: string;
  database: Database;
  system: SystemDatabase;
  ledger: AuditLedger;
  keyStore: KeyStore;
  warehouse: Warehouse;
  app: ReturnType<typeof createApp>;
  keys: { read: string; write: string; admin: string };
  logged: unknown[];
  /** POST /v1/query with a key (default: the write key). */
  query(sql: string, options?: { key?: string; params?: unknown; accept?: string }): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  close(): Promise<void>;
}

export const DEFAULT_LIMITS: WarehouseLimits = {
  queryTimeout: 60_000,
  maxResultRows: 100_000,
  maxResultBytes: 64 * 1024 * 1024,
  maxIngestBytes: 64 * 1024 * 1024,
};

export async function openTestWarehouse(options: {
  limits?: Partial<WarehouseLimits>;
  maxConcurrentQueries?: number;
  maxBodyBytes?: number;
} = {}): Promise<TestWarehouse> {
  const dataDir = tempDir('warehouse');
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const database = await Database.open(dataDir, { maxConcurrentQueries: options.maxConcurrentQueries ?? 8 });
  const system = await openSystemDatabase(dataDir);
  const ledger = await AuditLedger.open(system);
  const keyStore = new KeyStore(dataDir);
  const keys = {
    read: keyStore.create({ scope: 'read', agent: 'reader' }).key,
    write: keyStore.create({ scope: 'write', agent: 'writer' }).key,
    admin: keyStore.create({ scope: 'admin', agent: 'boss' }).key,
  };
  const warehouse = new Warehouse({
    database,
    limits,
    audit: (record) => ledger.append(toAuditEntry(record)),
    auditLog: (query) => ledger.flush().then(() => ledger.list(query)),
    verifyAudit: () => ledger.flush().then(() => ledger.verify()),
  });
  const logged: unknown[] = [];
  const app = createApp({
    warehouse,
    authenticate: (token) => authenticate(token, (candidate) => keyStore.authenticate(candidate)),
    info: () => ({ variant: 'test', version: '0.0.0' }),
    identity: async () => ({ principal: 'tester', source: 'test' }),
    limits: { maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024, maxIngestBytes: limits.maxIngestBytes },
    logError: (error) => logged.push(error),
  });
  return {
    dataDir, database, system, ledger, keyStore, warehouse, app, keys, logged,
    async query(sql, { key = keys.write, params, accept } = {}) {
      const response = await app.request('/v1/query', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...(accept ? { accept } : {}) },
        body: JSON.stringify(params === undefined ? { sql } : { sql, params }),
      });
      const text = await response.text();
      let body: any;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { status: response.status, body, text, headers: response.headers };
    },
    async close() {
      database.close();
      await ledger.close();
      system.close();
    },
  };
}
