// DuckDB's Node-API binding inside a sealed executable. build/duckdb-plugin.ts points the bundle's
// `require('@duckdb/node-bindings-<target>/duckdb.node')` at nativeBinding(); prepareNative() must have
// run first (it is async so extraction overlaps the rest of start-up).
import { createRequire } from 'node:module';
import path from 'node:path';
import { getRawAsset, isSea } from 'node:sea';
import { ensureRoot, isIntact } from './cache-dir.ts';
import { NativeCacheError } from './errors.ts';
import type { Extraction } from './extract.ts';
import type { NativeManifest } from './manifest.ts';

declare const SKYDUCK_NATIVE: NativeManifest | null;

let preparedDir: string | undefined;
let extraction: Extraction | undefined;
let saved: Promise<string> | undefined;

/** isSea() is false when the bundle runs as a plain script, and there are no assets to extract. */
const sealed = (): boolean => SKYDUCK_NATIVE !== null && isSea();

/** Makes DuckDB's native files ready to load. A no-op outside a sealed executable. */
export async function prepareNative(cacheRoot: string): Promise<void> {
  if (!sealed() || SKYDUCK_NATIVE === null) return;
  ensureRoot(cacheRoot);
  const dir = path.join(cacheRoot, SKYDUCK_NATIVE.id);
  if (isIntact(dir, SKYDUCK_NATIVE.files)) {
    preparedDir = dir;
    return;
  }
  const { extract } = await import('./extract.ts');
  extraction = await extract(cacheRoot, SKYDUCK_NATIVE, (key) => getRawAsset(key));
  preparedDir = extraction.dir;
}

function explainLoadFailure(dir: string, error: Error): Error {
  if (/failed to map segment|operation not permitted/i.test(error.message)) {
    return new NativeCacheError(
      `cannot load DuckDB's native library from ${dir}: its filesystem does not allow executable mappings (noexec); ` +
        'set SKYDUCK_NATIVE_CACHE to a directory on a filesystem that allows exec',
    );
  }
  return new NativeCacheError(`cannot load DuckDB's native library from ${dir}: ${error.message}`);
}

/** Settles once a fresh extraction is durable in the cache (at once when there was none). */
export function nativeCacheSaved(): Promise<unknown> {
  return saved ?? Promise.resolve();
}

/** The loaded binding module, as the package's own require of duckdb.node would return it. */
export function nativeBinding(): unknown {
  if (!sealed() || SKYDUCK_NATIVE === null) {
    // A bundle run as a plain script: load the binding installed beside it, as the package would.
    const require = createRequire(path.join(process.cwd(), 'noop.js'));
    return require(`@duckdb/node-bindings-${process.platform}-${process.arch}/duckdb.node`);
  }
  if (preparedDir === undefined) throw new Error('internal: prepareNative() must run before DuckDB is imported');
  const module = { exports: {} };
  try {
    process.dlopen(module, path.join(preparedDir, SKYDUCK_NATIVE.module));
  } catch (error) {
    throw explainLoadFailure(preparedDir, error as Error);
  }
  // A fresh extraction is published only now, off the path to the first answer.
  saved = extraction?.publish();
  return module.exports;
}
