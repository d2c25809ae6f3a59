// npm run bench:adapters: put+get of 64 MiB through each storage adapter against the raw SDK call on
// the same emulator, interleaved in one run; and peak RSS of a 1 GiB streamed put through each adapter.
// Writes bench/results/adapters.json. `npm run bench:adapters -- gcp` measures one backend.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BlobStorageClient } from '../src/cloud/types.ts';
import { median } from './startup.ts';
import { type BenchBackend, backends } from './adapter-backends.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const MiB = 1 << 20;
const SIZE = 64 * MiB;
const ROUNDS = 11;

async function timed(run: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

async function viaAdapter(client: BlobStorageClient, data: Buffer): Promise<void> {
  await client.putObject('bench/adapter', data);
  const back = await client.getObject('bench/adapter');
  if (back.length !== data.length) throw new Error('adapter read back a different size');
}

const run = promisify(execFile);

/**
 * Peak RSS of a separate process streaming 1 GiB (or 0 bytes) through the adapter, doing nothing else.
 * Asynchronous: some fakes serve from this process.
 */
async function streamedPeakMiB(backend: BenchBackend, env: Record<string, string>, chunks: number): Promise<number> {
  const { stdout } = await run(process.execPath, [path.join(here, 'stream-1gib.ts'), backend.name, String(chunks)], {
    env: { ...process.env, ...env }, maxBuffer: 1 << 20,
  });
  return Number(JSON.parse(stdout).maxRssMiB);
}

async function main(): Promise<void> {
  const data = randomBytes(SIZE);
  const rows = [];
  const only = process.argv[2]; // a backend name measures only that one
  for (const backend of backends.filter((b) => !only || b.name === only)) {
    const skip = backend.missing();
    if (skip) {
      console.log(`${backend.name}: skipped (${skip})`);
      continue;
    }
    const env = await backend.start();
    try {
      const raw: number[] = [];
      const adapter: number[] = [];
      for (let round = -1; round < ROUNDS; round++) {
        const r = await timed(() => env.rawPutGet(data));
        const a = await timed(() => viaAdapter(env.client, data));
        if (round >= 0) {
          raw.push(r);
          adapter.push(a);
        }
      }
      const row = {
        backend: backend.name,
        raw_ms: median(raw),
        adapter_ms: median(adapter),
        overhead: median(adapter) / median(raw) - 1,
        streamed_1gib_peak_rss_mib: await streamedPeakMiB(backend, env.childEnv, 1024),
        same_process_empty_put_rss_mib: await streamedPeakMiB(backend, env.childEnv, 0),
      };
      rows.push(row);
      console.log(`${row.backend}: raw ${row.raw_ms.toFixed(0)} ms, adapter ${row.adapter_ms.toFixed(0)} ms ` +
        `(${(row.overhead * 100).toFixed(1)}% overhead; target <= 10%), 1 GiB streamed put peak RSS ${row.streamed_1gib_peak_rss_mib.toFixed(0)} MiB (target < 200; ` +
        `the same process putting nothing: ${row.same_process_empty_put_rss_mib.toFixed(0)} MiB)`);
    } finally {
      await env.stop();
    }
  }
  fs.mkdirSync(path.join(here, 'results'), { recursive: true });
  fs.writeFileSync(path.join(here, 'results', 'adapters.json'), `${JSON.stringify({ date: new Date().toISOString(), size_bytes: SIZE, rounds: ROUNDS, rows }, null, 2)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
