// npm run build [-- --variant NAME] [--target linux-arm64] [--force] [--no-compress] [--no-strip]
//                  [--variants DIR] [--out DIR] [--no-seal] [--packager node-sea|pkg]
// For each variant: bundle -> leak check -> seal -> report. Up-to-date binaries are kept (--force rebuilds).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import type { BuildInfo } from '../src/build-info.ts';
import { bundle } from './bundle.ts';
import { BuildError } from './errors.ts';
import { bytesPerPackage, describeLeaks, findLeaks } from './leak-check.ts';
import { prepareNativeAssets } from './native-assets.ts';
import { loadPackager } from './packager.ts';
import { type VariantReport, formatTable, writeChecksums, writeReport } from './report.ts';
import { prepareRuntime } from './runtime.ts';
import { createSbom, writeSbom } from './sbom.ts';
import { inputHash, isUpToDate, sourcesHash, writeStamp } from './stamp.ts';
import { hostTargetName, isHostTarget, resolveTarget } from './targets.ts';
import { type Variant, carriersOf, loadVariants } from './variants.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function options() {
  let parsed;
  try {
    parsed = parseArgs({
    options: {
      variant: { type: 'string', multiple: true },
      target: { type: 'string', default: hostTargetName },
      variants: { type: 'string', default: path.join(root, 'variants') },
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
      'no-compress': { type: 'boolean', default: false },
      'no-strip': { type: 'boolean', default: false },
      'no-seal': { type: 'boolean', default: false },
      packager: { type: 'string', default: 'node-sea' },
    },
    });
  } catch (error) {
    throw new BuildError((error as Error).message);
  }
  const { values } = parsed;
  const target = resolveTarget(values.target);
  const out = path.resolve(values.out ?? (isHostTarget(target) ? path.join(root, 'dist') : path.join(root, 'dist', target.name)));
  return { ...values, target, out, compress: !values['no-compress'], strip: !values['no-strip'], sealed: !values['no-seal'] };
}

function gitCommit(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).trim();
    return dirty ? `${commit}-dirty` : commit;
  } catch {
    return 'unknown';
  }
}

async function gzipSize(file: string): Promise<number> {
  let bytes = 0;
  await pipeline(fs.createReadStream(file), zlib.createGzip({ level: 6 }), new Writable({
    write(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done();
    },
  }));
  return bytes;
}

async function main(): Promise<void> {
  const opts = options();
  const started = performance.now();
  const all = loadVariants(opts.variants);
  const chosen = opts.variant ? opts.variant.map((name) => {
    const found = all.find((v) => v.name === name || v.binary === name);
    if (!found) throw new BuildError(`unknown variant '${name}': use one of ${all.map((v) => v.name).join(', ')}`);
    return found;
  }) : all;
  const carriers = carriersOf(all);
  const cacheDir = path.join(root, '.cache');
  const version = (require('../package.json') as { version: string }).version;
  const duckdb = `v${(require('@duckdb/node-bindings/package.json') as { version: string }).version.replace(/-r\.\d+$/, '')}`;
  const commit = gitCommit();
  const sources = sourcesHash(root);
  const packager = await loadPackager(opts.packager);
  fs.mkdirSync(opts.out, { recursive: true });

  const step = (i: number, variant: Variant, what: string) =>
    console.log(`[${i + 1}/${chosen.length} ${variant.name}] ${what}`);

  let runtime: ReturnType<typeof prepareRuntime> | undefined;
  let native: ReturnType<typeof prepareNativeAssets> | undefined;
  const reports: VariantReport[] = [];
  const gzips: Promise<void>[] = [];

  for (const [i, variant] of chosen.entries()) {
    const variantStarted = performance.now();
    const hashInputs = { variant, commit, target: opts.target.name, compress: opts.compress, strip: opts.strip, node: process.versions.node, packager: packager.name };
    const hash = inputHash(sources, hashInputs);
    if (opts.sealed && !opts.force && isUpToDate(opts.out, variant.binary, hash)) {
      step(i, variant, `up to date: ${path.join(opts.out, variant.binary)}`);
      continue;
    }
    if (opts.sealed && !runtime) {
      console.log(`runtime: node ${process.versions.node} + duckdb ${duckdb} for ${opts.target.name}`);
      runtime = prepareRuntime(opts.target, cacheDir, opts.strip);
      native = prepareNativeAssets(opts.target, runtime, cacheDir, opts.compress);
    }
    const buildInfo: BuildInfo = {
      name: 'skyduck', version, variant: variant.name, binary: variant.binary, target: opts.target.name,
      duckdb, commit, carriers,
    };
    const workDir = path.join(opts.out, '.work', variant.name);
    fs.mkdirSync(workDir, { recursive: true });

    step(i, variant, 'bundle');
    const bundled = await bundle({ root, variant, target: opts.target, buildInfo, native: native?.manifest ?? null, outDir: workDir });

    step(i, variant, 'leak check');
    const leaks = findLeaks(bundled.metafile, variant);
    if (leaks.length > 0) throw new BuildError(describeLeaks(variant, leaks));
    if (!opts.sealed) continue;

    step(i, variant, `seal with ${packager.name} (${(bundled.bytes / 1e6).toFixed(1)} MB bundle)`);
    const output = path.join(opts.out, variant.binary);
    await packager.seal({
      bundleFile: bundled.file, runtimeNode: runtime!.node, assets: native!.assets, output,
      codeCache: isHostTarget(opts.target), workDir, target: opts.target,
    });
    writeSbom(path.join(opts.out, `${variant.binary}.cdx.json`), createSbom({
      metafile: bundled.metafile, root, variant: variant.name, binary: variant.binary, target: opts.target.name,
      commit, nodeVersion: process.versions.node, nativePackageDirs: [runtime!.duckdbDir],
    }));
    writeStamp(opts.out, variant.binary, hash);

    const report: VariantReport & { packager: string } = {
      packager: packager.name, variant: variant.name, binary: variant.binary, target: opts.target.name,
      bundle_bytes: bundled.bytes, bytes_per_package: bytesPerPackage(bundled.metafile),
      binary_bytes: fs.statSync(output).size, gzip_bytes: 0,
      build_seconds: (performance.now() - variantStarted) / 1000,
      native_codec: opts.compress ? 'zstd' : 'none', stripped: opts.strip,
    };
    reports.push(report);
    gzips.push(gzipSize(output).then((bytes) => void (report.gzip_bytes = bytes)));
  }
  if (!opts.sealed) return;
  if (reports.length === 0) {
    console.log(`all ${chosen.length} up to date in ${opts.out} (--force rebuilds)`);
    return;
  }

  await Promise.all(gzips);
  const table = writeReport(opts.out, reports);
  await writeChecksums(opts.out, all.map((v) => v.binary));
  console.log(`\n${formatTable(table)}\n\nbuilt ${reports.length} of ${chosen.length} in ${((performance.now() - started) / 1000).toFixed(1)} s -> ${opts.out}`);
}

main().catch((error: unknown) => {
  const message = error instanceof BuildError ? error.message : (error as Error)?.stack ?? String(error);
  console.error(`build failed: ${message}`);
  process.exit(1);
});
