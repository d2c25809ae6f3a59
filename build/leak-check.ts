// A variant must carry no byte of the SDKs of the clouds it leaves out. The metafile says, per output,
// how many bytes each input file contributed; inputs that esbuild read but dropped count zero.
import type { Metafile } from 'esbuild';
import { CLOUD_FLAGS, type CloudFlag, type Variant } from './variants.ts';

/** Package-name prefixes of each cloud's SDKs and their cloud-specific dependencies. */
export const CLOUD_SDK_PREFIXES: Record<CloudFlag, readonly string[]> = {
  CLOUD_AWS: ['@aws-sdk/', '@aws-crypto/', '@aws/', '@smithy/'],
  CLOUD_GCP: [
    '@google-cloud/', 'google-gax', 'google-auth-library', 'gcp-metadata', 'gaxios', 'google-logging-utils',
    '@grpc/', 'protobufjs', '@protobufjs/', 'proto3-json-serializer',
  ],
  CLOUD_AZURE: ['@azure/', '@azure-rest/', '@typespec/ts-http-runtime'],
};

/** `node_modules/@scope/name/...` -> `@scope/name` (the innermost node_modules wins). */
export function packageOf(inputPath: string): string | undefined {
  const parts = inputPath.split('node_modules/');
  if (parts.length < 2) return undefined;
  const segments = parts[parts.length - 1]!.split('/');
  return segments[0]!.startsWith('@') ? `${segments[0]}/${segments[1]}` : segments[0];
}

export interface Leak {
  package: string;
  flag: CloudFlag;
  bytes: number;
  example: string;
}

export function findLeaks(metafile: Metafile, variant: Variant): Leak[] {
  const excluded = CLOUD_FLAGS.filter((flag) => !variant.define[flag]);
  const leaks = new Map<string, Leak>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      if (bytesInOutput === 0) continue;
      const pkg = packageOf(input);
      if (!pkg) continue;
      const flag = excluded.find((f) => CLOUD_SDK_PREFIXES[f].some((prefix) => pkg === prefix || pkg.startsWith(prefix)));
      if (!flag) continue;
      const leak = leaks.get(pkg) ?? { package: pkg, flag, bytes: 0, example: input };
      leak.bytes += bytesInOutput;
      leaks.set(pkg, leak);
    }
  }
  return [...leaks.values()].sort((a, b) => b.bytes - a.bytes);
}

export function describeLeaks(variant: Variant, leaks: Leak[]): string {
  const lines = leaks.map((leak) => `  ${leak.package} (${leak.bytes} bytes; ${leak.flag} is false), e.g. ${leak.example}`);
  return `${variant.name}: the bundle carries SDKs of clouds this variant excludes:\n${lines.join('\n')}\n` +
    'Import them only inside `if (CLOUD_X) ... import()` in src/cloud/index.ts.';
}

/** Bytes in the bundle per top-level package ("(project)" for our own sources). */
export function bytesPerPackage(metafile: Metafile): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const key = packageOf(input) ?? '(project)';
      totals[key] = (totals[key] ?? 0) + bytesInOutput;
    }
  }
  return Object.fromEntries(Object.entries(totals).filter(([, b]) => b > 0).sort((a, b) => b[1] - a[1]));
}
