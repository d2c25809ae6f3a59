// npm run bench:packagers [-- --runs 7]: the two packagers side by side in one run, for skyduck-local and
// skyduck: binary size, forced build time, cold and warm exec-to-first-answered-query (median, interleaved)
// and RSS after the first answer. Writes bench/results/packagers.json and prints a table.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { packagerNames } from '../build/packager.ts';
import { freePort } from '../test/support/emulators.ts';
import { type StartRun, median, timeToFirstAnswer } from './startup.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const results = path.join(root, 'bench', 'results');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
const runs = Number(values.runs);

const variants = [{ name: 'local-only', binary: 'skyduck-local' }, { name: 'all-clouds', binary: 'skyduck' }];
const outOf = (packager: string) => path.join(root, '.cache', 'bench-builds', 'packagers', packager);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skyduck-bench-packagers-'));
const fresh = (name: string) => fs.mkdtempSync(path.join(tmp, `${name}-`));

/** A forced build of one variant with one packager, wall-clock seconds (pkg's cache seeded beforehand). */
function build(variant: string, packager: string): number {
  const started = performance.now();
  execFileSync(process.execPath, [path.join(root, 'build', 'build.ts'), '--variant', variant, '--packager', packager, '--force', '--out', outOf(packager)],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  return (performance.now() - started) / 1000;
}

interface Subject {
  label: string;
  packager: string;
  binary: string;
  mode: 'cold' | 'warm';
  start(port: number): Promise<StartRun>;
}

function subject(packager: string, binary: string, mode: 'cold' | 'warm'): Subject {
  // Each binary alone in its own directory, as a user would run it.
  const dir = fresh(`${packager}-${binary}`);
  const exe = path.join(dir, binary);
  fs.copyFileSync(path.join(outOf(packager), binary), exe);
  fs.chmodSync(exe, 0o755);
  const warmCache = fresh('warm-cache');
  return {
    label: `${binary} ${packager} ${mode}`, packager, binary, mode,
    start: (port) => timeToFirstAnswer(exe, ['serve'], {
      SKYDUCK_LISTEN: `127.0.0.1:${port}`,
      SKYDUCK_DATA_DIR: fresh('data'),
      SKYDUCK_NATIVE_CACHE: mode === 'cold' ? fresh('cold') : warmCache,
    }, port, dir),
  };
}

async function main(): Promise<void> {
  // Unmeasured: fills the build caches (runtime, native assets, pkg's seeded Node cache).
  console.log('warming the build caches...');
  for (const packager of packagerNames) build('local-only', packager);

  const builds: { binary: string; packager: string; build_seconds: number; binary_bytes: number }[] = [];
  for (const variant of variants) {
    for (const packager of packagerNames) {
      const seconds = build(variant.name, packager);
      builds.push({ binary: variant.binary, packager, build_seconds: seconds, binary_bytes: fs.statSync(path.join(outOf(packager), variant.binary)).size });
      console.log(`built ${variant.binary} with ${packager} in ${seconds.toFixed(1)} s`);
    }
  }

  const subjects = variants.flatMap((v) => packagerNames.flatMap((p) => (['cold', 'warm'] as const).map((m) => subject(p, v.binary, m))));
  // One unmeasured round warms the page cache and the warm native caches.
  for (const s of subjects) await s.start(await freePort());
  const samples = new Map<string, StartRun[]>(subjects.map((s) => [s.label, []]));
  for (let round = 0; round < runs; round++) {
    for (const s of subjects) samples.get(s.label)!.push(await s.start(await freePort()));
    process.stdout.write(`\rround ${round + 1}/${runs}`);
  }
  console.log();

  const rows = variants.flatMap((v) => packagerNames.map((packager) => {
    const of = (mode: string) => samples.get(`${v.binary} ${packager} ${mode}`)!;
    const built = builds.find((b) => b.binary === v.binary && b.packager === packager)!;
    return {
      binary: v.binary, packager,
      binary_mb: built.binary_bytes / 1e6,
      build_seconds: built.build_seconds,
      cold_ms: median(of('cold').map((r) => r.ms)),
      warm_ms: median(of('warm').map((r) => r.ms)),
      rss_cold_mib: median(of('cold').map((r) => r.rssMiB)),
      rss_warm_mib: median(of('warm').map((r) => r.rssMiB)),
      samples_cold_ms: of('cold').map((r) => Math.round(r.ms * 10) / 10),
      samples_warm_ms: of('warm').map((r) => Math.round(r.ms * 10) / 10),
    };
  }));
  const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.versions.node, date: new Date().toISOString() };
  fs.mkdirSync(results, { recursive: true });
  fs.writeFileSync(path.join(results, 'packagers.json'), `${JSON.stringify({ machine, runs, rows }, null, 2)}\n`);

  const table = [
    '| binary | packager | MB | build s | cold ms | warm ms | RSS warm MiB | RSS cold MiB |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.binary} | ${r.packager} | ${r.binary_mb.toFixed(1)} | ${r.build_seconds.toFixed(1)} | ${r.cold_ms.toFixed(0)} | ${r.warm_ms.toFixed(0)} | ${r.rss_warm_mib.toFixed(0)} | ${r.rss_cold_mib.toFixed(0)} |`),
  ].join('\n');
  console.log(`\n${table}\n\n(median of ${runs}, interleaved; ${machine.cpus} cores, node ${machine.node})`);
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
