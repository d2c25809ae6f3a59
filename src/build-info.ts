// Facts fixed at build time (build/bundle.ts defines SKYDUCK_BUILD; vitest.config.ts defines it for tests).
import type { CloudName } from './cloud/types.ts';

export interface BuildInfo {
  name: string;
  version: string;
  variant: string;
  binary: string;
  /** <os>-<arch> the binary was built for. */
  target: string;
  duckdb: string;
  commit: string;
  /** For each cloud, the binaries that carry it: named when a binary is asked for a cloud it lacks. */
  carriers: Partial<Record<CloudName, string[]>>;
}

declare const SKYDUCK_BUILD: BuildInfo;

export const buildInfo: BuildInfo = SKYDUCK_BUILD;
