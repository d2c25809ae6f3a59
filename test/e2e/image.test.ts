// The skyduck-local container image, built by build/images.ts from dist/ and run with podman through runc,
// without a network. Where podman, buildah or runc is missing this skips with the reason; under CI=true
// (.ci/run installs them) that is a failure instead.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inCI } from '../support/emulators.ts';
import { dist, launch, root, tempDir, until } from '../support/process.ts';

const binary = 'skyduck-local';
const UID = 65532;
const env = { ...process.env } as Record<string, string>;
const storage = process.env.STORAGE_DRIVER ? [] : ['--storage-driver', 'vfs'];
// crun does not work on every host (not on this project's machines): runc, cgroupfs, file events, no network.
const podmanFlags = [...storage, '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--runtime', 'runc'];
const runFlags = ['run', '--rm', '--network', 'none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

function missingTools(): string | undefined {
  const missing = ['podman', 'buildah', 'runc'].filter((tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0);
  return missing.length > 0 ? `${missing.join(', ')} not installed (apt-get install podman buildah runc uidmap)` : undefined;
}

async function podman(args: string[], timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = launch('podman', [...podmanFlags, ...args], env);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
  const { code } = await run.exit;
  clearTimeout(timer);
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

const missing = missingTools();

describe.skipIf(missing !== undefined && !inCI)(`container image${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let ref = '';
  let built = '';
  let builtSeconds = 0;

  beforeAll(async () => {
    if (missing) throw new Error(`container image: ${missing}`);
    const started = performance.now();
    // The project's node (the one `npm run` puts first on PATH), whatever node runs vitest.
    const projectNode = path.join(root, 'node_modules', '.bin', 'node');
    const node = fs.existsSync(projectNode) ? projectNode : process.execPath;
    const run = launch(node, [path.join(root, 'build', 'images.ts'), '--variant', 'local-only'], env);
    const timer = setTimeout(() => run.child.kill('SIGKILL'), 600_000);
    const { code } = await run.exit;
    clearTimeout(timer);
    built = run.stdout();
    builtSeconds = (performance.now() - started) / 1000;
    if (code !== 0) throw new Error(`build/images.ts exited ${code}:\n${run.stdout()}\n${run.stderr()}`);
    ref = /image (\S+): /.exec(built)?.[1] ?? '';
    if (!ref) throw new Error(`build/images.ts named no image:\n${built}`);
  }, 600_000);

  afterAll(async () => {
    if (ref) await podman(['rmi', '--force', ref]);
  }, 120_000);

  it('holds only the binary, its libraries, CA certificates and users: at most the binary + 10 MB', async () => {
    const inspected = await podman(['image', 'inspect', '--format', '{{.Size}}', ref]);
    expect(inspected.code).toBe(0);
    const size = Number(inspected.stdout.trim());
    const binarySize = fs.statSync(path.join(dist, binary)).size;
    console.log(`${ref}: ${(size / 1e6).toFixed(1)} MB, binary ${(binarySize / 1e6).toFixed(1)} MB, built in ${builtSeconds.toFixed(1)} s`);
    expect(size).toBeGreaterThan(binarySize);
    expect(size).toBeLessThanOrEqual(binarySize + 10e6);

    const rootfs = path.join(dist, 'images', binary, 'rootfs');
    expect(fs.statSync(path.join(rootfs, 'skyduck')).size).toBe(binarySize);
    expect(fs.existsSync(path.join(rootfs, 'etc', 'ssl', 'certs', 'ca-certificates.crt'))).toBe(true);
    expect(fs.readFileSync(path.join(rootfs, 'etc', 'passwd'), 'utf8')).toContain(`skyduck:x:${UID}:${UID}:`);
    expect(fs.statSync(path.join(rootfs, 'tmp')).mode & 0o7777).toBe(0o1777);
  });

  it('is configured to run /skyduck serve as uid 65532 on 0.0.0.0:8080 with its data in /data', async () => {
    const inspected = await podman(['image', 'inspect', '--format', '{{json .Config}}', ref]);
    expect(inspected.code).toBe(0);
    const config = JSON.parse(inspected.stdout);
    expect(config.User).toBe(`${UID}:${UID}`);
    expect(config.Entrypoint).toEqual(['/skyduck']);
    expect(config.Cmd).toEqual(['serve']);
    expect(config.Env).toEqual(expect.arrayContaining([
      'SKYDUCK_LISTEN=0.0.0.0:8080', 'SKYDUCK_DATA_DIR=/data', 'SKYDUCK_NATIVE_CACHE=/tmp/skyduck-native', 'HOME=/data',
    ]));
    expect(Object.keys(config.ExposedPorts ?? {})).toEqual(['8080/tcp']);
  });

  it('passes selftest without a network: HTTP query, storage and key round trips as uid 65532', async () => {
    // `selftest` where this binary has it, else `doctor` (the same storage and key checks, no HTTP).
    const help = spawnSync(path.join(dist, binary), ['help'], { encoding: 'utf8' }).stdout;
    const command = /^\s+selftest\b/m.test(help) ? 'selftest' : 'doctor';
    const { code, stdout, stderr } = await podman([...runFlags, ref, command]);
    expect(code, `${command}:\n${stdout}\n${stderr}`).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines.filter((line) => !line.startsWith('PASS '))).toEqual([]);
    if (command === 'selftest') expect(stdout).toMatch(/^PASS http query/m);
    expect(stdout).toMatch(/PASS storage write\s+file:\/\/\/data\/storage\//);
    expect(stdout).toContain(`uid ${UID}`);
  });

  it('runs commands as uid 65532: a key written to a mounted directory belongs to 65532', async () => {
    const version = await podman([...runFlags, ref, 'version', '--json']);
    expect(version.code, version.stderr).toBe(0);
    expect(JSON.parse(version.stdout)).toMatchObject({ binary, variant: 'local-only', clouds: ['local'] });

    const out = tempDir('image-out');
    fs.chmodSync(out, 0o777);
    try {
      const keygen = await podman([...runFlags, '--volume', `${out}:/out`, ref, 'keygen', '--out', '/out/skyduck.key']);
      expect(keygen.code, keygen.stderr).toBe(0);
      const key = fs.statSync(path.join(out, 'skyduck.key'));
      expect(key.mode & 0o777).toBe(0o600);
      // Rootful podman maps uids one to one; rootless maps them into the user's subuid range.
      if (process.getuid?.() === 0) expect([key.uid, key.gid]).toEqual([UID, UID]);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('serves by default as PID 1 and stops cleanly (exit 0) on podman stop', async () => {
    const name = `skyduck-image-test-${process.pid}`;
    const run = launch('podman', [...podmanFlags, ...runFlags, '--name', name, ref], env);
    let exited = false;
    void run.exit.then(() => (exited = true));
    try {
      await until('the listening line', () => {
        if (exited) throw new Error(`exited before listening:\n${run.stdout()}\n${run.stderr()}`);
        return /listening on http:\/\/0\.0\.0\.0:8080\b/.test(run.stdout()) || undefined;
      }, 60_000);
      const stop = await podman(['stop', '--time', '10', name], 60_000);
      expect(stop.code, stop.stderr).toBe(0);
      const { code } = await run.exit;
      expect(code, `${run.stdout()}\n${run.stderr()}`).toBe(0);
      expect(run.stdout() + run.stderr()).toContain('SIGTERM');
    } finally {
      if (!exited) await podman(['rm', '--force', name], 60_000);
    }
  }, 120_000);
});
