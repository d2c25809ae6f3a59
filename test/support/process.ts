// Runs built executables the way a user would: alone in an empty directory, with `env -i` plus only the
// settings a test names. Waits by polling with a deadline, never by sleeping.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '..', '..');
export const dist = path.join(root, 'dist');

/** Under the run's temp root (test/global-setup.ts), which is removed when the run ends. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `skyduck-${prefix}-`));
}

const isolated = new Map<string, string>();
/** isolate(), once per binary for the whole test file: later calls return the same copy. */
export function isolateOnce(binary: string): string {
  let exe = isolated.get(binary);
  if (!exe) {
    exe = isolate(binary);
    isolated.set(binary, exe);
  }
  return exe;
}

/** Copies one binary into a fresh empty directory and returns its path there. */
export function isolate(binary: string): string {
  const dir = tempDir(binary);
  const copy = path.join(dir, binary);
  fs.copyFileSync(path.join(dist, binary), copy);
  fs.chmodSync(copy, 0o755);
  return copy;
}

export interface Running {
  child: ChildProcess;
  url: string;
  /** The data dir's admin key (made by its first start), which query() sends. */
  key: string;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function collect(child: ChildProcess) {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => (stdout += chunk));
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { stdout: () => stdout, stderr: () => stderr, exit };
}

/** `env -i` with only these variables: the binary's cwd is its own directory. */
export function launch(exe: string, args: string[], env: Record<string, string>): ReturnType<typeof collect> & { child: ChildProcess } {
  const child = spawn(exe, args, { cwd: path.dirname(exe), env, stdio: ['ignore', 'pipe', 'pipe'] });
  return { child, ...collect(child) };
}

export async function runToEnd(exe: string, args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<Finished> {
  const run = launch(exe, args, env);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
  const { code } = await run.exit;
  clearTimeout(timer);
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The admin key of each data dir a test served, kept across restarts (only the first start makes one). */
const adminKeys = new Map<string, string>();
/** The key query() sends to each running server. */
const keyOfUrl = new Map<string, string>();

/** Where `serve` keeps its data: SKYDUCK_DATA_DIR, else skyduck-data beside the binary (its cwd). */
export function dataDirOf(exe: string, env: Record<string, string>): string {
  return path.resolve(path.dirname(exe), env.SKYDUCK_DATA_DIR ?? 'skyduck-data');
}

/**
 * Starts `serve` on a free loopback port and resolves once it printed its URL. On a fresh data dir the
 * server leaves its first admin key in <data dir>/initial-admin-key (stdout is not a terminal): it is read
 * here and sent by query().
 */
export async function serve(exe: string, env: Record<string, string> = {}): Promise<Running> {
  const run = launch(exe, ['serve'], { SKYDUCK_LISTEN: '127.0.0.1:0', ...env });
  let exited = false;
  void run.exit.then(() => (exited = true));
  const url = await until('the listening line', () => {
    if (exited) throw new Error(`exited before listening:\n${run.stderr()}`);
    return /listening on (http:\/\/\S+)/.exec(run.stdout())?.[1];
  });
  const dataDir = dataDirOf(exe, env);
  const keyFile = path.join(dataDir, 'initial-admin-key');
  if (fs.existsSync(keyFile)) adminKeys.set(dataDir, fs.readFileSync(keyFile, 'utf8').trim());
  const key = adminKeys.get(dataDir) ?? '';
  keyOfUrl.set(url, key);
  return { ...run, url, key };
}

/** POST /v1/query as JSON with the server's admin key, or with `key`. */
export async function query(url: string, sql: string, key = keyOfUrl.get(url)): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ sql }),
  });
  return { status: response.status, body: await response.json() };
}

/** SIGTERM, then the exit code; fails if it takes longer than `withinMs`. */
export async function terminate(running: Running, withinMs = 5_000): Promise<number | null> {
  running.child.kill('SIGTERM');
  const timer = setTimeout(() => running.child.kill('SIGKILL'), withinMs);
  const { code } = await running.exit;
  clearTimeout(timer);
  return code;
}
