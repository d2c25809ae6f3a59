// The pieces a target's executable is made of: the Node binary (stripped) and DuckDB's native files.
// The host target uses what `npm ci` installed (lock-file verified); other targets are fetched.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fetchPackage } from './fetch-package.ts';
import { type Target, isHostTarget } from './targets.ts';

const require = createRequire(import.meta.url);

export interface Runtime {
  node: string;
  duckdbDir: string;
  duckdbVersion: string;
  strip: boolean;
}

function installedVersion(pkg: string): string {
  return (require(`${pkg}/package.json`) as { version: string }).version;
}

/** `strip` for the host's architecture; llvm-strip handles other ELF machines too. */
function findStrip(target: Target): string | undefined {
  const candidates = isHostTarget(target) ? ['strip', 'llvm-strip'] : ['llvm-strip', `${target.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu-strip`];
  for (const tool of candidates) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
      return tool;
    } catch {
      // not installed; try the next one
    }
  }
  return undefined;
}

/**
 * `source` stripped of its symbol tables (symbols only: the code is the same, bench/ measures start-up),
 * cached at `dest`. Without a strip tool for the target, `source` itself.
 */
export function stripped(source: string, dest: string, target: Target): string {
  if (fs.existsSync(dest)) return dest;
  const tool = findStrip(target);
  if (!tool) {
    console.warn(`build: no strip tool for ${target.name} (install binutils or llvm); ${path.basename(source)} stays unstripped`);
    return source;
  }
  const tmp = `${dest}.tmp`;
  fs.copyFileSync(source, tmp);
  execFileSync(tool, ['--strip-all', tmp]);
  fs.renameSync(tmp, dest);
  return dest;
}

export function prepareRuntime(target: Target, cacheDir: string, strip: boolean): Runtime {
  const nodeVersion = process.versions.node;
  const duckdbVersion = installedVersion('@duckdb/node-bindings');
  const fetched = path.join(cacheDir, 'packages');
  const nodeSource = isHostTarget(target)
    ? process.execPath
    : path.join(fetchPackage(target.nodePackage, nodeVersion, fetched), 'bin', 'node');
  const duckdbDir = isHostTarget(target)
    ? path.dirname(require.resolve(`${target.duckdbPackage}/package.json`))
    : fetchPackage(target.duckdbPackage, duckdbVersion, fetched);

  const runtimeDir = path.join(cacheDir, 'runtime', `node-${nodeVersion}-${target.name}`);
  fs.mkdirSync(runtimeDir, { recursive: true });
  const node = strip ? stripped(nodeSource, path.join(runtimeDir, 'node'), target) : nodeSource;
  return { node, duckdbDir, duckdbVersion, strip };
}
