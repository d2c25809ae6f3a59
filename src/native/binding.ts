// DuckDB's Node-API binding inside a sealed executable. build/duckdb-plugin.ts points the bundle's
// `require('@duckdb/node-bindings-<target>/duckdb.node')` at nativeBinding(); prepareNative() must have
// run first (it is async so extraction overlaps the rest of start-up).
import { createRequire } from 'node:module';
import path from 'node:path';
import { getRawAsset, isSea } from 'node:sea';
import { ensureExtracted } from './extract.ts';
import { NativeCacheError } from './errors.ts';
import type { NativeManifest } from './manifest.ts';

declare const SKYDUCK_NATIVE: NativeManifest | null;

let preparedDir: string | undefined;

/** isSea() is false when the bundle runs as a plain script, and there are no assets to extract. */
const sealed = (): boolean => SKYDUCK_NATIVE !== null && isSea();

/** Makes DuckDB's native files ready to load. A no-op outside a sealed executable. */
export async function prepareNative(cacheRoot: string): Promise<void> {
  if (!sealed() || SKYDUCK_NATIVE === null) return;
  preparedDir = await ensureExtracted(cacheRoot, SKYDUCK_NATIVE, (key) => getRawAsset(key));
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
  return module.exports;
}
