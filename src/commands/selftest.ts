// `skyduck selftest`: a smoke test of this binary in this environment. It starts the HTTP API on a free
// loopback port inside the process (on a throwaway data dir, so a running server's data is never touched),
// answers a query through HTTP, then runs doctor's storage and key checks against the configuration.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config/config.ts';
import { doctor } from './doctor.ts';
import { startServer } from './serve.ts';

async function queryOverHttp(url: string, key: string): Promise<void> {
  const response = await fetch(`${url}/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ sql: 'select 42 as answer' }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await response.json()) as { rows?: unknown[][] };
  if (response.status !== 200 || JSON.stringify(body.rows) !== '[[42]]') {
    throw new Error(`POST ${url}/v1/query answered ${response.status}: ${JSON.stringify(body).slice(0, 200)}`);
  }
}

export async function selftest(config: Config, write: (line: string) => void, fail: (error: unknown) => never): Promise<boolean> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'skyduck-selftest-'));
  let httpPassed = false;
  try {
    const started = performance.now();
    const server = await startServer({ ...config, dataDir: scratch, listen: { host: '127.0.0.1', port: 0 } }, fail);
    try {
      // The scratch data dir is fresh, so this start made an admin key; it dies with the scratch dir.
      await queryOverHttp(server.url, server.initialAdminKey ?? '');
      httpPassed = true;
      write(`PASS ${'http query'.padEnd(16)} select 42 over ${server.url} (${Math.round(performance.now() - started)} ms)\n`);
    } catch (error) {
      write(`FAIL ${'http query'.padEnd(16)} ${(error as Error).message}\n`);
    } finally {
      await server.stop();
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const cloudPassed = await doctor(config, write);
  return httpPassed && cloudPassed;
}
