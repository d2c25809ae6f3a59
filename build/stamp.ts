// "Out of date" = the hash of everything a binary is made from differs from the one recorded when it was
// built. Inputs: our sources, the build code, the lock file (every dependency) and the build options.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

/** The hash of what every binary is made from; read once per build, not once per variant. */
export function sourcesHash(root: string): string {
  const hash = createHash('sha256');
  for (const file of [...filesUnder(path.join(root, 'src')), ...filesUnder(path.join(root, 'build')), path.join(root, 'package-lock.json')]) {
    hash.update(path.relative(root, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

/** One binary's inputs: the sources plus its variant and the build options. */
export function inputHash(sources: string, extra: unknown): string {
  return createHash('sha256').update(sources).update(JSON.stringify(extra)).digest('hex');
}

const stampFile = (outDir: string, binary: string) => path.join(outDir, '.stamps', `${binary}.json`);

export function isUpToDate(outDir: string, binary: string, hash: string): boolean {
  try {
    const stamp = JSON.parse(fs.readFileSync(stampFile(outDir, binary), 'utf8')) as { hash: string; size: number };
    return stamp.hash === hash && fs.statSync(path.join(outDir, binary)).size === stamp.size;
  } catch {
    return false;
  }
}

export function writeStamp(outDir: string, binary: string, hash: string): void {
  fs.mkdirSync(path.dirname(stampFile(outDir, binary)), { recursive: true });
  const size = fs.statSync(path.join(outDir, binary)).size;
  fs.writeFileSync(stampFile(outDir, binary), JSON.stringify({ hash, size }));
}
