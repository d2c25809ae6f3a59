// One esbuild bundle per variant. The CLOUD_* flags become literals; minifySyntax then drops the
// branches (and with them the SDK imports) a variant leaves out.
import path from 'node:path';
import * as esbuild from 'esbuild';
import type { BuildInfo } from '../src/build-info.ts';
import type { NativeManifest } from '../src/native/manifest.ts';
import { duckdbBindingPlugin } from './duckdb-plugin.ts';
import { http1OnlyPlugin } from './http1-only-plugin.ts';
import type { Target } from './targets.ts';
import type { Variant } from './variants.ts';

export interface BundleResult {
  file: string;
  bytes: number;
  metafile: esbuild.Metafile;
}

export async function bundle(opts: {
  root: string;
  variant: Variant;
  target: Target;
  buildInfo: BuildInfo;
  native: NativeManifest | null;
  outDir: string;
}): Promise<BundleResult> {
  const { root, variant, target } = opts;
  const file = path.join(opts.outDir, 'bundle.cjs');
  const result = await esbuild.build({
    entryPoints: [path.join(root, variant.entry ?? 'src/main.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node26',
    minifySyntax: true,
    minifyWhitespace: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'error',
    define: {
      CLOUD_AWS: String(variant.define.CLOUD_AWS),
      CLOUD_GCP: String(variant.define.CLOUD_GCP),
      CLOUD_AZURE: String(variant.define.CLOUD_AZURE),
      SKYDUCK_BUILD: JSON.stringify(opts.buildInfo),
      SKYDUCK_NATIVE: JSON.stringify(opts.native),
    },
    plugins: [duckdbBindingPlugin(target, root), http1OnlyPlugin()],
  });
  const output = result.metafile.outputs[path.relative(process.cwd(), file)] ?? Object.values(result.metafile.outputs)[0]!;
  return { file, bytes: output.bytes, metafile: result.metafile };
}
