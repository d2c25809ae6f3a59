// The build refuses a bundle that carries an SDK of a cloud its variant excludes, naming the package.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageOf } from '../../build/leak-check.ts';
import { root, tempDir } from '../support/process.ts';

describe('leak check', () => {
  it('refuses a variant that imports an excluded SDK outside the guard, naming the package', () => {
    const result = spawnSync(process.execPath, [
      path.join(root, 'build', 'build.ts'),
      '--variants', path.join(root, 'test', 'fixtures', 'leaky-variant'),
      '--out', tempDir('leaky'),
      '--no-seal',
    ], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('leaky-aws: the bundle carries SDKs of clouds this variant excludes');
    expect(result.stderr).toMatch(/@google-cloud\/storage \(\d+ bytes; CLOUD_GCP is false\)/);
    expect(result.stderr).not.toContain('@aws-sdk/');
  });

  it('passes every real variant', () => {
    const result = spawnSync(process.execPath, [path.join(root, 'build', 'build.ts'), '--out', tempDir('clean'), '--no-seal'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.match(/leak check/g)).toHaveLength(5);
  });

  it('attributes an input to its innermost package', () => {
    expect(packageOf('node_modules/@aws-sdk/client-s3/dist-cjs/index.js')).toBe('@aws-sdk/client-s3');
    expect(packageOf('node_modules/google-gax/node_modules/@grpc/grpc-js/build/src/index.js')).toBe('@grpc/grpc-js');
    expect(packageOf('node_modules/hono/dist/cjs/hono.js')).toBe('hono');
    expect(packageOf('src/cloud/index.ts')).toBeUndefined();
  });
});
