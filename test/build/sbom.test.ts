// Each sealed executable ships a CycloneDX SBOM that lists exactly the npm packages inside it.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundle } from '../../build/bundle.ts';
import { type CdxBom, cdxLicenses, createSbom, npmPurl, packageDirOf } from '../../build/sbom.ts';
import { hostTargetName, resolveTarget } from '../../build/targets.ts';
import { carriersOf, loadVariants } from '../../build/variants.ts';
import { root, tempDir } from '../support/process.ts';

const require = createRequire(import.meta.url);
const variants = loadVariants(path.join(root, 'variants'));
const target = resolveTarget(hostTargetName);
const installed = (pkg: string) =>
  (JSON.parse(fs.readFileSync(path.join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
const duckdbDir = path.dirname(require.resolve(`${target.duckdbPackage}/package.json`));

async function sbomOf(name: string): Promise<CdxBom> {
  const variant = variants.find((v) => v.name === name)!;
  const bundled = await bundle({
    root, variant, target, native: null, outDir: tempDir(`sbom-${name}`),
    buildInfo: {
      name: 'skyduck', version: '0.0.0-test', variant: variant.name, binary: variant.binary, target: target.name,
      duckdb: 'test', commit: 'test', carriers: carriersOf(variants),
    },
  });
  return createSbom({
    metafile: bundled.metafile, root, variant: variant.name, binary: variant.binary, target: target.name,
    nodeVersion: process.versions.node, nativePackageDirs: [duckdbDir],
  });
}

const fullName = (c: { group?: string; name: string }) => (c.group ? `${c.group}/${c.name}` : c.name);
const npmNames = (bom: CdxBom) => bom.components.filter((c) => c.purl?.startsWith('pkg:npm/')).map(fullName);
const PURL = /^pkg:npm\/(%40[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*@[0-9A-Za-z.~%_-]+$/;

function expectWellFormed(bom: CdxBom, binary: string): void {
  expect(bom.bomFormat).toBe('CycloneDX');
  expect(bom.specVersion).toBe('1.5');
  expect(bom.version).toBe(1);
  expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(Number.isNaN(Date.parse(bom.metadata.timestamp))).toBe(false);
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  expect(bom.metadata.component).toMatchObject({ type: 'application', name: binary, version: pkg.version });
  const refs = bom.components.map((c) => c['bom-ref']);
  expect(new Set(refs).size).toBe(refs.length);
  for (const component of bom.components) {
    expect(component.name).not.toBe('');
    expect(component.version).not.toBe('');
    for (const license of component.licenses ?? []) expect(Object.keys(license)).toHaveLength(1);
    if (component.purl?.startsWith('pkg:npm/')) {
      expect(component.type).toBe('library');
      expect(component.purl).toMatch(PURL);
      expect(component.purl).toBe(npmPurl(fullName(component), component.version));
      expect(component.purl.endsWith(`@${component.version}`)).toBe(true);
    }
  }
  expect(bom.dependencies).toEqual([{ ref: bom.metadata.component['bom-ref'], dependsOn: refs }]);
  expect(JSON.parse(JSON.stringify(bom))).toEqual(bom);
}

describe('SBOM', () => {
  let local: CdxBom;
  let aws: CdxBom;
  beforeAll(async () => {
    [local, aws] = await Promise.all([sbomOf('local-only'), sbomOf('aws-only')]);
  }, 120_000);

  it('is a well-formed CycloneDX 1.5 document', () => {
    expectWellFormed(local, 'skyduck-local');
    expectWellFormed(aws, 'skyduck-aws');
    expect(local.serialNumber).not.toBe(aws.serialNumber);
  });

  it("lists local-only's packages with their installed versions, and no cloud SDK", () => {
    const names = npmNames(local);
    for (const pkg of ['hono', '@hono/node-server', '@duckdb/node-api', 'zod']) {
      expect(names).toContain(pkg);
      expect(local.components.find((c) => fullName(c) === pkg)!.purl).toBe(npmPurl(pkg, installed(pkg)));
    }
    expect(names.filter((n) => /^@(aws-sdk|smithy|google-cloud|azure)\//.test(n))).toEqual([]);
    expect(local.components.find((c) => c.name === 'hono')!.licenses).toEqual([{ license: { id: 'MIT' } }]);
  });

  it("lists aws-only's AWS SDK at the installed version, and no GCP or Azure SDK", () => {
    const names = npmNames(aws);
    expect(names).toContain('@aws-sdk/client-s3');
    const s3 = aws.components.find((c) => fullName(c) === '@aws-sdk/client-s3')!;
    expect(s3.version).toBe(installed('@aws-sdk/client-s3'));
    expect(s3.purl).toBe(`pkg:npm/%40aws-sdk/client-s3@${installed('@aws-sdk/client-s3')}`);
    expect(names.filter((n) => /^@(google-cloud|azure)\//.test(n))).toEqual([]);
    expect(names.length).toBeGreaterThan(npmNames(local).length);
  });

  it('lists the sealed-in Node runtime and DuckDB binding', () => {
    for (const bom of [local, aws]) {
      expect(bom.components.find((c) => c.name === 'node')).toMatchObject({ version: process.versions.node, type: 'platform' });
      const binding = target.duckdbPackage;
      expect(bom.components.find((c) => fullName(c) === binding)).toMatchObject({
        type: 'library', version: installed(binding), purl: npmPurl(binding, installed(binding)),
      });
    }
  });

  it('encodes purls and licenses the CycloneDX way', () => {
    expect(npmPurl('@aws-sdk/client-s3', '3.1.0')).toBe('pkg:npm/%40aws-sdk/client-s3@3.1.0');
    expect(npmPurl('hono', '4.0.0+build.1')).toBe('pkg:npm/hono@4.0.0%2Bbuild.1');
    expect(packageDirOf('node_modules/a/node_modules/@s/b/dist/x.js')).toBe('node_modules/a/node_modules/@s/b');
    expect(packageDirOf('src/main.ts')).toBeUndefined();
    expect(cdxLicenses({ license: 'MIT' })).toEqual([{ license: { id: 'MIT' } }]);
    expect(cdxLicenses({ license: '(MIT OR Apache-2.0)' })).toEqual([{ expression: '(MIT OR Apache-2.0)' }]);
    expect(cdxLicenses({ license: 'SEE LICENSE IN LICENSE.md' })).toEqual([{ license: { name: 'SEE LICENSE IN LICENSE.md' } }]);
    expect(cdxLicenses({ licenses: [{ type: 'MIT' }, { type: 'Apache-2.0' }] })).toHaveLength(2);
    expect(cdxLicenses({ license: 'UNLICENSED' })).toBeUndefined();
    expect(cdxLicenses({})).toBeUndefined();
  });
});
