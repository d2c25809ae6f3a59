// variants/*.json: one file per variant. Adding a variant is adding a file.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { BuildError } from './errors.ts';

export const CLOUD_FLAGS = ['CLOUD_AWS', 'CLOUD_GCP', 'CLOUD_AZURE'] as const;
export type CloudFlag = (typeof CLOUD_FLAGS)[number];

const variantSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/),
  binary: z.string().regex(/^[a-z][a-z0-9-]*$/),
  define: z.strictObject({ CLOUD_AWS: z.boolean(), CLOUD_GCP: z.boolean(), CLOUD_AZURE: z.boolean() }),
  /** Entry point relative to the repository; only test fixtures set it. */
  entry: z.string().optional(),
});

export type Variant = z.infer<typeof variantSchema>;

export const CLOUD_OF_FLAG: Record<CloudFlag, 'aws' | 'gcp' | 'azure'> = {
  CLOUD_AWS: 'aws',
  CLOUD_GCP: 'gcp',
  CLOUD_AZURE: 'azure',
};

export function loadVariants(dir: string): Variant[] {
  const files = fs.readdirSync(dir).filter((file) => file.endsWith('.json')).sort();
  if (files.length === 0) throw new BuildError(`no variant files (*.json) in ${dir}`);
  return files.map((file) => {
    const parsed = variantSchema.safeParse(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
    if (!parsed.success) {
      throw new BuildError(`${path.join(dir, file)}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    return parsed.data;
  });
}

export function cloudsOf(variant: Variant): string[] {
  return ['local', ...CLOUD_FLAGS.filter((flag) => variant.define[flag]).map((flag) => CLOUD_OF_FLAG[flag])];
}

/** For each cloud, the binaries that carry it (named in the error when a binary lacks a cloud). */
export function carriersOf(variants: Variant[]): Record<string, string[]> {
  const carriers: Record<string, string[]> = {};
  for (const variant of variants) {
    for (const cloud of cloudsOf(variant)) (carriers[cloud] ??= []).push(variant.binary);
  }
  // The binary with the fewest clouds first: it is the one a user of that cloud wants.
  const width = new Map(variants.map((v) => [v.binary, cloudsOf(v).length]));
  for (const list of Object.values(carriers)) list.sort((a, b) => width.get(a)! - width.get(b)!);
  return carriers;
}
