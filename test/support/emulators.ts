// Starts emulators on free loopback ports for a test file and stops them after it. Where an emulator is
// not installed the caller skips with the reason; under CI=true a missing emulator is a failure instead.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { root, until } from './process.ts';

export const inCI = process.env.CI === 'true';

export interface Emulator {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
}

async function started(child: ChildProcess, what: string, probe: () => Promise<boolean>): Promise<void> {
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  await until(`${what} to answer`, async () => {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}): ${output.slice(-2000)}`);
    return (await probe().catch(() => false)) ? true : undefined;
  }, 60_000);
}

/** Why an emulator cannot run here, or undefined when it can. */
export function motoMissing(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' });
  return found.status === 0 ? undefined : 'moto_server is not installed (pip install "moto[server]")';
}

/** moto: S3, KMS and STS on one port. */
export async function startMoto(): Promise<Emulator> {
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const endpoint = `http://127.0.0.1:${port}`;
  await started(child, 'moto_server', async () => (await fetch(`${endpoint}/moto-api/`)).ok);
  return { endpoint, port, stop: stopper(child) };
}

export function azuriteMissing(): string | undefined {
  return fs.existsSync(path.join(root, 'node_modules', '.bin', 'azurite-blob')) ? undefined : 'azurite is not installed (npm ci)';
}

export interface AzuriteTls {
  /** PEM files of a certificate for 127.0.0.1 and its key (see selfSignedCertificate). */
  cert: string;
  key: string;
}

/**
 * Azurite's Blob service, in memory, with the well-known development account. With `tls`, it serves
 * HTTPS and accepts OAuth bearer tokens (`--oauth basic`: JWT claims checked, signature not).
 */
export async function startAzurite(tls?: AzuriteTls): Promise<Emulator> {
  const port = await freePort();
  const oauth = tls ? ['--oauth', 'basic', '--cert', tls.cert, '--key', tls.key] : [];
  const child = spawn(process.execPath, [
    path.join(root, 'node_modules', 'azurite', 'dist', 'src', 'blob', 'main.js'),
    '--blobHost', '127.0.0.1', '--blobPort', String(port), '--inMemoryPersistence', '--disableTelemetry',
    '--skipApiVersionCheck', '--silent', ...oauth,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const scheme = tls ? 'https' : 'http';
  const endpoint = `${scheme}://127.0.0.1:${port}/devstoreaccount1`;
  await started(child, 'azurite', () => listening(port));
  return { endpoint, port, stop: stopper(child) };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** A throwaway self-signed certificate for 127.0.0.1, made with the openssl command. */
export function selfSignedCertificate(dir: string): AzuriteTls {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl could not make a test certificate: ${made.stderr}`);
  return { cert, key };
}

/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
