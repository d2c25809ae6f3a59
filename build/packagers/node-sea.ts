// Seals bundle + Node runtime + native assets into one executable with Node's own SEA support
// (`node --build-sea`, Node >= 25). The blob must come from the same Node version as the runtime, which
// holds because the build runs on the pinned Node and fetches the same version for other targets.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Packager, SealOptions } from '../packager.ts';

const run = promisify(execFile);

async function seal(opts: SealOptions): Promise<void> {
  const config = {
    main: opts.bundleFile,
    output: `${opts.output}.tmp`,
    executable: opts.runtimeNode,
    disableExperimentalSEAWarning: true,
    useCodeCache: opts.codeCache,
    useSnapshot: false,
    assets: opts.assets,
  };
  const configFile = path.join(opts.workDir, 'sea.json');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  fs.mkdirSync(path.dirname(opts.output), { recursive: true });
  try {
    await run(process.execPath, ['--build-sea', configFile], { maxBuffer: 16 << 20 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`node --build-sea failed for ${opts.output}: ${stderr.trim() || (error as Error).message}`);
  }
  fs.chmodSync(config.output, 0o755);
  fs.renameSync(config.output, opts.output);
}

export const nodeSea: Packager = { name: 'node-sea', seal };
