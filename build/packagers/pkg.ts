// Seals with @yao-pkg/pkg in SEA mode (`pkg --sea`, its "enhanced" pipeline: a package.json input), offline.
//
// pkg --sea downloads the official Node binary from nodejs.org into ~/.pkg-cache/sea. Instead, its cache is
// seeded here from the same verified (stripped) runtime the node-sea packager uses, in a private HOME under
// .cache/pkg/, and the target is a full version (node26.10.0-linux-x64) so pkg never asks for an index.
// pkg then generates the blob with that same binary (`--experimental-sea-config`) and injects it (postject).
//
// What pkg does differently, all of it contained here:
//  - pkg --sea packs every file into ONE SEA asset (`__pkg_archive__`, plus `__pkg_manifest__`) served by a
//    virtual file system under /snapshot; it cannot embed files under keys of our own, so the bundle's
//    `getRawAsset('libduckdb.so.zst.0')` would throw. The DuckDB assets therefore ship as pkg `assets`
//    (the same files, renamed *.asset so pkg treats them as data, not native addons), and a small entry
//    (entry.cjs, written below) points node:sea getRawAsset at them before it requires the unchanged bundle.
//    So the bundle, its manifest (SKYDUCK_NATIVE) and the extraction into SKYDUCK_NATIVE_CACHE are the same;
//    pkg's own dlopen hook (which copies and re-hashes a native package on every start) is never used.
//  - pkg's bootstrap (VFS polyfill, fs/module/child_process/dlopen hooks) runs before our code.
//  - No V8 code cache for the bundle: pkg caches only its bootstrap, and only when configured to.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Packager, SealOptions } from '../packager.ts';
import { sha256File } from '../report.ts';
import type { Target } from '../targets.ts';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const root = path.resolve(import.meta.dirname, '..', '..');


/**
 * A HOME whose ~/.pkg-cache/sea holds `node-v<version>-linux-<arch>.tar.gz` (+ `.ok`, pkg's "downloaded and
 * verified" mark) made of `runtimeNode`. Keyed by the runtime's hash, so a different runtime (--no-strip,
 * another target) gets its own cache and pkg can never pick up a stale binary.
 */
async function seedCache(runtimeNode: string, target: Target): Promise<string> {
  const version = process.versions.node; // runtime.ts gives every target the build's own Node version
  const home = path.join(root, '.cache', 'pkg', `node-v${version}-${target.name}-${(await sha256File(runtimeNode)).slice(0, 16)}`);
  const seaDir = path.join(home, '.pkg-cache', 'sea');
  const base = `node-v${version}-${target.platform}-${target.arch}`;
  const tarball = path.join(seaDir, `${base}.tar.gz`);
  if (fs.existsSync(`${tarball}.ok`) && fs.existsSync(tarball)) return home;

  fs.mkdirSync(seaDir, { recursive: true });
  const staging = fs.mkdtempSync(path.join(seaDir, '.staging-'));
  try {
    fs.mkdirSync(path.join(staging, base, 'bin'), { recursive: true });
    fs.copyFileSync(runtimeNode, path.join(staging, base, 'bin', 'node'));
    fs.chmodSync(path.join(staging, base, 'bin', 'node'), 0o755);
    execFileSync('tar', ['-c', '-I', 'gzip -1', '-f', `${tarball}.tmp`, '-C', staging, base]);
    fs.renameSync(`${tarball}.tmp`, tarball);
    fs.writeFileSync(`${tarball}.ok`, '');
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return home;
}

/** Runs before the bundle: our asset keys, read from pkg's /snapshot file system. */
function entrySource(keys: string[]): string {
  return `'use strict';
// Written by build/packagers/pkg.ts: pkg --sea keeps files in its own archive, so the bundle's asset keys
// are served from there (files assets/<key>.asset); every other key goes to node:sea as before.
const sea = require('node:sea');
const fs = require('node:fs');
const path = require('node:path');
const keys = new Set(${JSON.stringify(keys)});
const getRawAsset = sea.getRawAsset;
sea.getRawAsset = function (key) {
  if (!keys.has(key)) return getRawAsset.apply(this, arguments);
  const bytes = fs.readFileSync(path.join(__dirname, 'assets', key + '.asset'));
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes.buffer
    : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
};
require('./bundle.cjs');
`;
}

/** pkg's input: a package.json whose bin is entry.cjs, the bundle beside it and the assets under assets/. */
function prepareProject(opts: SealOptions): string {
  const dir = path.join(opts.workDir, 'pkg');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'assets'), { recursive: true });
  fs.copyFileSync(opts.bundleFile, path.join(dir, 'bundle.cjs'));
  for (const [key, file] of Object.entries(opts.assets)) {
    if (!/^[\w.-]+$/.test(key)) throw new Error(`pkg packager: asset key '${key}' is not a plain file name`);
    fs.copyFileSync(file, path.join(dir, 'assets', `${key}.asset`));
  }
  fs.writeFileSync(path.join(dir, 'entry.cjs'), entrySource(Object.keys(opts.assets)));
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({
    name: 'skyduck-pkg-input', version: '0.0.0', private: true, bin: 'entry.cjs',
    pkg: { assets: ['assets/*.asset'] },
  }, null, 2)}\n`);
  return dir;
}

async function seal(opts: SealOptions): Promise<void> {
  const home = await seedCache(opts.runtimeNode, opts.target);
  const project = prepareProject(opts);
  const pkgBin = path.join(path.dirname(require.resolve('@yao-pkg/pkg/package.json')), 'lib-es5', 'bin.js');
  const tmp = `${opts.output}.tmp`;
  fs.mkdirSync(path.dirname(opts.output), { recursive: true });
  fs.rmSync(tmp, { force: true });
  const args = [pkgBin, path.join(project, 'package.json'), '--sea', '--no-native-build',
    '-t', `node${process.versions.node}-${opts.target.platform}-${opts.target.arch}`, '-o', tmp];
  try {
    await run(process.execPath, args, {
      cwd: project, maxBuffer: 16 << 20,
      env: { ...process.env, HOME: home, PKG_CACHE_PATH: path.join(home, '.pkg-cache') },
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`pkg --sea failed for ${opts.output}: ${`${stdout}\n${stderr}`.trim() || (error as Error).message}`);
  }
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, opts.output);
}

export const pkg: Packager = { name: 'pkg', seal };
