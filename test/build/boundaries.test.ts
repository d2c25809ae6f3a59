// The layer rules of DESIGN.md, read from the import statements of the sources themselves.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../support/process.ts';

interface Import {
  file: string;
  from: string;
  typeOnly: boolean;
}

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => path.join(dir, file));
}

/** Static and dynamic imports; `import type` and `export type ... from` are erased at build time. */
function importsOf(file: string): Import[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  const found: Import[] = [];
  for (const match of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^;]*?\bfrom\s+'([^']+)'/gms)) {
    found.push({ file, from: match[3]!, typeOnly: Boolean(match[2]) });
  }
  for (const match of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) found.push({ file, from: match[1]!, typeOnly: false });
  return found;
}

const resolved = (imp: Import) => (imp.from.startsWith('.') ? path.join(path.dirname(imp.file), imp.from) : imp.from);

const SDKS: Record<string, RegExp> = {
  aws: /^@aws-sdk\/|^@smithy\//,
  gcp: /^@google-cloud\/|^google-auth-library$|^google-gax$/,
  azure: /^@azure\//,
};

describe('layer boundaries', () => {
  it('src/api imports neither DuckDB, nor a cloud SDK, nor engine code at run time (types only)', () => {
    const offending = sources('src/api').flatMap(importsOf).filter((imp) => {
      if (imp.typeOnly) return false;
      const target = resolved(imp);
      if (/^@duckdb\//.test(target) || Object.values(SDKS).some((sdk) => sdk.test(target))) return true;
      if (target.startsWith('src/cloud')) return true;
      // The engine's error and type modules are plain TypeScript; the rest loads DuckDB.
      return target.startsWith('src/engine/') && !['src/engine/types.ts', 'src/engine/errors.ts'].includes(target);
    });
    expect(offending).toEqual([]);
  });

  it("only src/cloud/<cloud>/ imports that cloud's SDK", () => {
    const offending = sources('src').flatMap(importsOf).filter((imp) =>
      Object.entries(SDKS).some(([cloud, sdk]) => sdk.test(imp.from) && !imp.file.startsWith(`src/cloud/${cloud}/`)));
    expect(offending).toEqual([]);
  });

  it('only src/cloud/index.ts reads the CLOUD_* flags', () => {
    const readers = sources('src').filter((file) => /\bCLOUD_(AWS|GCP|AZURE)\b/.test(
      fs.readFileSync(path.join(root, file), 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, ''),
    ));
    expect(readers.filter((file) => !file.endsWith('.d.ts'))).toEqual(['src/cloud/index.ts']);
  });

  it('finds imports at all (the parser above is not vacuous)', () => {
    const api = sources('src/api').flatMap(importsOf);
    expect(api.some((imp) => imp.from === 'hono/body-limit')).toBe(true);
    expect(api.some((imp) => imp.typeOnly && imp.from === '../engine/warehouse.ts')).toBe(true);
  });
});
