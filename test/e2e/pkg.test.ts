// skyduck-local sealed by @yao-pkg/pkg (`--packager pkg`) passes what the default one passes: alone in an
// empty directory, `env -i`, version, health, select 42, SIGTERM. Built into a temp dir, so dist/ (the
// default packager's outputs) is left alone.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query, root, runToEnd, serve, tempDir, terminate } from '../support/process.ts';

const run = promisify(execFile);
const out = tempDir('pkg-out');
const nativeCache = tempDir('pkg-native');
let exe = '';

/** Like isolate(), from this test's out dir: the binary alone in a fresh empty directory. */
function isolateFrom(dir: string, binary: string): string {
  const copy = path.join(tempDir(`${binary}-pkg`), binary);
  fs.copyFileSync(path.join(dir, binary), copy);
  fs.chmodSync(copy, 0o755);
  return copy;
}

beforeAll(async () => {
  const node = path.join(root, 'node_modules', '.bin', 'node');
  await run(node, [path.join(root, 'build', 'build.ts'), '--variant', 'local-only', '--packager', 'pkg', '--out', out],
    { cwd: root, maxBuffer: 64 << 20 });
  exe = isolateFrom(out, 'skyduck-local');
});

afterAll(() => {
  for (const dir of [out, nativeCache, path.dirname(exe)]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('skyduck-local sealed by pkg', () => {
  it('is reported as sealed by pkg, with checksums', () => {
    const report = JSON.parse(fs.readFileSync(path.join(out, 'build-report.json'), 'utf8'));
    expect(report.variants).toHaveLength(1);
    expect(report.variants[0]).toMatchObject({ variant: 'local-only', binary: 'skyduck-local', packager: 'pkg' });
    expect(fs.readFileSync(path.join(out, 'SHA256SUMS'), 'utf8')).toMatch(/^[0-9a-f]{64} {2}skyduck-local\n$/);
  });

  it('reports its variant in version --json', async () => {
    const { code, stdout } = await runToEnd(exe, ['version', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      name: 'skyduck', variant: 'local-only', binary: 'skyduck-local', clouds: ['local'],
      target: `${process.platform}-${process.arch}`, node: '26.10.0',
    });
  });

  it('serves health and select 42, then stops on SIGTERM with exit 0', async () => {
    const running = await serve(exe, { SKYDUCK_NATIVE_CACHE: nativeCache });
    const health = await fetch(`${running.url}/v1/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const answer = await query(running.url, 'select 42');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ columns: [{ name: '42', type: 'INTEGER' }], rows: [[42]], row_count: 1 });
    expect(await terminate(running)).toBe(0);
  });

  it('starts again from the warm native cache', async () => {
    const running = await serve(exe, { SKYDUCK_NATIVE_CACHE: nativeCache });
    expect((await query(running.url, 'select 42')).body.rows).toEqual([[42]]);
    expect(await terminate(running)).toBe(0);
  });
});
