// npm run bench [-- --runs 9]: sizes, build time and exec-to-first-answered-query of skyduck-local
// (cold and warm) side by side with a bare Node + DuckDB baseline in the same run, interleaved.
// Also measures the two size measures (stripped runtime, zstd DuckDB assets) against builds without them.
// Writes bench/results/startup.json, bench/results/build.json and bench/results/summary.md.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../test/support/emulators.ts';
import { type StartRun, median, timeToFirstAnswer } from './startup.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const results = path.join(root, 'bench', 'results');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '9' }, 'skip-build': { type: 'boolean', default: false } } });
const runs = Number(values.runs);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skyduck-bench-'));
const fresh = (name: string) => fs.mkdtempSync(path.join(tmp, `${name}-`));

function build(args: string[]): number {
  const started = performance.now();
  execFileSync(process.execPath, [path.join(root, 'build', 'build.ts'), ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  return (performance.now() - started) / 1000;
}

interface Subject {
  label: string;
  start(port: number): Promise<StartRun>;
  bytes?: number;
}

function skyduckSubject(label: string, exe: string, cold: boolean): Subject {
  const warmCache = fresh(`cache-${label}`);
  return {
    label,
    bytes: fs.statSync(exe).size,
    start: (port) =>
      timeToFirstAnswer(exe, ['serve'], {
        SKYDUCK_LISTEN: `127.0.0.1:${port}`,
        SKYDUCK_DATA_DIR: fresh('data'),
        SKYDUCK_NATIVE_CACHE: cold ? fresh('cold') : warmCache,
      }, port, path.dirname(exe)),
  };
}

async function main(): Promise<void> {
  console.log('building skyduck-local and the comparison builds (no strip, no compression)...');
  build(['--variant', 'local-only']);
  const variantsOut = path.join(root, '.cache', 'bench-builds');
  build(['--variant', 'local-only', '--out', path.join(variantsOut, 'no-strip'), '--no-strip']);
  build(['--variant', 'local-only', '--out', path.join(variantsOut, 'no-compress'), '--no-compress']);

  const baseline: Subject = {
    label: 'baseline (node:http + @duckdb/node-api script)',
    start: (port) => timeToFirstAnswer(process.execPath, [path.join(root, 'bench', 'baseline-server.mjs'), String(port), fresh('data')], {}, port, root),
  };
  const local = path.join(root, 'dist', 'skyduck-local');
  const subjects: Subject[] = [
    baseline,
    skyduckSubject('skyduck-local warm', local, false),
    skyduckSubject('skyduck-local cold', local, true),
    skyduckSubject('no strip warm', path.join(variantsOut, 'no-strip', 'skyduck-local'), false),
    skyduckSubject('no compression warm', path.join(variantsOut, 'no-compress', 'skyduck-local'), false),
    skyduckSubject('no compression cold', path.join(variantsOut, 'no-compress', 'skyduck-local'), true),
  ];

  // One unmeasured round warms the page cache and the warm native caches.
  for (const subject of subjects) await subject.start(await freePort());
  const samples = new Map<string, StartRun[]>(subjects.map((s) => [s.label, []]));
  for (let round = 0; round < runs; round++) {
    for (const subject of subjects) samples.get(subject.label)!.push(await subject.start(await freePort()));
    process.stdout.write(`\rround ${round + 1}/${runs}`);
  }
  console.log();

  const rows = subjects.map((subject) => {
    const runsOf = samples.get(subject.label)!;
    return {
      label: subject.label,
      median_ms: median(runsOf.map((r) => r.ms)),
      min_ms: Math.min(...runsOf.map((r) => r.ms)),
      max_ms: Math.max(...runsOf.map((r) => r.ms)),
      rss_mib: median(runsOf.map((r) => r.rssMiB)),
      binary_mb: subject.bytes ? subject.bytes / 1e6 : null,
      samples_ms: runsOf.map((r) => Math.round(r.ms * 10) / 10),
    };
  });
  const by = (label: string) => rows.find((r) => r.label === label)!.median_ms;
  const ratios = {
    warm_vs_baseline: by('skyduck-local warm') / by(baseline.label),
    cold_vs_warm: by('skyduck-local cold') / by('skyduck-local warm'),
    warm_vs_unstripped: by('skyduck-local warm') / by('no strip warm'),
    warm_vs_uncompressed: by('skyduck-local warm') / by('no compression warm'),
    cold_vs_uncompressed_cold: by('skyduck-local cold') / by('no compression cold'),
  };
  const targets = {
    'warm <= 0.6x baseline': ratios.warm_vs_baseline <= 0.6,
    'cold <= 1.5x warm': ratios.cold_vs_warm <= 1.5,
    'skyduck-local <= 140 MB': fs.statSync(local).size <= 140e6,
  };
  const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.versions.node, date: new Date().toISOString() };
  fs.mkdirSync(results, { recursive: true });
  fs.writeFileSync(path.join(results, 'startup.json'), `${JSON.stringify({ machine, runs, rows, ratios, targets }, null, 2)}\n`);

  let buildResult: Record<string, unknown> | undefined;
  if (!values['skip-build']) {
    console.log('timing a forced build of all five variants (warm build cache)...');
    const seconds = build(['--force', '--out', path.join(tmp, 'all')]);
    const report = JSON.parse(fs.readFileSync(path.join(tmp, 'all', 'build-report.json'), 'utf8')) as { variants: { binary: string; binary_bytes: number; gzip_bytes: number; build_seconds: number }[] };
    buildResult = { machine, all_five_seconds: seconds, target_seconds: 90, variants: report.variants.map(({ binary, binary_bytes, gzip_bytes, build_seconds }) => ({ binary, binary_bytes, gzip_bytes, build_seconds })) };
    fs.writeFileSync(path.join(results, 'build.json'), `${JSON.stringify(buildResult, null, 2)}\n`);
  }

  const table = [
    '| subject | median ms | min | max | RSS MiB | binary MB |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.label} | ${r.median_ms.toFixed(1)} | ${r.min_ms.toFixed(1)} | ${r.max_ms.toFixed(1)} | ${r.rss_mib.toFixed(0)} | ${r.binary_mb?.toFixed(1) ?? ''} |`),
    '',
    ...Object.entries(ratios).map(([k, v]) => `- ${k}: ${v.toFixed(2)}x`),
    ...Object.entries(targets).map(([k, v]) => `- target ${k}: ${v ? 'met' : 'NOT met'}`),
    ...(buildResult ? [`- all five variants built in ${(buildResult.all_five_seconds as number).toFixed(1)} s (target 90 s)`,
      '', '| binary | MB | gzip MB |', '|---|---:|---:|',
      ...(buildResult.variants as { binary: string; binary_bytes: number; gzip_bytes: number }[]).map((v) => `| ${v.binary} | ${(v.binary_bytes / 1e6).toFixed(1)} | ${(v.gzip_bytes / 1e6).toFixed(1)} |`)] : []),
  ].join('\n');
  fs.writeFileSync(path.join(results, 'summary.md'), `# Benchmark results (${machine.date}, ${machine.cpus} cores, ${runs} runs)\n\n${table}\n`);
  console.log(`\n${table}`);
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
