// <out>/<binary>.cdx.json: a CycloneDX 1.5 SBOM of one sealed executable. It lists exactly the npm
// packages whose bytes are in the bundle (esbuild's metafile: inputs with bytesInOutput > 0), plus the
// two pieces sealed in beside the bundle: the Node runtime and DuckDB's native binding package.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Metafile } from 'esbuild';
import { packageOf } from './leak-check.ts';

export interface CdxLicense {
  license?: { id?: string; name?: string };
  expression?: string;
}

export interface CdxHash {
  alg: 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';
  content: string;
}

export interface CdxComponent {
  type: 'application' | 'library' | 'platform';
  'bom-ref': string;
  name: string;
  group?: string;
  version: string;
  description?: string;
  purl?: string;
  licenses?: CdxLicense[];
  hashes?: CdxHash[];
  properties?: { name: string; value: string }[];
}

export interface CdxBom {
  bomFormat: 'CycloneDX';
  specVersion: '1.5';
  serialNumber: string;
  version: 1;
  metadata: {
    timestamp: string;
    tools: { components: { type: 'application'; name: string; version?: string }[] };
    component: CdxComponent;
  };
  components: CdxComponent[];
  dependencies: { ref: string; dependsOn: string[] }[];
}

export interface SbomOptions {
  metafile: Metafile;
  /** The directory the metafile's input paths are relative to (esbuild's working directory). */
  workingDir?: string;
  /** Repository root: its package.json names the product, its package-lock.json gives hashes. */
  root: string;
  variant: string;
  binary: string;
  target: string;
  commit?: string;
  /** Version of the Node runtime sealed into the binary. */
  nodeVersion: string;
  /** Directories of npm packages sealed in as native assets (DuckDB's node-bindings-<target>). */
  nativePackageDirs: string[];
}

interface PackageJson {
  name?: string;
  version?: string;
  description?: string;
  license?: string | { type?: string };
  licenses?: { type?: string }[];
}

/** SPDX ids common on npm; any other single name goes in as a license name, which is always valid. */
const SPDX_IDS = new Set([
  '0BSD', 'Apache-2.0', 'Artistic-2.0', 'BlueOak-1.0.0', 'BSD-2-Clause', 'BSD-3-Clause', 'BSD-3-Clause-Clear',
  'CC-BY-3.0', 'CC-BY-4.0', 'CC0-1.0', 'EPL-2.0', 'GPL-2.0-only', 'GPL-3.0-only', 'ISC', 'LGPL-2.1-only',
  'LGPL-3.0-only', 'MIT', 'MIT-0', 'MPL-2.0', 'Python-2.0', 'Unicode-3.0', 'Unicode-DFS-2016', 'Unlicense',
  'WTFPL', 'Zlib',
]);

export function cdxLicenses(pkg: PackageJson): CdxLicense[] | undefined {
  const declared = typeof pkg.license === 'string' ? [pkg.license]
    : pkg.license?.type ? [pkg.license.type]
    : (pkg.licenses ?? []).map((l) => l.type).filter((t): t is string => !!t);
  const licenses = declared.map((text) => text.trim()).filter((text) => text !== '' && text !== 'UNLICENSED')
    .map((text): CdxLicense => {
      if (SPDX_IDS.has(text)) return { license: { id: text } };
      if (/\s(OR|AND|WITH)\s/.test(text)) return { expression: text };
      return { license: { name: text } };
    });
  // CycloneDX allows one expression, or any number of licenses, not both.
  if (licenses.length > 1 && licenses.some((l) => l.expression)) {
    return [{ expression: declared.map((t) => (/\s/.test(t) ? `(${t})` : t)).join(' AND ') }];
  }
  return licenses.length > 0 ? licenses : undefined;
}

/** `pkg:npm/<name>@<version>`, a scope's `@` encoded: `pkg:npm/%40scope/name@1.0.0`. */
export function npmPurl(name: string, version: string): string {
  const encodedName = name.split('/').map((part) => encodeURIComponent(part)).join('/');
  return `pkg:npm/${encodedName}@${encodeURIComponent(version)}`;
}

/** `x/node_modules/@scope/name/dist/a.js` -> `x/node_modules/@scope/name` (the innermost package). */
export function packageDirOf(inputPath: string): string | undefined {
  const name = packageOf(inputPath);
  if (!name) return undefined;
  const at = inputPath.lastIndexOf('node_modules/');
  return `${inputPath.slice(0, at)}node_modules/${name}`;
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** package-lock.json's integrity (sha512, base64) per installed package directory, as hex. */
function lockHashes(root: string): Map<string, CdxHash> {
  const hashes = new Map<string, CdxHash>();
  let lock: { packages?: Record<string, { integrity?: string }> };
  try {
    lock = readJson(path.join(root, 'package-lock.json'));
  } catch {
    return hashes;
  }
  for (const [dir, entry] of Object.entries(lock.packages ?? {})) {
    const match = /^sha512-(.+)$/.exec(entry.integrity ?? '');
    if (match) hashes.set(path.join(root, dir), { alg: 'SHA-512', content: Buffer.from(match[1]!, 'base64').toString('hex') });
  }
  return hashes;
}

function npmComponent(dir: string, hashes: Map<string, CdxHash>): CdxComponent {
  const pkg = readJson<PackageJson>(path.join(dir, 'package.json'));
  if (!pkg.name || !pkg.version) throw new Error(`${dir}/package.json has no name or version`);
  const purl = npmPurl(pkg.name, pkg.version);
  const slash = pkg.name.startsWith('@') ? pkg.name.indexOf('/') : -1;
  const licenses = cdxLicenses(pkg);
  const hash = hashes.get(dir);
  return {
    type: 'library',
    'bom-ref': purl,
    ...(slash > 0 ? { group: pkg.name.slice(0, slash), name: pkg.name.slice(slash + 1) } : { name: pkg.name }),
    version: pkg.version,
    purl,
    ...(licenses ? { licenses } : {}),
    ...(hash ? { hashes: [hash] } : {}),
  };
}

/** Directories (absolute) of the npm packages that contribute at least one byte to the bundle. */
export function bundledPackageDirs(metafile: Metafile, workingDir: string = process.cwd()): string[] {
  const dirs = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      if (bytesInOutput <= 0 || input.includes(':')) continue; // namespaced inputs are generated code
      const dir = packageDirOf(input);
      if (dir) dirs.add(path.resolve(workingDir, dir));
    }
  }
  return [...dirs].sort();
}

export function createSbom(opts: SbomOptions): CdxBom {
  const product = readJson<PackageJson>(path.join(opts.root, 'package.json'));
  const hashes = lockHashes(opts.root);
  const components = new Map<string, CdxComponent>();
  for (const dir of [...bundledPackageDirs(opts.metafile, opts.workingDir), ...opts.nativePackageDirs.map((d) => path.resolve(d))]) {
    const component = npmComponent(dir, hashes);
    components.set(component['bom-ref'], component);
  }
  const nodeRef = `pkg:generic/node@${opts.nodeVersion}`;
  components.set(nodeRef, {
    type: 'platform', 'bom-ref': nodeRef, name: 'node', version: opts.nodeVersion, purl: nodeRef,
    description: 'Node.js runtime sealed into the executable (single executable application)',
    licenses: [{ license: { id: 'MIT' } }],
  });
  const productRef = `${opts.binary}@${product.version}`;
  const sorted = [...components.values()].sort((a, b) => a['bom-ref'].localeCompare(b['bom-ref']));
  const productLicenses = cdxLicenses(product);
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: new Date().toISOString(),
      tools: { components: [{ type: 'application', name: 'skyduck build/sbom.ts', version: product.version }] },
      component: {
        type: 'application',
        'bom-ref': productRef,
        name: opts.binary,
        version: product.version ?? '0.0.0',
        ...(product.description ? { description: product.description } : {}),
        ...(productLicenses ? { licenses: productLicenses } : {}),
        properties: [
          { name: 'skyduck:variant', value: opts.variant },
          { name: 'skyduck:target', value: opts.target },
          ...(opts.commit ? [{ name: 'skyduck:commit', value: opts.commit }] : []),
        ],
      },
    },
    components: sorted,
    dependencies: [{ ref: productRef, dependsOn: sorted.map((c) => c['bom-ref']) }],
  };
}

export function writeSbom(file: string, bom: CdxBom): void {
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(bom, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}
