import os from 'node:os';
import path from 'node:path';
import * as z from 'zod/mini';
import { ConfigError } from '../cloud/errors.ts';
import { IDENTITY_MODES, type IdentityMode } from '../cloud/settings.ts';
import { CLOUD_NAMES, type CloudName } from '../cloud/types.ts';
import { LOG_LEVELS, type LogLevel } from '../log.ts';
import { LEGACY_AWS_SIGNALS, OTHER_VARIABLES, SETTINGS, type SettingName } from './settings.ts';

export type Env = Record<string, string | undefined>;

export interface Listen {
  host: string;
  port: number;
}

export interface Config {
  cloud: CloudName;
  identity: IdentityMode;
  bucket?: string;
  region?: string;
  endpoint?: string;
  key?: string;
  prefix?: string;
  kmsEndpoint?: string;
  dataDir: string;
  listen: Listen;
  nativeCache: string;
  /** Limits of the query pipeline and the HTTP API (sizes in bytes, durations in ms). */
  maxConcurrentQueries: number;
  queryTimeout: number;
  maxResultRows: number;
  maxResultBytes: number;
  maxBodyBytes: number;
  maxIngestBytes: number;
  requestTimeout: number;
  /** Unset: DuckDB's own defaults. */
  memoryLimit?: number;
  threads?: number;
  /** Unset: snapshots only on request and at exit. */
  snapshotInterval?: number;
  snapshotKeep: number;
  snapshotExitTimeout: number;
  logLevel: LogLevel;
  /** Browser origins allowed by CORS; empty: CORS off. */
  corsOrigins: string[];
  /** Where each value came from: an environment name, or "default". */
  sources: Record<SettingName, string>;
  /** One line per deprecated name in use. */
  warnings: string[];
}

export { ConfigError };

const cloudSchema = z.enum(CLOUD_NAMES as [CloudName, ...CloudName[]]);
const identitySchema = z.enum(IDENTITY_MODES);

const LISTEN = /^(?:(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):)?(\d{1,5})$/;

/** host:port, [v6]:port or a bare port (on 127.0.0.1). */
function parseListen(value: string): Listen | undefined {
  const match = LISTEN.exec(value);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port > 65535) return undefined;
  return { host: (match[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

function pick(env: Env, name: SettingName): { value?: string; source: string; warning?: string } {
  const spec = SETTINGS[name];
  for (const variable of spec.env) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    const deprecated: readonly string[] = 'deprecated' in spec ? spec.deprecated : [];
    const warning = deprecated.includes(variable)
      ? `${variable} is deprecated: set ${spec.env[0]} instead`
      : undefined;
    return { value, source: variable, warning };
  }
  return { source: 'default' };
}

function defaultNativeCache(env: Env): string {
  if (env.XDG_CACHE_HOME) return path.join(env.XDG_CACHE_HOME, 'skyduck', 'native');
  if (env.HOME) return path.join(env.HOME, '.cache', 'skyduck', 'native');
  // No home (env -i, minimal containers): a per-user directory under the system temp dir.
  return path.join(os.tmpdir(), `skyduck-${process.getuid?.() ?? 'user'}`, 'native');
}

const KNOWN = new Set<string>([...Object.values(SETTINGS).flatMap((spec) => spec.env), ...OTHER_VARIABLES]);

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** A warning per SKYDUCK_* variable skyduck does not read (a typo silently ignored is worse). */
function unknownVariables(env: Env): string[] {
  return Object.keys(env)
    .filter((name) => name.startsWith('SKYDUCK_') && !KNOWN.has(name))
    .sort()
    .map((name) => {
      const closest = [...KNOWN].filter((known) => known.startsWith('SKYDUCK_')).sort((a, b) => distance(name, a) - distance(name, b))[0]!;
      return `${name} is not a skyduck setting and is ignored${distance(name, closest) <= 3 ? `: did you mean ${closest}?` : ''}`;
    });
}

const MiB = 1024 * 1024;
type NumericSetting = { [K in SettingName]: (typeof SETTINGS)[K] extends { unit: string } ? K : never }[SettingName];

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: MiB, gib: 1024 * MiB, tib: 1024 * 1024 * MiB };
const DURATION_UNITS: Record<string, number> = { ms: 1, '': 1000, s: 1000, m: 60_000, h: 3_600_000 };
const EXAMPLES = { count: '16', bytes: '64MiB', ms: '30s' } as const;

/** A positive count, a size like 64MiB / 1GB / 1024, or a duration like 500ms / 30s / 5m (bare numbers are seconds). */
export function parseQuantity(name: NumericSetting, value: string): number {
  const spec = SETTINGS[name];
  const units = spec.unit === 'bytes' ? SIZE_UNITS : spec.unit === 'ms' ? DURATION_UNITS : { '': 1 };
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const factor = match ? units[match[2]!.toLowerCase()] : undefined;
  const result = match && factor !== undefined ? Math.round(Number(match[1]) * factor) : NaN;
  if (!Number.isSafeInteger(result) || result <= 0) {
    const unitWords = spec.unit === 'bytes' ? ' (units B, KB, MB, GB, KiB, MiB, GiB)' : spec.unit === 'ms' ? ' (units ms, s, m, h)' : '';
    throw new ConfigError(`${spec.env[0]}=${value} is not a positive ${spec.unit === 'count' ? 'whole number' : spec.unit === 'bytes' ? 'size' : 'duration'}${unitWords}: use e.g. ${EXAMPLES[spec.unit]}`);
  }
  return result;
}

/** Reads the configuration from the environment: preferred names first, then the fallbacks. */
export function loadConfig(env: Env = process.env): Config {
  const sources = {} as Record<SettingName, string>;
  const warnings: string[] = unknownVariables(env);
  const read = (name: SettingName): string | undefined => {
    const picked = pick(env, name);
    sources[name] = picked.source;
    if (picked.warning) warnings.push(picked.warning);
    return picked.value;
  };

  const cloudValue = read('cloud');
  let cloud: CloudName = 'local';
  if (cloudValue !== undefined) {
    const parsed = cloudSchema.safeParse(cloudValue.toLowerCase());
    if (!parsed.success) {
      throw new ConfigError(`SKYDUCK_CLOUD=${cloudValue} is not a cloud skyduck knows: use one of ${CLOUD_NAMES.join(', ')}`);
    }
    cloud = parsed.data;
  } else if (LEGACY_AWS_SIGNALS.some((name) => env[name])) {
    cloud = 'aws';
    sources.cloud = `default (aws, because ${LEGACY_AWS_SIGNALS.find((name) => env[name])} is set)`;
  }

  const identityValue = read('identity') ?? 'auto';
  const identityMode = identitySchema.safeParse(identityValue);
  if (!identityMode.success) {
    throw new ConfigError(`SKYDUCK_IDENTITY=${identityValue} is not an identity mode: use one of ${IDENTITY_MODES.join(', ')}`);
  }
  const identity = identityMode.data;

  const listenValue = read('listen') ?? '127.0.0.1:8080';
  const listen = parseListen(listenValue);
  if (!listen) {
    throw new ConfigError(
      `SKYDUCK_LISTEN=${listenValue} is not host:port: use e.g. 127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080 or a bare port`,
    );
  }

  const dataDir = path.resolve(read('dataDir') ?? 'skyduck-data');
  const nativeCache = path.resolve(read('nativeCache') ?? defaultNativeCache(env));

  const number = (name: NumericSetting, fallback: number): number => {
    const value = read(name);
    return value === undefined ? fallback : parseQuantity(name, value);
  };
  const optional = (name: NumericSetting): number | undefined => {
    const value = read(name);
    return value === undefined ? undefined : parseQuantity(name, value);
  };

  const logValue = read('logLevel') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logValue)) {
    throw new ConfigError(`SKYDUCK_LOG_LEVEL=${logValue} is not a log level: use one of ${LOG_LEVELS.join(', ')}`);
  }
  const corsOrigins = (read('corsOrigins') ?? '').split(',').map((origin) => origin.trim()).filter(Boolean);
  for (const origin of corsOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError(`SKYDUCK_CORS_ORIGINS: ${origin} is not an origin: use scheme://host[:port] without a path, e.g. https://app.example.com`);
    }
  }

  return {
    cloud,
    identity,
    bucket: read('bucket'),
    region: read('region'),
    endpoint: read('endpoint'),
    key: read('key'),
    prefix: read('prefix'),
    kmsEndpoint: read('kmsEndpoint'),
    dataDir,
    listen,
    nativeCache,
    maxConcurrentQueries: number('maxConcurrentQueries', 16),
    queryTimeout: number('queryTimeout', 60_000),
    maxResultRows: number('maxResultRows', 100_000),
    maxResultBytes: number('maxResultBytes', 64 * MiB),
    maxBodyBytes: number('maxBodyBytes', MiB),
    maxIngestBytes: number('maxIngestBytes', 10 * 1024 * MiB),
    requestTimeout: number('requestTimeout', 300_000),
    memoryLimit: optional('memoryLimit'),
    threads: optional('threads'),
    snapshotInterval: optional('snapshotInterval'),
    snapshotKeep: number('snapshotKeep', 7),
    snapshotExitTimeout: number('snapshotExitTimeout', 25_000),
    logLevel: logValue as LogLevel,
    corsOrigins,
    sources,
    warnings,
  };
}
