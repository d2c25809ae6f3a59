// Every variant, built from this tree, run alone in an empty directory with `env -i`.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadVariants, cloudsOf } from '../../build/variants.ts';
import { isolate, query, root, runToEnd, serve, tempDir, terminate } from '../support/process.ts';

const variants = loadVariants(path.join(root, 'variants'));
const nativeCache = tempDir('native');
/** Well-formed key names for each cloud: enough to construct the key clients, which make no request. */
const KMS_KEYS: Record<string, string> = {
  aws: 'arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000',
  gcp: 'projects/p/locations/global/keyRings/r/cryptoKeys/k',
  azure: 'https://vault.vault.azure.net/keys/k',
};
afterAll(() => fs.rmSync(nativeCache, { recursive: true, force: true }));

describe.each(variants)('$binary ($name)', (variant) => {
  const exe = isolate(variant.binary);
  const env = { SKYDUCK_NATIVE_CACHE: nativeCache };

  it('reports its variant and compiled clouds in version --json', async () => {
    const { code, stdout } = await runToEnd(exe, ['version', '--json']);
    expect(code).toBe(0);
    const facts = JSON.parse(stdout);
    expect(facts).toMatchObject({
      name: 'skyduck',
      variant: variant.name,
      binary: variant.binary,
      clouds: cloudsOf(variant),
      target: `${process.platform}-${process.arch}`,
      node: '26.10.0',
    });
    expect(facts.duckdb).toMatch(/^v\d+\.\d+\.\d+/);
    expect(facts.commit).toMatch(/^[0-9a-f]{12}(-dirty)?$/);
  });

  it('serves health and select 42, then stops on SIGTERM with exit 0', async () => {
    const running = await serve(exe, env);
    const health = await fetch(`${running.url}/v1/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const answer = await query(running.url, 'select 42');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ columns: [{ name: '42', type: 'INTEGER' }], rows: [[42]], row_count: 1 });
    expect(typeof answer.body.execution_time_ms).toBe('number');

    const info: any = await (await fetch(`${running.url}/v1/info`)).json();
    expect(info).toMatchObject({ variant: variant.name, clouds: cloudsOf(variant), provider: 'local' });

    expect(await terminate(running)).toBe(0);
  });

  const missing = (['aws', 'gcp', 'azure'] as const).filter((cloud) => !cloudsOf(variant).includes(cloud));
  // Only variants that leave a cloud out have one to refuse (the all-clouds binary has none).
  if (missing.length > 0) it('exits 2 at once when asked for a cloud it does not carry', async () => {
    for (const cloud of missing) {
      const { code, stdout, stderr } = await runToEnd(exe, ['serve'], { ...env, SKYDUCK_CLOUD: cloud });
      expect(code).toBe(2);
      expect(stdout).toBe('');
      const carriers = variants.filter((v) => cloudsOf(v).includes(cloud)).map((v) => v.binary);
      for (const carrier of carriers) expect(stderr).toContain(carrier);
      expect(stderr).toContain(`SKYDUCK_CLOUD=${cloud}`);
      expect(stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  const own = cloudsOf(variant).filter((cloud) => cloud !== 'local');
  if (own.length > 0) it('starts with each cloud it carries selected, its SDK loaded inside the binary', async () => {
    for (const cloud of own) {
      // A data dir that already has its database: a fresh one would first ask the bucket for a snapshot to
      // restore, and there is no emulator here. Constructing the clients makes no request.
      const dataDir = tempDir(`data-${cloud}`);
      // This first start may also publish the binary's native cache (60 MB, fsynced) before it exits, which
      // takes longer than 5 s on a loaded CI machine: a wider bound, the same exit code.
      expect(await terminate(await serve(exe, { ...env, SKYDUCK_DATA_DIR: dataDir }), 30_000)).toBe(0);
      const running = await serve(exe, {
        ...env, SKYDUCK_CLOUD: cloud, SKYDUCK_DATA_DIR: dataDir, SKYDUCK_KMS_KEY: KMS_KEYS[cloud]!,
        SKYDUCK_STORAGE_BUCKET: cloud === 'azure' ? 'account/container' : 'bucket', SKYDUCK_CLOUD_REGION: 'eu-west-1',
      });
      const info: any = await (await fetch(`${running.url}/v1/info`)).json();
      expect(info.provider).toBe(cloud);
      expect(info.sdk.length).toBeGreaterThan(0);
      expect(await terminate(running)).toBe(0);
    }
  });

  if (own.length > 0) it('refuses to serve a cloud without a bucket, naming the setting, exit 2', async () => {
    for (const cloud of own) {
      const { code, stderr } = await runToEnd(exe, ['serve'], { ...env, SKYDUCK_CLOUD: cloud, SKYDUCK_DATA_DIR: tempDir(`data-${cloud}`) });
      expect(code).toBe(2);
      expect(stderr).toContain('SKYDUCK_STORAGE_BUCKET');
    }
  });
});
