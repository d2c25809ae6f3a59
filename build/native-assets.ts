// DuckDB's native files as SEA assets: both stripped of symbol tables; libduckdb.so compressed with zstd
// in two frames that the executable decompresses in parallel on first start (bench/ measures the cost).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { NativeFile, NativeManifest } from '../src/native/manifest.ts';
import { stripped } from './runtime.ts';
import type { Runtime } from './runtime.ts';
import type { Target } from './targets.ts';

const ZSTD_LEVEL = 9;
const FRAMES = 2;

export interface NativeAssets {
  manifest: NativeManifest;
  /** SEA asset key -> file path. */
  assets: Record<string, string>;
}

/** FRAMES files of consecutive slices of `bytes` (the last one shorter), each compressed on its own. */
function compressFrames(bytes: Buffer, outBase: string): string[] {
  const frameSize = Math.ceil(bytes.length / FRAMES);
  const paths: string[] = [];
  for (let i = 0; i < FRAMES; i++) {
    const out = `${outBase}.zst.${i}`;
    if (!fs.existsSync(out)) {
      const frame = zlib.zstdCompressSync(bytes.subarray(i * frameSize, (i + 1) * frameSize), {
        params: { [zlib.constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL },
      });
      fs.writeFileSync(`${out}.tmp`, frame);
      fs.renameSync(`${out}.tmp`, out);
    }
    paths.push(out);
  }
  return paths;
}

export function prepareNativeAssets(target: Target, runtime: Runtime, cacheDir: string, compress: boolean): NativeAssets {
  const dir = path.join(cacheDir, 'native', `duckdb-${runtime.duckdbVersion}-${target.name}`);
  fs.mkdirSync(dir, { recursive: true });
  const files: NativeFile[] = [];
  const assets: Record<string, string> = {};
  for (const name of ['duckdb.node', 'libduckdb.so']) {
    const source = path.join(runtime.duckdbDir, name);
    const plain = runtime.strip ? stripped(source, path.join(dir, name), target) : source;
    const bytes = fs.readFileSync(plain);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    // duckdb.node is 0.5 MB: compressing it would save little and cost a decompression.
    const framesBase = path.join(dir, runtime.strip ? name : `${name}.unstripped`);
    const compressed = compress && name === 'libduckdb.so';
    const paths = compressed ? compressFrames(bytes, framesBase) : [plain];
    const frameSize = Math.ceil(bytes.length / paths.length);
    const frames = paths.map((file, i) => {
      const asset = compressed ? `${name}.zst.${i}` : name;
      assets[asset] = file;
      return { asset, size: Math.min(frameSize, bytes.length - i * frameSize) };
    });
    files.push({ name, frames, codec: compressed ? 'zstd' : 'none', size: bytes.length, sha256 });
  }
  const hash = createHash('sha256').update(files.map((f) => f.sha256).join()).digest('hex').slice(0, 12);
  const id = `duckdb-${runtime.duckdbVersion}-${target.name}-${hash}`;
  return { manifest: { id, module: 'duckdb.node', files }, assets };
}
