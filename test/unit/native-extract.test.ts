// Extraction of DuckDB's native files from source, with SEA assets stood in by the build's own frame files.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareNativeAssets } from '../../build/native-assets.ts';
import { prepareRuntime } from '../../build/runtime.ts';
import { hostTargetName, resolveTarget } from '../../build/targets.ts';
import { isIntact } from '../../src/native/cache-dir.ts';
import { extract } from '../../src/native/extract.ts';
import type { NativeManifest } from '../../src/native/manifest.ts';
import { root, tempDir } from '../support/process.ts';

let manifest: NativeManifest;
let readAsset: (key: string) => ArrayBuffer;

beforeAll(() => {
  const target = resolveTarget(hostTargetName);
  const native = prepareNativeAssets(target, prepareRuntime(target, path.join(root, '.cache'), true), path.join(root, '.cache'), true);
  manifest = native.manifest;
  readAsset = (key) => {
    const bytes = fs.readFileSync(native.assets[key]!);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  };
});

describe('native extraction', () => {
  it('writes every file at its recorded size and marks the copy intact', async () => {
    const cache = tempDir('extract');
    const extraction = await extract(cache, manifest, readAsset);
    for (const file of manifest.files) expect(fs.statSync(path.join(extraction.dir, file.name)).size).toBe(file.size);
    expect(isIntact(extraction.dir, manifest.files)).toBe(true);
    expect(manifest.files.find((f) => f.name === 'libduckdb.so')!.codec).toBe('zstd');

    const published = await extraction.publish();
    expect(published).toBe(path.join(cache, manifest.id));
    expect(isIntact(published, manifest.files)).toBe(true);
    expect(fs.readdirSync(cache)).toEqual([manifest.id]);
  });

  it('leaves one intact copy when extractions race', async () => {
    const cache = tempDir('extract');
    const extractions = await Promise.all([1, 2, 3].map(() => extract(cache, manifest, readAsset)));
    const dirs = await Promise.all(extractions.map((extraction) => extraction.publish()));
    expect(new Set(dirs).size).toBe(1);
    expect(isIntact(dirs[0]!, manifest.files)).toBe(true);
    expect(fs.readdirSync(cache)).toEqual([manifest.id]);
  });

  it('removes the temp dir a dead process left behind', async () => {
    const cache = tempDir('extract');
    const abandoned = path.join(cache, `.${manifest.id}.tmp-999999999-deadbeef`);
    fs.mkdirSync(abandoned);
    await (await extract(cache, manifest, readAsset)).publish();
    expect(fs.existsSync(abandoned)).toBe(false);
  });

  it('fails with the setting to change when the cache cannot be written', async () => {
    const file = path.join(tempDir('extract'), 'file');
    fs.writeFileSync(file, '');
    await expect(extract(file, manifest, readAsset)).rejects.toThrow(/SKYDUCK_NATIVE_CACHE/);
  });
});
