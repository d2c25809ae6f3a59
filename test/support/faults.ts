// Helpers for the fault tests (test/reliability/): HTTP calls that time themselves, the server's JSON log
// lines, a seeded random source (so a failing schedule can be run again), a proxy cut at a moment of the
// test's choosing, and a small tmpfs to fill.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TcpProxy } from './tcp-proxy.ts';

export interface Answer {
  status: number;
  contentType: string;
  text: string;
  /** From sending the request to the end of the answer's body. */
  ms: number;
}

export interface CallOptions {
  method?: string;
  key?: string;
  headers?: Record<string, string>;
  body?: string;
}

export async function call(url: string, route: string, { method, key, headers = {}, body }: CallOptions = {}): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(`${url}${route}`, {
    method: method ?? (body === undefined ? 'GET' : 'POST'),
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body,
  });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text, ms: performance.now() - started };
}

export const sql = (url: string, key: string, statement: string, accept?: string) =>
  call(url, '/v1/query', { key, headers: { 'content-type': 'application/json', ...(accept ? { accept } : {}) }, body: JSON.stringify({ sql: statement }) });

export const csvUpload = (url: string, key: string, table: string, csv: string) =>
  call(url, `/v1/tables/${table}`, { key, headers: { 'content-type': 'text/csv' }, body: csv });

export const takeSnapshot = (url: string, key: string) => call(url, '/v1/snapshots', { method: 'POST', key });

/** The API's one error shape, `{"error": {code, message, ...}}`, or undefined when the answer is not it. */
export function errorOf(answer: Answer): { code: string; message: string } | undefined {
  if (!/^application\/json/.test(answer.contentType)) return undefined;
  try {
    const body = JSON.parse(answer.text);
    const keys = Object.keys(body);
    if (keys.length !== 1 || keys[0] !== 'error' || typeof body.error?.code !== 'string' || typeof body.error?.message !== 'string') return undefined;
    return body.error;
  } catch {
    return undefined;
  }
}

/** A stack trace line, which no answer may carry. */
export const STACK = /\n\s+at |\bat .+\(.+:\d+:\d+\)/;

/** The JSON lines a binary wrote on stderr. */
export function events(stderr: string): Record<string, any>[] {
  return stderr.split('\n').filter((line) => line.startsWith('{')).flatMap((line) => {
    try {
      return [JSON.parse(line)];
    } catch {
      return []; // the last line may still be being written
    }
  });
}

/** mulberry32: a small seeded generator, so a failing schedule can be run again with its seed. */
export function seededRandom(seed: number): { next(): number; int(min: number, max: number): number; pick<T>(items: readonly T[]): T } {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  return { next, int, pick: (items) => items[int(0, items.length - 1)]! };
}

/**
 * Cuts the proxy now, with no client traffic needed: cutAfter() fires on forwarded bytes, so one byte is
 * sent through it from here. Resolves once every connection is gone and the port no longer listens.
 */
export async function cutNow(proxy: TcpProxy): Promise<void> {
  const cut = proxy.cutAfter(1);
  const poke = net.connect(proxy.port, '127.0.0.1', () => poke.write('x'));
  poke.on('error', () => undefined);
  await cut;
  poke.destroy();
}

/** Why a tmpfs cannot be mounted here (not root, no permission), or undefined when it can. */
export function tmpfsMissing(): string | undefined {
  if (process.platform !== 'linux') return `tmpfs mounts need Linux, not ${process.platform}`;
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'skyduck-tmpfs-probe-'));
  try {
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { encoding: 'utf8' });
    if (mounted.error) return `cannot run mount: ${mounted.error.message}`;
    if (mounted.status !== 0) return `mount -t tmpfs is not permitted here (${(mounted.stderr || `exit ${mounted.status}`).trim()})`;
    spawnSync('umount', [probe]);
    return undefined;
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
}

export function mountTmpfs(dir: string, size: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mounted.status !== 0) throw new Error(`mount -t tmpfs ${dir} failed: ${mounted.stderr}`);
}

/** Unmounts if mounted; lazily when something still holds it open. */
export function unmount(dir: string): void {
  const check = spawnSync('mountpoint', ['-q', dir]);
  if (check.status !== 0) return;
  const done = spawnSync('umount', [dir], { encoding: 'utf8' });
  if (done.status !== 0) spawnSync('umount', ['-l', dir]);
}

/** Free bytes for an unprivileged writer on the file system holding `dir`. */
export function freeBytes(dir: string): number {
  const stats = fs.statfsSync(dir);
  return stats.bavail * stats.bsize;
}
