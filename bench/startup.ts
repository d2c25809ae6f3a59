// Exec-to-first-answered-query: spawn a server, POST {"sql":"select 42"} until it answers, stop it.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';

export interface StartRun {
  ms: number;
  rssMiB: number;
}

function post(port: number, key: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/query', method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end('{"sql":"select 42"}');
  });
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/**
 * A read key for a skyduck binary's data dir, made by `<binary> keys create` before the server starts, so
 * making it is not timed. (Not initial-admin-key: the server writes it after it listens, so waiting for
 * it would be timed.) With keys.json already there, serve makes no initial admin key: the start measured
 * is that of a data dir that has keys, as every start but the very first is.
 */
export function createReadKey(command: string, env: Record<string, string>, cwd: string): string {
  const key = execFileSync(command, ['keys', 'create', '--scope', 'read', '--agent', 'bench'], { env, cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  if (!/^sk_\S+$/.test(key)) throw new Error(`${command} keys create printed no key`);
  return key;
}

/**
 * Starts `command` (which must listen on `port`) and times it to the first 200 answer to select 42.
 * A skyduck binary (env has SKYDUCK_DATA_DIR) gets a read key for that data dir first, outside the timing.
 */
export async function timeToFirstAnswer(command: string, args: string[], env: Record<string, string>, port: number, cwd: string): Promise<StartRun> {
  const key = env.SKYDUCK_DATA_DIR ? createReadKey(command, env, cwd) : undefined;
  const started = performance.now();
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  let exited = false;
  const exit = new Promise((resolve) => child.on('exit', () => { exited = true; resolve(undefined); }));
  const deadline = started + 30_000;
  try {
    for (;;) {
      if (exited) throw new Error(`${command} exited before answering: ${stderr}`);
      if (performance.now() > deadline) throw new Error(`${command} did not answer within 30 s`);
      const status = await post(port, key).catch(() => 0);
      if (status === 200) break;
      if (status !== 0) throw new Error(`${command} answered ${status}`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const ms = performance.now() - started;
    return { ms, rssMiB: rssMiB(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    await exit;
  }
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
