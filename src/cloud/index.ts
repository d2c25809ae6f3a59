// The only file that reads the CLOUD_* build flags. esbuild replaces each flag with a literal and, with
// minifySyntax, drops the branches a variant leaves out, and with them every byte of that cloud's SDK.
// Keep the shape `if (CLOUD_X) return import(...)`: an early `if (!CLOUD_X) return` keeps the import.
import { buildInfo } from '../build-info.ts';
import { type CloudModule, type CloudName, ProviderNotCompiledError } from './types.ts';

declare const CLOUD_AWS: boolean;
declare const CLOUD_GCP: boolean;
declare const CLOUD_AZURE: boolean;

/** The clouds compiled into this binary; local is always there. */
export function compiledClouds(): CloudName[] {
  const clouds: CloudName[] = ['local'];
  if (CLOUD_AWS) clouds.push('aws');
  if (CLOUD_GCP) clouds.push('gcp');
  if (CLOUD_AZURE) clouds.push('azure');
  return clouds;
}

const notCompiled = (cloud: CloudName) =>
  new ProviderNotCompiledError(cloud, buildInfo.binary, buildInfo.carriers[cloud] ?? [], compiledClouds());

/** Fails at once, before any work, when the binary lacks the cloud the configuration asks for. */
export function assertCompiled(cloud: CloudName): void {
  if (!compiledClouds().includes(cloud)) throw notCompiled(cloud);
}

export async function loadCloud(cloud: CloudName): Promise<CloudModule> {
  if (cloud === 'local') return import('./local/index.ts');
  if (cloud === 'aws' && CLOUD_AWS) return import('./aws/index.ts');
  if (cloud === 'gcp' && CLOUD_GCP) return import('./gcp/index.ts');
  if (cloud === 'azure' && CLOUD_AZURE) return import('./azure/index.ts');
  throw notCompiled(cloud);
}
