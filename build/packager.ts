// The last build step: bundle + Node runtime + DuckDB's native assets -> one executable. Two
// implementations (build/packagers/); build.ts picks one by name and knows nothing else about it.
import { BuildError } from './errors.ts';
import type { Target } from './targets.ts';

export interface SealOptions {
  /** The esbuild bundle (CJS), the program's entry. */
  bundleFile: string;
  /** The verified (and stripped) Node binary of the target, from build/runtime.ts. */
  runtimeNode: string;
  /** SEA asset key -> file path; the bundle reads them with node:sea getRawAsset(key). */
  assets: Record<string, string>;
  output: string;
  /** V8 code cache is only valid for the Node that builds it: host targets only. */
  codeCache: boolean;
  /** A scratch directory of this variant's build. */
  workDir: string;
  target: Target;
}

export interface Packager {
  name: PackagerName;
  seal(opts: SealOptions): Promise<void>;
}

export const packagerNames = ['node-sea', 'pkg'] as const;
export type PackagerName = (typeof packagerNames)[number];

export async function loadPackager(name: string): Promise<Packager> {
  switch (name) {
    case 'node-sea':
      return (await import('./packagers/node-sea.ts')).nodeSea;
    case 'pkg':
      return (await import('./packagers/pkg.ts')).pkg;
    default:
      throw new BuildError(`unknown packager '${name}': use one of ${packagerNames.join(', ')}`);
  }
}
