// `skyduck mcp`: the MCP server over stdio for desktop clients (Claude Desktop, IDEs), on the data dir
// directly. It acts as the key in SKYDUCK_API_KEY; without one, as the data dir's owner (whoever can run
// this can read the files anyway), with admin scope. stdout is the protocol: logs go to stderr only.
import os from 'node:os';
import { buildInfo } from '../build-info.ts';
import type { Config } from '../config/config.ts';
import { ConfigError } from '../cloud/errors.ts';
import { KeyStore } from '../agent/keys.ts';
import type { Principal } from '../engine/types.ts';
import { stagingPath } from '../data-dir.ts';
import { StartupError } from '../fs-checks.ts';
import { createLogger, errorFields } from '../log.ts';
import { prepareNative } from '../native/binding.ts';

export async function mcpStdio(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const log = createLogger(config.logLevel);
  const keys = new KeyStore(config.dataDir);
  const token = env.SKYDUCK_API_KEY;
  let principal: Principal;
  if (token) {
    const found = keys.authenticate(token);
    if (!found) throw new ConfigError(`SKYDUCK_API_KEY is not a valid key of ${keys.file} (revoked, or of another data dir): \`skyduck keys list\` shows the keys`);
    principal = found;
  } else {
    principal = { keyId: 'local', agent: `local:${os.userInfo().username}`, scope: 'admin' };
  }

  await prepareNative(config.nativeCache);
  const [{ Database }, { openSystemDatabase }, { AuditLedger, toAuditEntry }, { MemoryStore }, { Warehouse }, mcp, { StdioServerTransport }] = await Promise.all([
    import('../engine/database.ts'), import('../agent/system-db.ts'), import('../agent/audit.ts'), import('../agent/memory.ts'),
    import('../engine/warehouse.ts'), import('../agent/mcp.ts'), import('@modelcontextprotocol/sdk/server/stdio.js'),
  ]);
  const busy = (error: unknown): never => {
    if (/Could not set lock|in use by/.test((error as Error)?.message ?? '')) {
      throw new StartupError(`the data dir ${config.dataDir} is in use by a running skyduck server: point the MCP client at its POST /mcp endpoint instead`);
    }
    throw error;
  };
  const database = await Database.open(config.dataDir, { maxConcurrentQueries: config.maxConcurrentQueries, memoryLimit: config.memoryLimit, threads: config.threads }).catch(busy);
  const system = await openSystemDatabase(config.dataDir).catch(busy);
  const ledger = await AuditLedger.open(system);
  const memory = await MemoryStore.open(system);
  const warehouse = new Warehouse({
    database,
    limits: { queryTimeout: config.queryTimeout, maxResultRows: config.maxResultRows, maxResultBytes: config.maxResultBytes, maxIngestBytes: config.maxIngestBytes },
    audit: (record) => ledger.append(toAuditEntry(record)),
    auditLog: (query) => ledger.flush().then(() => ledger.list(query)),
    verifyAudit: () => ledger.flush().then(() => ledger.verify()),
  });
  const [{ SnapshotService, snapshotOperations }, { openSnapshotStore }, { loadCloud }] = await Promise.all([
    import('../snapshot/service.ts'), import('../snapshot/open.ts'), import('../cloud/index.ts'),
  ]);
  const snapshots = new SnapshotService({
    store: openSnapshotStore(config, await loadCloud(config.cloud)),
    version: buildInfo.version,
    keep: config.snapshotKeep,
    keysFile: keys.file,
    sources: [
      { database: 'main', connect: () => database.connect(), stagingFile: stagingPath(config.dataDir, 'main') },
      { database: 'system', connect: () => system.connect(), stagingFile: stagingPath(config.dataDir, 'system') },
    ],
    beforeSnapshot: () => ledger.flush(),
    log: (event, fields) => log.info(event, fields),
  });
  const server = mcp.createMcpServer(principal, {
    version: buildInfo.version,
    query: (p, request) => warehouse.query(p, request),
    listTables: (p) => warehouse.listTables(p),
    describeTable: (p, name) => warehouse.describeTable(p, name),
    memory: async () => memory,
    snapshots: snapshotOperations(async () => snapshots),
  }, (error) => log.error('mcp.tool_failed', errorFields(error, true)));

  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
  });
  await server.connect(transport);
  process.stderr.write(`${buildInfo.binary} mcp on stdio as ${principal.agent} (${principal.scope} scope), data in ${config.dataDir}\n`);
  const stop = new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
    process.stdin.once('end', resolve);
  });
  await Promise.race([closed, stop]);
  await server.close();
  memory.close();
  await ledger.close();
  system.close();
  database.close();
}
