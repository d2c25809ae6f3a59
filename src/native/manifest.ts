/** How DuckDB's native files are sealed into the executable (written by build/native-assets.ts). */
export interface NativeFile {
  /** File name once extracted; duckdb.node finds libduckdb.so beside it through RUNPATH $ORIGIN. */
  name: string;
  /** SEA assets holding the file, in order, each with its decoded size (frames decode in parallel). */
  frames: { asset: string; size: number }[];
  codec: 'none' | 'zstd';
  size: number;
  sha256: string;
}

export interface NativeManifest {
  /** Cache directory name: DuckDB version + platform + hash of the files. */
  id: string;
  /** The Node-API module to dlopen. */
  module: string;
  files: NativeFile[];
}
