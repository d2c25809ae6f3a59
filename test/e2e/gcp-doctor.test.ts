// skyduck-gcp and skyduck (all clouds) against the GCS, Cloud KMS and metadata-server fakes: doctor
// passes, authenticated by the metadata server's tokens (the fakes accept no other).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKms, startFakeKms } from '../fakes/cloud-kms.ts';
import { type FakeMetadata, startFakeMetadata } from '../fakes/gce-metadata.ts';
import { type FakeGcs, startFakeGcs } from '../fakes/gcs-json-api.ts';
import { isolate, runToEnd, tempDir } from '../support/process.ts';

const PROJECT = 'skyduck-e2e';
const KEY = `projects/${PROJECT}/locations/global/keyRings/r/cryptoKeys/snapshots`;

describe('doctor on GCP (GCS, Cloud KMS and metadata fakes)', () => {
  let metadata: FakeMetadata;
  let gcs: FakeGcs;
  let kms: FakeKms;
  let env: Record<string, string>;

  beforeAll(async () => {
    metadata = await startFakeMetadata({ project: PROJECT });
    gcs = await startFakeGcs({ acceptToken: (token) => metadata.issued.has(token) });
    kms = await startFakeKms({ acceptToken: (token) => metadata.issued.has(token) });
    gcs.createBucket('snapshots');
    kms.createKey(KEY);
    env = {
      GCE_METADATA_HOST: metadata.host,
      GOOGLE_CLOUD_PROJECT: PROJECT,
      SKYDUCK_CLOUD: 'gcp',
      SKYDUCK_STORAGE_BUCKET: 'snapshots',
      SKYDUCK_STORAGE_ENDPOINT: gcs.endpoint,
      SKYDUCK_KMS_ENDPOINT: kms.endpoint,
      SKYDUCK_KMS_KEY: KEY,
      SKYDUCK_NATIVE_CACHE: tempDir('native'),
    };
  });
  afterAll(async () => Promise.all([gcs?.stop(), kms?.stop(), metadata?.stop()]));

  it.each(['skyduck-gcp', 'skyduck'])('%s doctor passes every check', async (binary) => {
    const { code, stdout } = await runToEnd(isolate(binary), ['doctor'], env);
    expect(stdout).not.toMatch(/FAIL|SKIP/);
    expect(code).toBe(0);
    expect(stdout).toMatch(/PASS storage list\s+gs:\/\/snapshots/);
    expect(stdout).toContain(`gcp-kms://${KEY}`);
    expect(stdout).toMatch(/PASS identity\s+gcp workload identity: skyduck@skyduck-e2e\.iam\.gserviceaccount\.com via metadata server at 127\.0\.0\.1:\d+, token valid \d+ min/);
  });

  it('passes with SKYDUCK_IDENTITY=workload: the metadata server only, no credential variables', async () => {
    const { code, stdout } = await runToEnd(isolate('skyduck-gcp'), ['doctor'], { ...env, SKYDUCK_IDENTITY: 'workload' });
    expect(stdout).not.toMatch(/FAIL|SKIP/);
    expect(code).toBe(0);
    expect(stdout).toMatch(/PASS identity\s+gcp workload identity: /);
  });

  it('fails with access denied when its credentials are not accepted, in bounded time', async () => {
    const stranger = await startFakeMetadata({ project: PROJECT });
    try {
      const { code, stdout } = await runToEnd(isolate('skyduck-gcp'), ['doctor'], { ...env, GCE_METADATA_HOST: stranger.host });
      expect(code).toBe(1);
      expect(stdout).toMatch(/FAIL storage list\s+gcp: .*fix: grant skyduck's identity access/);
      expect(stdout).toMatch(/FAIL data key\s+gcp: .*fix: grant skyduck's identity access/);
      for (const token of stranger.issued) expect(stdout).not.toContain(token);
    } finally {
      await stranger.stop();
    }
  });

  it('fails naming the key and the setting when the key is disabled', async () => {
    kms.createKey(`${KEY}-disabled`);
    kms.disableKey(`${KEY}-disabled`);
    const { code, stdout } = await runToEnd(isolate('skyduck-gcp'), ['doctor'], { ...env, SKYDUCK_KMS_KEY: `${KEY}-disabled` });
    expect(code).toBe(1);
    expect(stdout).toMatch(/FAIL data key\s+.*snapshots-disabled.*SKYDUCK_KMS_KEY/);
  });

  it('fails naming the key and the setting when the key does not exist', async () => {
    const { code, stdout } = await runToEnd(isolate('skyduck-gcp'), ['doctor'], { ...env, SKYDUCK_KMS_KEY: `${KEY}-missing` });
    expect(code).toBe(1);
    expect(stdout).toMatch(/PASS storage delete/);
    expect(stdout).toMatch(/FAIL data key\s+gcp: .*snapshots-missing/);
  });
});
