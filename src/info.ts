import { buildInfo } from './build-info.ts';
import { compiledClouds } from './cloud/index.ts';

/** The facts `version --json` prints and GET /v1/info serves. */
export function versionFacts() {
  return {
    name: buildInfo.name,
    version: buildInfo.version,
    variant: buildInfo.variant,
    binary: buildInfo.binary,
    clouds: compiledClouds(),
    target: buildInfo.target,
    node: process.versions.node,
    duckdb: buildInfo.duckdb,
    commit: buildInfo.commit,
  };
}
