// The snapshot manifest: what a snapshot holds and how to check it. It is written last, create-only,
// so a snapshot without its manifest is incomplete by definition and never restored.
import * as z from 'zod/mini';
import { SnapshotError } from './errors.ts';

export const MANIFEST_FORMAT = 'skyduck-snapshot';
export const MANIFEST_VERSION = 1;

/** skyduck's two databases: user tables, and its own (audit ledger, agent memory). */
export const DATABASES = ['main', 'system'] as const;
export type DatabaseName = (typeof DATABASES)[number];

const column = z.object({ name: z.string(), type: z.string() });

const table = z.object({
  database: z.enum(DATABASES),
  schema: z.string(),
  name: z.string(),
  /** DuckDB's own CREATE TABLE statement (duckdb_tables().sql): types, defaults and constraints kept. */
  create_sql: z.string(),
  columns: z.array(column),
  rows: z.number(),
  /** The object holding the table's Parquet, encrypted; may belong to an earlier snapshot (unchanged table). */
  object: z.string(),
  /** SHA-256 of the plaintext Parquet: checked on restore and used to reuse unchanged tables. */
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  bytes: z.number(),
});

const view = z.object({ database: z.enum(DATABASES), schema: z.string(), name: z.string(), create_sql: z.string() });
const sequence = z.object({
  database: z.enum(DATABASES),
  schema: z.string(),
  name: z.string(),
  create_sql: z.string(),
  /** The value the next nextval() must return, so restored sequences do not hand out used values. */
  next_value: z.string(),
});

/** Enum types (before tables), macros and indexes (after the data), as DuckDB statements. */
const catalogEntry = z.object({
  database: z.enum(DATABASES),
  kind: z.enum(['type', 'macro', 'index']),
  schema: z.string(),
  name: z.string(),
  create_sql: z.string(),
});

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  version: z.number(),
  id: z.string(),
  created_at: z.string(),
  skyduck_version: z.string(),
  key_uri: z.string(),
  tables: z.array(table),
  views: z.array(view),
  sequences: z.array(sequence),
  catalog: z.array(catalogEntry),
  /** The API keys file (salted hashes only), so a restored server accepts the same keys. */
  keys: z.optional(z.object({ object: z.string(), sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)) })),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestTable = z.infer<typeof table>;

/** Reads a manifest, refusing other formats and newer versions by name. */
export function parseManifest(bytes: Uint8Array, where: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new SnapshotError(`${where} is not valid JSON: the manifest is damaged`);
  }
  const head = json as { format?: unknown; version?: unknown };
  if (head?.format !== MANIFEST_FORMAT) throw new SnapshotError(`${where} is not a skyduck snapshot manifest`);
  if (typeof head.version === 'number' && head.version > MANIFEST_VERSION) {
    throw new SnapshotError(
      `${where} has manifest version ${head.version}, newer than this skyduck reads (${MANIFEST_VERSION}): restore it with a newer skyduck`,
    );
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SnapshotError(`${where} is damaged: ${issue?.path.join('.') || 'manifest'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export const serializeManifest = (manifest: Manifest): Uint8Array => Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);

/** Sortable by time, unique: 20261126T071500123Z-3fa9c1. */
export function newSnapshotId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('.', '');
  return `${stamp}-${Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0')}`;
}

export const SNAPSHOT_ID = /^\d{8}T\d{9}Z-[0-9a-f]{6}$/;
