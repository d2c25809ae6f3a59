// DuckDB's native files are extracted from the executable into SKYDUCK_NATIVE_CACHE on first start.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isolate, query, serve, tempDir, terminate } from '../support/process.ts';

const exe = isolate('skyduck-local');

function extractedDir(cache: string): string {
  const dirs = fs.readdirSync(cache).filter((name) => name.startsWith('duckdb-') && !name.includes('.damaged-'));
  expect(dirs).toHaveLength(1);
  return path.join(cache, dirs[0]!);
}

async function answers42(env: Record<string, string>): Promise<void> {
  const running = await serve(exe, env);
  expect((await query(running.url, 'select 42')).body.rows).toEqual([[42]]);
  expect(await terminate(running)).toBe(0);
}

describe('native cache', () => {
  it('is named by DuckDB version, platform and hash, and holds both native files', async () => {
    const cache = tempDir('cache');
    await answers42({ SKYDUCK_NATIVE_CACHE: cache });
    const dir = extractedDir(cache);
    expect(path.basename(dir)).toMatch(new RegExp(`^duckdb-\\d+\\.\\d+\\.\\d+.*-${process.platform}-${process.arch}-[0-9a-f]{12}$`));
    expect(fs.readdirSync(dir).sort()).toEqual(['.stamp.json', 'duckdb.node', 'libduckdb.so']);
    expect(fs.statSync(cache).mode & 0o077).toBe(0);
  });

  it('repairs a deleted file on the next start', async () => {
    const cache = tempDir('cache');
    await answers42({ SKYDUCK_NATIVE_CACHE: cache });
    const lib = path.join(extractedDir(cache), 'libduckdb.so');
    const size = fs.statSync(lib).size;
    fs.rmSync(lib);
    await answers42({ SKYDUCK_NATIVE_CACHE: cache });
    expect(fs.statSync(path.join(extractedDir(cache), 'libduckdb.so')).size).toBe(size);
  });

  it('repairs a truncated file on the next start', async () => {
    const cache = tempDir('cache');
    await answers42({ SKYDUCK_NATIVE_CACHE: cache });
    const module = path.join(extractedDir(cache), 'duckdb.node');
    const size = fs.statSync(module).size;
    fs.truncateSync(module, 1000);
    await answers42({ SKYDUCK_NATIVE_CACHE: cache });
    expect(fs.statSync(path.join(extractedDir(cache), 'duckdb.node')).size).toBe(size);
  });

  it('repairs a file overwritten with other bytes of the same size', async () => {
    const cache = tempDir('cache');
    await answers42({ SKYDUCK_NATIVE_CACHE: cache });
    const lib = path.join(extractedDir(cache), 'libduckdb.so');
    const original = fs.readFileSync(lib);
    const fd = fs.openSync(lib, 'r+');
    fs.writeSync(fd, Buffer.alloc(4096, 0x90), 0, 4096, 8192);
    fs.closeSync(fd);
    await answers42({ SKYDUCK_NATIVE_CACHE: cache });
    expect(fs.readFileSync(path.join(extractedDir(cache), 'libduckdb.so')).equals(original)).toBe(true);
  });

  it('is safe when two processes extract into an empty cache at once', async () => {
    const cache = tempDir('cache');
    const [a, b] = await Promise.all([
      serve(exe, { SKYDUCK_NATIVE_CACHE: cache, SKYDUCK_DATA_DIR: tempDir('data-a') }),
      serve(exe, { SKYDUCK_NATIVE_CACHE: cache, SKYDUCK_DATA_DIR: tempDir('data-b') }),
    ]);
    expect((await query(a.url, 'select 1')).body.rows).toEqual([[1]]);
    expect((await query(b.url, 'select 2')).body.rows).toEqual([[2]]);
    expect(await terminate(a)).toBe(0);
    expect(await terminate(b)).toBe(0);
    extractedDir(cache);
    expect(fs.readdirSync(cache).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });
});
