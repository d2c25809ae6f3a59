// npm run bench:compare -- BINARY... : warm exec-to-first-answer of sealed binaries, interleaved, medians.
// For trying a build change against the current one in the same run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../test/support/emulators.ts';
import { median, timeToFirstAnswer } from './startup.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string', default: '15' } } });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skyduck-compare-'));
const cache = path.join(tmp, 'cache');
const samples = new Map<string, number[]>(positionals.map((exe) => [exe, []]));
for (let round = -1; round < Number(values.runs); round++) {
  for (const exe of positionals) {
    const port = await freePort();
    const env = { SKYDUCK_LISTEN: `127.0.0.1:${port}`, SKYDUCK_DATA_DIR: fs.mkdtempSync(path.join(tmp, 'data-')), SKYDUCK_NATIVE_CACHE: cache };
    const run = await timeToFirstAnswer(path.resolve(exe), ['serve'], env, port, tmp);
    if (round >= 0) samples.get(exe)!.push(run.ms);
  }
}
for (const [exe, ms] of samples) console.log(`${median(ms).toFixed(1)} ms median (min ${Math.min(...ms).toFixed(1)})  ${exe}`);
fs.rmSync(tmp, { recursive: true, force: true });
