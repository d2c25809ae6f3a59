// npm run build:images [-- --variant NAME ...] [--dist DIR]
// For each built executable in dist/ (or each --variant, by variant or binary name): assemble a minimal
// root filesystem in dist/images/<binary>/rootfs, pack it, and build containers/Containerfile into
// localhost/skyduck/<binary>:<version> with buildah; then print the image's size next to the binary's.
// Without buildah or podman this is a one-line notice and exit 0, except under CI=true where it fails.
// Storage: vfs unless STORAGE_DRIVER is set (buildah and podman both read it), so podman sees the images.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BuildError } from './errors.ts';
import { loadVariants } from './variants.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
let dist = path.join(root, 'dist'); // --dist: where the executables are (build.ts --out)
const containerfile = path.join(root, 'containers', 'Containerfile');
const IMAGE_UID = 65532;
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

const storageFlags = process.env.STORAGE_DRIVER ? [] : ['--storage-driver', 'vfs'];

function has(tool: string): boolean {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}

function run(tool: string, args: string[], inherit = false): string {
  const result = spawnSync(tool, args, { encoding: 'utf8', stdio: ['ignore', inherit ? 'inherit' : 'pipe', inherit ? 'inherit' : 'pipe'], maxBuffer: 64 << 20 });
  if (result.error) throw new BuildError(`${tool} ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) throw new BuildError(`${tool} ${args.join(' ')} exited ${result.status}${result.stderr ? `:\n${result.stderr.trim()}` : ''}`);
  return result.stdout ?? '';
}

/** The absolute paths `ldd` resolves for a file (the loader included, the vDSO and `skip`ped names not). */
function sharedLibraries(file: string, skip: (name: string, resolved: string | null) => boolean = () => false): string[] {
  let output: string;
  try {
    output = execFileSync('ldd', [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    throw new BuildError(`ldd ${file} failed (${(error as Error).message.split('\n')[0]}): images need a dynamically linked host-architecture executable and ldd`);
  }
  const found: string[] = [];
  for (const line of output.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const mapped = /^(\S+) => (.+?)(?: \(0x[0-9a-f]+\))?$/.exec(line);
    if (mapped) {
      const [, name, target] = mapped as unknown as [string, string, string];
      if (target === 'not found') {
        if (!skip(name, null)) throw new BuildError(`ldd ${file}: ${name} not found on this machine`);
        continue;
      }
      if (target.startsWith('/') && !skip(name, target)) found.push(target);
      continue;
    }
    const direct = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(line); // the dynamic loader
    if (direct) found.push(direct[1]!);
  }
  return found;
}

function copyInto(rootfs: string, source: string, at = source, mode?: number): void {
  const target = path.join(rootfs, at);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(source, target); // follows symlinks: the image holds the real file at the ldd path
  fs.chmodSync(target, mode ?? (fs.statSync(source).mode & 0o777));
}

/** dist/images/<binary>/{rootfs/, rootfs.tar, data.tar}: the build context of containers/Containerfile. */
function assembleContext(binary: string): { context: string; libraries: string[] } {
  const exe = path.join(dist, binary);
  const context = path.join(dist, 'images', binary);
  fs.rmSync(context, { recursive: true, force: true });
  const rootfs = path.join(context, 'rootfs');
  fs.mkdirSync(rootfs, { recursive: true, mode: 0o755 });

  // libduckdb.so and duckdb.node live inside the binary and are extracted at run time: what they need
  // must be in the image too. They are found through each other ($ORIGIN), not through the system.
  const bindings = path.dirname(require.resolve(`@duckdb/node-bindings-${process.platform}-${process.arch}/package.json`));
  const bundled = (name: string, resolved: string | null) => name === 'libduckdb.so' || (resolved?.startsWith(bindings) ?? false);
  const libraries = [...new Set([exe, path.join(bindings, 'libduckdb.so'), path.join(bindings, 'duckdb.node')]
    .flatMap((file) => sharedLibraries(file, bundled)))].sort();
  for (const library of libraries) copyInto(rootfs, library);

  copyInto(rootfs, exe, '/skyduck', 0o755);
  if (!fs.existsSync(CA_BUNDLE)) throw new BuildError(`${CA_BUNDLE} is missing: install ca-certificates (the cloud SDKs need it for TLS)`);
  copyInto(rootfs, CA_BUNDLE, CA_BUNDLE, 0o644);
  fs.mkdirSync(path.join(rootfs, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(rootfs, 'etc', 'passwd'),
    `root:x:0:0:root:/root:/sbin/nologin\nskyduck:x:${IMAGE_UID}:${IMAGE_UID}:skyduck:/data:/sbin/nologin\n`, { mode: 0o644 });
  fs.writeFileSync(path.join(rootfs, 'etc', 'group'), `root:x:0:\nskyduck:x:${IMAGE_UID}:\n`, { mode: 0o644 });
  fs.mkdirSync(path.join(rootfs, 'tmp'));
  fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  // Every directory 0755 whatever the umask was.
  const fixDirs = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || path.join(dir, entry.name) === path.join(rootfs, 'tmp')) continue;
      fs.chmodSync(path.join(dir, entry.name), 0o755);
      fixDirs(path.join(dir, entry.name));
    }
  };
  fixDirs(rootfs);
  fs.chmodSync(rootfs, 0o755);

  const tar = (file: string, dir: string, owner: number, entries: string[]) =>
    run('tar', ['--create', '--file', path.join(context, file), '--numeric-owner', `--owner=${owner}`, `--group=${owner}`,
      '--sort=name', '-C', dir, ...entries]);
  tar('rootfs.tar', rootfs, 0, ['.']);
  const dataRoot = path.join(context, 'data-root');
  fs.mkdirSync(path.join(dataRoot, 'data'), { recursive: true });
  fs.chmodSync(path.join(dataRoot, 'data'), 0o750);
  tar('data.tar', dataRoot, IMAGE_UID, ['data']);
  return { context, libraries };
}

function imageId(ref: string): string | null {
  const result = spawnSync('podman', [...storageFlags, 'image', 'inspect', '--format', '{{.Id}}', ref], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : null;
}

function imageSize(ref: string): number {
  return Number(run('podman', [...storageFlags, 'image', 'inspect', '--format', '{{.Size}}', ref]).trim());
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

function main(): void {
  const { values } = parseArgs({ options: { variant: { type: 'string', multiple: true }, dist: { type: 'string' } } });
  if (values.dist) dist = path.resolve(values.dist);
  const missing = ['buildah', 'podman'].filter((tool) => !has(tool));
  if (missing.length > 0) {
    const ci = process.env.CI === 'true';
    console.log(`build:images: ${missing.join(' and ')} not installed, no images built${ci ? ' (required under CI=true)' : ' (apt-get install podman buildah runc uidmap)'}`);
    process.exit(ci ? 1 : 0);
  }
  const variants = loadVariants(path.join(root, 'variants'));
  const binaries = values.variant
    ? values.variant.map((name) => {
        const found = variants.find((v) => v.name === name || v.binary === name);
        if (!found) throw new BuildError(`unknown variant '${name}': use one of ${variants.map((v) => v.name).join(', ')}`);
        if (!fs.existsSync(path.join(dist, found.binary))) throw new BuildError(`${path.join(dist, found.binary)} is not built: npm run build -- --variant ${found.name}`);
        return found.binary;
      })
    : variants.map((v) => v.binary).filter((binary) => fs.existsSync(path.join(dist, binary)));
  if (binaries.length === 0) throw new BuildError('no executables in dist/: npm run build first');

  const version = (require('../package.json') as { version: string }).version;
  for (const binary of binaries) {
    const started = performance.now();
    const ref = `localhost/skyduck/${binary}:${version}`;
    const { context, libraries } = assembleContext(binary);
    console.log(`[${binary}] rootfs: /skyduck + ${libraries.length} libraries (${libraries.join(' ')}) -> ${path.relative(root, context)}`);
    const previous = imageId(ref);
    run('buildah', [...storageFlags, 'bud', '--isolation', 'chroot', '--quiet', '-f', containerfile, '-t', ref,
      '--label', `org.opencontainers.image.title=${binary}`,
      '--label', `org.opencontainers.image.version=${version}`,
      '--label', 'org.opencontainers.image.licenses=Apache-2.0',
      context], true);
    // The tarballs are copies of rootfs/ (142 MB for skyduck-local): the image has them now.
    for (const packed of ['rootfs.tar', 'data.tar', 'data-root']) fs.rmSync(path.join(context, packed), { recursive: true, force: true });
    const current = imageId(ref);
    // A rebuild moves the tag: drop the image it left behind (on vfs each one is a full copy).
    if (previous && previous !== current) spawnSync('podman', [...storageFlags, 'rmi', previous], { stdio: 'ignore' });
    const size = imageSize(ref);
    const binarySize = fs.statSync(path.join(dist, binary)).size;
    console.log(`[${binary}] image ${ref}: ${mb(size)} (binary ${mb(binarySize)}, +${mb(size - binarySize)}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}

try {
  main();
} catch (error) {
  const message = error instanceof BuildError ? error.message : (error as Error)?.stack ?? String(error);
  console.error(`build:images failed: ${message}`);
  process.exit(1);
}
