// Helpers for the hostile-input suite (test/reliability/hostile.test.ts): one fixed fast-check seed that
// every property uses and prints on failure, a tally of the hostile inputs tried, the checks every
// refusal must pass, a tree walker, and a raw HTTP/1.1 client for what fetch refuses to send.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import fc from 'fast-check';
import { expect } from 'vitest';

/** One seed for every property of a run; HOSTILE_SEED=<n> replays another. */
export const SEED = Number(process.env.HOSTILE_SEED ?? 20261126);

/**
 * fc.assert with the run's seed and a bounded number of runs. On failure the seed (and fast-check's
 * replay path) is printed and kept in the error, so the counterexample can be replayed exactly.
 */
export async function checkProperty<Ts extends [unknown, ...unknown[]]>(
  name: string,
  property: fc.IAsyncPropertyWithHooks<Ts> | fc.IPropertyWithHooks<Ts>,
  numRuns: number,
): Promise<void> {
  try {
    await fc.assert(property as fc.IAsyncPropertyWithHooks<Ts>, { seed: SEED, numRuns, interruptAfterTimeLimit: 60_000 });
  } catch (error) {
    const replay = `property "${name}" failed with seed ${SEED}: replay with HOSTILE_SEED=${SEED} (fast-check's path is in the message)`;
    console.error(`[hostile] ${replay}`);
    throw new Error(`${replay}\n${(error as Error).message}`, { cause: error });
  }
}


/** How many hostile inputs each area tried; written to bench/results/hostile.json at the end. */
export class Tally {
  readonly areas: Record<string, number> = {};
  readonly bugs: string[] = [];

  add(area: string, count = 1): void {
    this.areas[area] = (this.areas[area] ?? 0) + count;
  }

  get total(): number {
    return Object.values(this.areas).reduce((sum, n) => sum + n, 0);
  }
}

/** A stack frame as Node prints it: never in a response. */
export const STACK = '\n    at ';

export interface Answer {
  status: number;
  headers: Headers | Record<string, string | string[] | undefined>;
  text: string;
}

const header = (headers: Answer['headers'], name: string): string | undefined => {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
};

/**
 * What every answer to hostile input must be: not a 5xx, no stack trace, and for the app's own 4xx a
 * JSON body {error: {code, message}}.
 */
export function expectClean(answer: Answer, context: string): void {
  const where = `${context} -> ${answer.status} ${answer.text.slice(0, 400)}`;
  expect(answer.status, where).toBeLessThan(500);
  expect(answer.text.includes(STACK), `stack trace in ${where}`).toBe(false);
  if (answer.status >= 400) {
    expect(header(answer.headers, 'content-type') ?? '', where).toMatch(/^application\/json/);
    const body = JSON.parse(answer.text) as { error?: { code?: unknown; message?: unknown } };
    expect(typeof body.error?.code, where).toBe('string');
    expect(typeof body.error?.message, where).toBe('string');
  }
}

/** Every entry below `root` (files, directories, links), as absolute paths. */
export function walk(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root, { recursive: true, withFileTypes: true }).map((entry) => path.join(entry.parentPath, entry.name));
}

/** Every byte of the UTF-8 form percent-encoded, except unreserved characters (RFC 3986). */
export function percentEncode(text: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(text)) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export interface RawAnswer {
  /** The status of the first response line, or undefined when the connection closed without one. */
  status?: number;
  /** Everything the server sent. */
  text: string;
  /** How the exchange ended: the server closed, or the client's deadline passed. */
  ended: 'closed' | 'deadline';
  ms: number;
}

/**
 * A raw HTTP/1.1 exchange: writes `request` (bytes, or a function that writes on its own schedule and
 * returns a stopper), then reads until the server closes or `deadlineMs` passes (the client then
 * destroys the socket). Requests should carry `Connection: close` to end after one response.
 */
export function rawHttp(
  port: number,
  request: string | Buffer | ((socket: net.Socket) => () => void),
  deadlineMs = 5_000,
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let stop: (() => void) | undefined;
    let ended: RawAnswer['ended'] = 'closed';
    const timer = setTimeout(() => {
      ended = 'deadline';
      socket.destroy();
    }, deadlineMs);
    socket.on('connect', () => {
      if (typeof request === 'function') stop = request(socket);
      else socket.write(request);
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined); // a reset is one way of being cut off
    socket.on('close', () => {
      clearTimeout(timer);
      stop?.();
      const text = Buffer.concat(chunks).toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
      resolve({ status: status === undefined ? undefined : Number(status), text, ended, ms: Date.now() - started });
    });
  });
}

/** The body of a raw response (after the blank line), de-chunked when it was sent chunked. */
export function rawBody(text: string): string {
  const at = text.indexOf('\r\n\r\n');
  if (at < 0) return '';
  const head = text.slice(0, at);
  let body = text.slice(at + 4);
  if (/\r\ntransfer-encoding: chunked/i.test(head)) {
    let out = '';
    for (;;) {
      const line = body.indexOf('\r\n');
      const size = Number.parseInt(body.slice(0, line), 16);
      if (!(size > 0)) break;
      out += body.slice(line + 2, line + 2 + size);
      body = body.slice(line + 2 + size + 2);
    }
    body = out;
  }
  return Buffer.from(body, 'latin1').toString('utf8');
}

/** The headers of a raw response, lower-cased names. */
export function rawHeaders(text: string): Record<string, string> {
  const head = text.slice(0, Math.max(0, text.indexOf('\r\n\r\n')));
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}
