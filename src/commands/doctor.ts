// `skyduck doctor`: proves the configured storage and keys work, one line per check. Each failure names
// the provider, the resource and the fix. Exit status 0 only when every check passes.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { assertCompiled, loadCloud } from '../cloud/index.ts';
import { AccessDeniedError, NotFoundError, UnavailableError } from '../cloud/errors.ts';
import type { BlobStorageClient, KeyManager } from '../cloud/types.ts';
import type { Config } from '../config/config.ts';
import { Envelope } from '../crypto/envelope.ts';

const CHECK_TIMEOUT_MS = 30_000;
const PROBE_PREFIX = '.skyduck-doctor/';

function fixFor(error: unknown): string {
  if (error instanceof NotFoundError) return 'create it, or point SKYDUCK_STORAGE_BUCKET / SKYDUCK_KMS_KEY at one that exists';
  if (error instanceof AccessDeniedError) return "grant skyduck's identity access to it (see `skyduck config` for what is used)";
  if (error instanceof UnavailableError) return 'check the endpoint and the network (SKYDUCK_STORAGE_ENDPOINT, SKYDUCK_KMS_ENDPOINT)';
  return '';
}

function describe(error: unknown): string {
  const fix = fixFor(error);
  return `${(error as Error)?.message ?? String(error)}${fix ? `; fix: ${fix}` : ''}`;
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${CHECK_TIMEOUT_MS / 1000} s`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function doctor(config: Config, write: (line: string) => void): Promise<boolean> {
  let healthy = true;
  let blocked: string | undefined;
  const check = async <T>(name: string, detail: string, run: () => Promise<T>): Promise<T | undefined> => {
    const label = name.padEnd(16);
    if (blocked) {
      write(`SKIP ${label} (${blocked} failed)\n`);
      return undefined;
    }
    const started = performance.now();
    try {
      const result = await withTimeout(run(), name);
      write(`PASS ${label} ${detail} (${Math.round(performance.now() - started)} ms)\n`);
      return result;
    } catch (error) {
      healthy = false;
      write(`FAIL ${label} ${describe(error)}\n`);
      return undefined;
    }
  };
  const step = async <T>(name: string, detail: string, run: () => Promise<T>): Promise<T | undefined> => {
    const result = await check(name, detail, run);
    if (!healthy && !blocked) blocked = name;
    return result;
  };

  for (const warning of config.warnings) write(`WARN ${warning}\n`);
  const cloud = await step('config', `provider ${config.cloud}`, async () => {
    assertCompiled(config.cloud);
    return loadCloud(config.cloud);
  });
  const storage = await step('storage', 'client', async () => cloud!.createStorage(config)) as BlobStorageClient | undefined;
  await step('storage list', storage?.location ?? '', () => storage!.listObjects(PROBE_PREFIX));
  const probe = `${PROBE_PREFIX}${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const payload = randomBytes(64);
  await step('storage write', `${storage?.location}/${probe}`, () => storage!.putObject(probe, payload, { ifNoneMatch: '*' }));
  await step('storage read', 'read back, same bytes', async () => {
    const read = Buffer.from(await storage!.getObject(probe));
    if (!read.equals(payload)) throw new Error(`${storage!.location}/${probe}: read back different bytes than were written`);
  });
  await step('storage delete', 'probe removed', () => storage!.deleteObject(probe));

  blocked = undefined;
  const wasHealthy = healthy;
  healthy = true;
  const keys = await step('keys', 'key manager', async () => cloud!.createKeyManager(config)) as KeyManager | undefined;
  await step('data key', keys?.keyUri ?? '', async () => {
    const dataKey = await keys!.generateDataKey({ purpose: 'skyduck-doctor' });
    const unwrapped = Buffer.from(await keys!.decrypt(dataKey.wrapped, { purpose: 'skyduck-doctor' }));
    if (!unwrapped.equals(Buffer.from(dataKey.plaintext))) throw new Error(`${keys!.keyUri}: the data key did not unwrap to itself`);
  });
  await step('envelope', 'encrypt + decrypt', async () => {
    const envelope = new Envelope(keys!);
    const sealed = await envelope.encrypt(probe, payload);
    if (!(await envelope.decrypt(probe, sealed)).equals(payload)) throw new Error('the envelope did not round-trip');
  });
  return wasHealthy && healthy;
}
