// `skyduck doctor`: proves the configured storage and keys work, one line per check. Each failure names
// the provider, the resource and the fix. Exit status 0 only when every check passes.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { assertCompiled, loadCloud } from '../cloud/index.ts';
import { AccessDeniedError, NotFoundError, UnavailableError } from '../cloud/errors.ts';
import type { FederationProvider } from '../cloud/types.ts';
import type { Config } from '../config/config.ts';
import { Envelope } from '../crypto/envelope.ts';
import { withDeadline } from '../deadline.ts';

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

/** `gcp workload identity: sa@p.iam.gserviceaccount.com via metadata server at …, token valid 58 min` */
export async function describeIdentity(provider: FederationProvider): Promise<string> {
  const { principal, source, expiresAt } = await provider.identity();
  const validity = expiresAt ? `, token valid ${Math.max(0, Math.round((expiresAt.getTime() - Date.now()) / 60_000))} min` : '';
  return `${provider.name}: ${principal} via ${source}${validity}`;
}

/** What a PASS line says: fixed text, or text made from the check's result. */
type Detail<T> = string | ((result: T) => string);
type Check = <T>(name: string, detail: Detail<T>, run: () => Promise<T>) => Promise<T | undefined>;

/** Prints PASS/FAIL/SKIP lines; within one chain, the checks after a failure are skipped. */
class Report {
  passed = true;
  private readonly write: (line: string) => void;

  constructor(write: (line: string) => void) {
    this.write = write;
  }

  chain(): Check {
    let failed: string | undefined;
    return async (name, detail, run) => {
      const label = name.padEnd(16);
      if (failed) {
        this.write(`SKIP ${label} (${failed} failed)\n`);
        return undefined;
      }
      const started = performance.now();
      try {
        const result = await withDeadline(run(), CHECK_TIMEOUT_MS, () => new Error(`${name} did not finish within ${CHECK_TIMEOUT_MS / 1000} s`));
        const text = typeof detail === 'function' ? detail(result) : detail;
        this.write(`PASS ${label} ${text} (${Math.round(performance.now() - started)} ms)\n`);
        return result;
      } catch (error) {
        this.passed = false;
        failed = name;
        this.write(`FAIL ${label} ${describe(error)}\n`);
        return undefined;
      }
    };
  }
}

export async function doctor(config: Config, write: (line: string) => void): Promise<boolean> {
  const report = new Report(write);
  for (const warning of config.warnings) write(`WARN ${warning}\n`);
  const cloud = await report.chain()('config', `provider ${config.cloud}`, async () => {
    assertCompiled(config.cloud);
    return loadCloud(config.cloud);
  });
  if (!cloud) return false;

  await report.chain()('identity', (line) => line, () => describeIdentity(cloud.createIdentity(config)));

  const storageCheck = report.chain();
  const storage = await storageCheck('storage', 'client', async () => cloud.createStorage(config));
  await storageCheck('storage list', storage?.location ?? '', () => storage!.listObjects(PROBE_PREFIX));
  const probe = `${PROBE_PREFIX}${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const payload = randomBytes(64);
  await storageCheck('storage write', `${storage?.location}/${probe}`, () => storage!.putObject(probe, payload, { ifNoneMatch: '*' }));
  await storageCheck('storage read', 'read back, same bytes', async () => {
    const read = Buffer.from(await storage!.getObject(probe));
    if (!read.equals(payload)) throw new Error(`${storage!.location}/${probe}: read back different bytes than were written`);
  });
  await storageCheck('storage delete', 'probe removed', () => storage!.deleteObject(probe));

  const keysCheck = report.chain();
  const keys = await keysCheck('keys', 'key manager', async () => cloud.createKeyManager(config));
  await keysCheck('data key', keys?.keyUri ?? '', async () => {
    const dataKey = await keys!.generateDataKey({ purpose: 'skyduck-doctor' });
    const unwrapped = Buffer.from(await keys!.decrypt(dataKey.wrapped, { purpose: 'skyduck-doctor' }));
    if (!unwrapped.equals(Buffer.from(dataKey.plaintext))) throw new Error(`${keys!.keyUri}: the data key did not unwrap to itself`);
  });
  await keysCheck('envelope', 'encrypt + decrypt', async () => {
    const envelope = new Envelope(keys!);
    const sealed = await envelope.encrypt(probe, payload);
    if (!(await envelope.decrypt(probe, sealed)).equals(payload)) throw new Error('the envelope did not round-trip');
  });
  return report.passed;
}
