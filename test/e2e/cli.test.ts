// The executable's command line and its start-up failures: each a clear line and the right exit code.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isolate, query, runToEnd, serve, tempDir, terminate, until } from '../support/process.ts';

const exe = isolate('skyduck-local');
const nativeCache = tempDir('native');
const env = { SKYDUCK_NATIVE_CACHE: nativeCache };

describe('skyduck-local command line', () => {
  it('prints usage for --help with exit 0', async () => {
    const { code, stdout } = await runToEnd(exe, ['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('usage: skyduck-local');
    expect(stdout).toContain('version [--json]');
  });

  it('prints a human version line', async () => {
    const { code, stdout } = await runToEnd(exe, ['version']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^skyduck-local \d+\.\d+\.\d+ \(local-only; clouds: local; /);
  });

  it.each([
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['--frobnicate'], "Unknown option '--frobnicate'"],
    [['serve', '--json'], '--json goes with version'],
    [['version', 'extra'], "unexpected argument 'extra'"],
  ])('refuses %j with usage text and exit 2', async (args, message) => {
    const { code, stdout, stderr } = await runToEnd(exe, args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
    expect(stderr).toContain('usage: skyduck-local');
  });

  it('refuses a malformed SKYDUCK_LISTEN with exit 2, naming the variable', async () => {
    const { code, stderr } = await runToEnd(exe, ['serve'], { ...env, SKYDUCK_LISTEN: 'localhost:http' });
    expect(code).toBe(2);
    expect(stderr).toContain('SKYDUCK_LISTEN=localhost:http');
  });

  it('says in one line that the port is in use, exit 1', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const { code, stderr } = await runToEnd(exe, ['serve'], { ...env, SKYDUCK_LISTEN: `127.0.0.1:${port}` });
      expect(code).toBe(1);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toContain(`cannot listen on 127.0.0.1:${port}: the address is already in use`);
      expect(stderr).toContain('SKYDUCK_LISTEN');
    } finally {
      blocker.close();
    }
  });

  it('names an unwritable data dir and SKYDUCK_DATA_DIR, exit 1', async () => {
    const file = path.join(tempDir('notadir'), 'file');
    fs.writeFileSync(file, 'x');
    const dataDir = path.join(file, 'data');
    const { code, stderr } = await runToEnd(exe, ['serve'], { ...env, SKYDUCK_DATA_DIR: dataDir });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(dataDir);
    expect(stderr).toContain('SKYDUCK_DATA_DIR');
  });

  it('names an unwritable native cache and SKYDUCK_NATIVE_CACHE, exit 1', async () => {
    const file = path.join(tempDir('notadir'), 'file');
    fs.writeFileSync(file, 'x');
    const cache = path.join(file, 'cache');
    const { code, stderr } = await runToEnd(exe, ['serve'], { SKYDUCK_NATIVE_CACHE: cache, SKYDUCK_LISTEN: '127.0.0.1:0' });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(cache);
    expect(stderr).toContain('SKYDUCK_NATIVE_CACHE');
  });

  it('answers a query error with 400 and a message, never a stack trace', async () => {
    const running = await serve(exe, env);
    const bad = await query(running.url, 'selec 42');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('query_error');
    expect(bad.body.error.message).toMatch(/syntax error/i);
    expect(JSON.stringify(bad.body)).not.toMatch(/\n\s+at /);
    expect(await terminate(running)).toBe(0);
  });

  it('refuses SQL that reaches outside the database: files, extensions, settings', async () => {
    const running = await serve(exe, env);
    for (const sql of ["select * from read_text('/etc/passwd')", 'INSTALL httpfs', 'SET enable_external_access = true']) {
      const refused = await query(running.url, sql);
      expect(refused.status, sql).toBe(403);
      expect(JSON.stringify(refused.body)).not.toContain('root:');
    }
    expect(await terminate(running)).toBe(0);
  });

  it('keeps data in SKYDUCK_DATA_DIR across restarts', async () => {
    const dataDir = tempDir('data');
    let running = await serve(exe, { ...env, SKYDUCK_DATA_DIR: dataDir });
    expect((await query(running.url, 'create table t as select 7 as x')).status).toBe(200);
    expect(await terminate(running)).toBe(0);
    running = await serve(exe, { ...env, SKYDUCK_DATA_DIR: dataDir });
    expect((await query(running.url, 'select x from t')).body.rows).toEqual([[7]]);
    expect(await terminate(running)).toBe(0);
  });

  it('finishes an in-flight query after SIGTERM, then exits 0', async () => {
    const running = await serve(exe, env);
    const slow = query(running.url, 'select count(*) from range(3000000000)');
    // Connections are accepted in order: once a later connection is answered, the slow one is in the server.
    await until('a later request to be answered', async () => ((await fetch(`${running.url}/v1/health`)).ok ? true : undefined));
    running.child.kill('SIGTERM');
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(answer.body.rows).toEqual([['3000000000']]);
    const { code } = await running.exit;
    expect(code).toBe(0);
  });
});
