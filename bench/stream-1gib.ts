// Child process of bench/adapters.ts: streams 1 GiB (or nothing, for the baseline) through one adapter's putStream and prints its
// peak RSS. Alone in its process so that nothing else counts towards the peak.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { CloudSettings } from '../src/cloud/settings.ts';
import type { CloudModule } from '../src/cloud/types.ts';

const MiB = 1 << 20;
const cloud = process.argv[2] as 'aws' | 'gcp' | 'azure' | 'local';
/** 1024 for the measurement; 0 measures the same process putting an empty stream (the baseline). */
const chunks = Number(process.argv[3] ?? 1024);
const settings = JSON.parse(process.env.BENCH_SETTINGS!) as CloudSettings;
const module = (await import(`../src/cloud/${cloud}/index.ts`)) as CloudModule;

const block = randomBytes(MiB);
async function* gibibyte(): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < chunks; i++) yield Buffer.from(block); // a fresh buffer per chunk, as a real producer makes
}

await module.createStorage(settings).putStream('bench/streamed-1gib', gibibyte());
// VmHWM, not getrusage's maxRSS: Linux carries maxRSS over from the parent through fork + exec.
const hwmKiB = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
process.stdout.write(JSON.stringify({ maxRssMiB: hwmKiB / 1024 }));
