import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

describe('configuration', () => {
  it('defaults to local, ./skyduck-data and 127.0.0.1:8080', () => {
    const config = loadConfig({ HOME: '/home/u' });
    expect(config.cloud).toBe('local');
    expect(config.dataDir).toBe(path.resolve('skyduck-data'));
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.nativeCache).toBe('/home/u/.cache/skyduck/native');
    expect(config.sources.listen).toBe('default');
  });

  it('prefers the cloud-agnostic name over legacy ones, silently', () => {
    const config = loadConfig({ SKYDUCK_STORAGE_BUCKET: 'new', SKYDUCK_S3_BUCKET: 'old', S3_BUCKET: 'older' });
    expect(config.bucket).toBe('new');
    expect(config.sources.bucket).toBe('SKYDUCK_STORAGE_BUCKET');
    expect(config.warnings).toEqual([]);
  });

  it('falls back to a legacy name with a one-line deprecation warning naming the new one', () => {
    const config = loadConfig({ SKYDUCK_S3_BUCKET: 'old', SKYDUCK_KMS_KEY_ARN: 'arn:aws:kms:eu-west-1:1:key/k' });
    expect(config.bucket).toBe('old');
    expect(config.key).toBe('arn:aws:kms:eu-west-1:1:key/k');
    expect(config.warnings).toEqual([
      'SKYDUCK_S3_BUCKET is deprecated: set SKYDUCK_STORAGE_BUCKET instead',
      'SKYDUCK_KMS_KEY_ARN is deprecated: set SKYDUCK_KMS_KEY instead',
    ]);
  });

  it('selects aws when only a legacy S3 name is set', () => {
    const config = loadConfig({ S3_BUCKET: 'b' });
    expect(config.cloud).toBe('aws');
    expect(config.sources.cloud).toContain('S3_BUCKET');
  });

  it('takes the SDK-standard AWS region names without a warning', () => {
    const config = loadConfig({ AWS_DEFAULT_REGION: 'eu-west-1' });
    expect(config.region).toBe('eu-west-1');
    expect(config.sources.region).toBe('AWS_DEFAULT_REGION');
    expect(config.warnings).toEqual([]);
  });

  it.each([
    ['0.0.0.0:9000', { host: '0.0.0.0', port: 9000 }],
    ['[::1]:8081', { host: '::1', port: 8081 }],
    ['9090', { host: '127.0.0.1', port: 9090 }],
  ])('parses SKYDUCK_LISTEN=%s', (value, expected) => {
    expect(loadConfig({ SKYDUCK_LISTEN: value }).listen).toEqual(expected);
  });

  it.each(['localhost:http', '127.0.0.1:70000', 'a:b:c', '   '])('refuses SKYDUCK_LISTEN=%j naming the variable', (value) => {
    expect(() => loadConfig({ SKYDUCK_LISTEN: value })).toThrow(ConfigError);
    expect(() => loadConfig({ SKYDUCK_LISTEN: value })).toThrow(/SKYDUCK_LISTEN=.* is not host:port/);
  });

  it('refuses an unknown cloud, listing the known ones', () => {
    expect(() => loadConfig({ SKYDUCK_CLOUD: 'oracle' })).toThrow(/SKYDUCK_CLOUD=oracle .*local, aws, gcp, azure/);
  });

  it('puts the native cache under the temp dir when there is no home', () => {
    expect(loadConfig({}).nativeCache).toMatch(/skyduck-\w+\/native$/);
  });
});

describe('configuration warnings and printing', () => {
  it('warns about an unknown SKYDUCK_* variable and suggests the closest one', () => {
    const config = loadConfig({ SKYDUCK_DATADIR: '/x', SKYDUCK_LSITEN: '1' });
    expect(config.warnings).toEqual([
      'SKYDUCK_DATADIR is not a skyduck setting and is ignored: did you mean SKYDUCK_DATA_DIR?',
      'SKYDUCK_LSITEN is not a skyduck setting and is ignored: did you mean SKYDUCK_LISTEN?',
    ]);
  });

  it('prints every setting with its source, URLs without credentials', async () => {
    const { printConfig } = await import('../../src/commands/config.ts');
    let out = '';
    printConfig(loadConfig({
      SKYDUCK_S3_BUCKET: 'b',
      SKYDUCK_STORAGE_ENDPOINT: 'https://user:hunter2@s3.example.com/?X-Amz-Signature=abc',
    }), (text) => (out += text));
    expect(out).toMatch(/^bucket\s+b\s+SKYDUCK_S3_BUCKET\s+SKYDUCK_STORAGE_BUCKET$/m);
    expect(out).toMatch(/^cloud\s+aws\s+default \(aws, because SKYDUCK_S3_BUCKET is set\)/m);
    expect(out).toMatch(/^endpoint\s+https:\/\/s3\.example\.com\/\?\(redacted\)\s+SKYDUCK_STORAGE_ENDPOINT/m);
    expect(out).toMatch(/^listen\s+127\.0\.0\.1:8080\s+default/m);
    expect(out).toContain('warning: SKYDUCK_S3_BUCKET is deprecated: set SKYDUCK_STORAGE_BUCKET instead');
    expect(out).not.toContain('hunter2');
    expect(out).not.toContain('abc');
  });
});

describe('identity mode', () => {
  it('defaults to auto, the SDK default chains', () => {
    expect(loadConfig({}).identity).toBe('auto');
  });

  it.each(['workload', 'static'])('accepts SKYDUCK_IDENTITY=%s', (mode) => {
    expect(loadConfig({ SKYDUCK_IDENTITY: mode }).identity).toBe(mode);
  });

  it('refuses an unknown mode, listing the known ones', () => {
    expect(() => loadConfig({ SKYDUCK_IDENTITY: 'irsa' })).toThrow(/SKYDUCK_IDENTITY=irsa is not an identity mode: use one of auto, workload, static/);
  });
});
