// Agent memory: what an agent chose to remember (facts, observations, instructions, preferences,
// episodes), kept in the system database, so user SQL can neither read nor plant it. Each memory belongs
// to the agent of the key that stored it; only an admin key reads another agent's.
//
// Any authenticated key, read scope included, may store and search its own memories. Scopes guard the
// warehouse's data; memory is the agent's own notebook, which no other agent (admin aside) sees, so
// writing to it changes nothing a read key is kept from changing. What bounds it instead is strict
// validation of every field, and the per-agent filter applied in SQL.
//
// Search is keyword ranking in SQL with DuckDB's built-in functions (no model, no extension): BM25 over
// the searched memories, a bonus when the query's words occur in a memory as a phrase, a small boost by
// importance.
import { randomUUID } from 'node:crypto';
import { type DuckDBConnection, type DuckDBTimestampTZValue, type DuckDBValue, timestampTZValue } from '@duckdb/node-api';
import { EngineError } from '../engine/errors.ts';
import type { Principal } from '../engine/types.ts';
import { StartupError } from '../fs-checks.ts';
import type { SystemDatabase } from './system-db.ts';

export const MEMORY_TYPES = ['fact', 'observation', 'instruction', 'preference', 'episode'] as const;
export type MemoryType = (typeof MEMORY_TYPES)[number];

export interface Memory {
  /** A UUID, as text. */
  id: string;
  agent: string;
  memory_type: MemoryType;
  content: string;
  metadata: Record<string, unknown>;
  /** 0 to 1. */
  importance: number;
  /** ISO 8601, UTC, millisecond precision. */
  created_at: string;
}

export type ScoredMemory = Memory & { score: number };

export interface StoreInput {
  content: string;
  memory_type: MemoryType;
  metadata?: Record<string, unknown>;
  /** 0 to 1, default 0.5. */
  importance?: number;
}

export interface SearchOptions {
  query: string;
  /** Default 5, at most 100. */
  top_k?: number;
  memory_type?: MemoryType;
  /** Another agent's memories: admin keys only. */
  agent?: string;
}

export interface ListOptions {
  memory_type?: MemoryType;
  /** Default 100, at most 1000. */
  limit?: number;
  /** The id of the last memory of the previous page: lists the memories stored after it. */
  after?: string;
  /** Another agent's memories: admin keys only. */
  agent?: string;
}

/** The bounds validation enforces, for callers that describe them (tool schemas, OpenAPI). */
export const MEMORY_LIMITS = {
  contentChars: 16_000,
  metadataBytes: 16 * 1024,
  queryChars: 2_000,
  defaultImportance: 0.5,
  defaultTopK: 5,
  maxTopK: 100,
  defaultListLimit: 100,
  maxListLimit: 1_000,
} as const;

// BM25's usual constants: term-frequency saturation and length normalization.
const K1 = 1.2;
const B = 0.75;
/** Importance 1 scores 20% above importance 0: enough to order near-equal matches, not to lift a weak one. */
const IMPORTANCE_WEIGHT = 0.2;

/**
 * A term is a run of letters (with their combining marks) and digits, lowercased: `_` and punctuation
 * separate terms, so "customer id" finds customer_id. RE2's \w is ASCII-only, hence the classes. Scripts
 * written without spaces (Chinese, Japanese) make one term per run; the phrase match still finds them.
 */
const terms = (expression: string) => String.raw`regexp_extract_all(lower(${expression}), '[\p{L}\p{M}\p{N}]+')`;

// `terms` is derived from content at insert, so a search does not tokenize the whole corpus each time.
// seq orders memories as stored: the `after` cursor of list.
const CREATE = `
CREATE SEQUENCE IF NOT EXISTS memory_seq;
CREATE TABLE IF NOT EXISTS memories (
  seq BIGINT NOT NULL DEFAULT nextval('memory_seq'), id VARCHAR PRIMARY KEY, agent VARCHAR NOT NULL,
  memory_type VARCHAR NOT NULL, content VARCHAR NOT NULL, metadata VARCHAR NOT NULL, importance DOUBLE NOT NULL,
  created_at TIMESTAMPTZ NOT NULL, terms VARCHAR[] NOT NULL)`;

const COLUMNS = 'id, agent, memory_type, content, metadata, importance, created_at';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A value as it may appear in a message: short, quoted, never the whole of a long string. */
function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

const invalid = (message: string) => new EngineError(400, 'invalid_request', message);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** The arguments arrive from HTTP bodies and MCP tool calls: a misspelt field is refused, not ignored. */
function fields<T>(input: unknown, what: string, allowed: readonly string[]): Partial<Record<keyof T, unknown>> {
  if (!isPlainObject(input)) throw invalid(`${what} must be an object with the fields ${allowed.join(', ')}`);
  const unknown = Object.keys(input).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) throw invalid(`${what} has unknown field ${shown(unknown[0])}; the fields are ${allowed.join(', ')}`);
  return input as Partial<Record<keyof T, unknown>>;
}

function memoryType(value: unknown): MemoryType {
  if (MEMORY_TYPES.includes(value as MemoryType)) return value as MemoryType;
  throw invalid(`memory_type must be one of ${MEMORY_TYPES.join(', ')}; got ${shown(value)}`);
}

function integer(value: unknown, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= max) return value;
  throw invalid(`${name} must be an integer from 1 to ${max}; got ${shown(value)}`);
}

/** Characters as a reader counts them (code points), as DuckDB's length() does, not UTF-16 units. */
function text(value: unknown, name: string, maxChars: number): string {
  const rule = `${name} must be a string of 1 to ${maxChars} characters, not only whitespace`;
  if (typeof value !== 'string') throw invalid(`${rule}; got ${shown(value)}`);
  const chars = [...value].length;
  if (chars > maxChars) throw invalid(`${rule}; got ${chars} characters`);
  if (value.trim() === '') throw invalid(`${rule}; got ${shown(value)}`);
  // A lone surrogate has no UTF-8 form: DuckDB would store U+FFFD and the text would not come back as sent.
  if (!value.isWellFormed()) throw invalid(`${name} holds an unpaired UTF-16 surrogate, which is not valid Unicode text`);
  return value;
}

/** The JSON text stored: a plain object that survives a JSON round trip, within the size bound. */
function metadataJson(value: unknown): string {
  if (value === undefined) return '{}';
  if (!isPlainObject(value)) throw invalid(`metadata must be a JSON object (not an array, null or a scalar); got ${shown(value)}`);
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw invalid(`metadata must be JSON-serializable: ${(error as Error).message}`);
  }
  const bytes = Buffer.byteLength(json);
  if (bytes > MEMORY_LIMITS.metadataBytes) throw invalid(`metadata must be at most ${MEMORY_LIMITS.metadataBytes} bytes as JSON; got ${bytes}`);
  return json;
}

function importance(value: unknown): number {
  if (value === undefined) return MEMORY_LIMITS.defaultImportance;
  if (typeof value === 'number' && value >= 0 && value <= 1) return value;
  throw invalid(`importance must be a number from 0 to 1; got ${shown(value)}`);
}

/**
 * The agent whose memories a request reads, or undefined for every agent's (admin, no filter). Naming
 * one's own agent is allowed to any key; naming another needs admin scope.
 */
function readableAgent(principal: Principal, requested: unknown): string | undefined {
  if (requested === undefined) return principal.scope === 'admin' ? undefined : principal.agent;
  if (typeof requested !== 'string' || requested === '') throw invalid(`agent must be a non-empty string; got ${shown(requested)}`);
  if (requested !== principal.agent && principal.scope !== 'admin') {
    throw new EngineError(403, 'insufficient_scope',
      `reading another agent's memories needs a key with admin scope; this key has ${principal.scope} scope (omit agent to read your own)`);
  }
  return requested;
}

/** The WHERE clause and its bound values for the memories a request may see. */
function filter(agent: string | undefined, type: MemoryType | undefined): { where: string; values: Record<string, DuckDBValue> } {
  const conditions = ['TRUE'];
  const values: Record<string, DuckDBValue> = {};
  if (agent !== undefined) {
    conditions.push('agent = $agent');
    values.agent = agent;
  }
  if (type !== undefined) {
    conditions.push('memory_type = $memory_type');
    values.memory_type = type;
  }
  return { where: conditions.join(' AND '), values };
}

/** One row of `SELECT ${COLUMNS}`. */
function toMemory(values: DuckDBValue[]): Memory {
  const [id, agent, type, content, metadata, weight, createdAt] = values;
  return {
    id: String(id), agent: String(agent), memory_type: type as MemoryType, content: String(content),
    metadata: JSON.parse(String(metadata)) as Record<string, unknown>, importance: Number(weight),
    created_at: new Date(Number((createdAt as DuckDBTimestampTZValue).micros / 1000n)).toISOString(),
  };
}

/**
 * BM25 over the memories `docs` selects, as in Lucene: idf = ln(1 + (N - df + 0.5) / (df + 0.5)), which is
 * positive for every term, so any memory holding a query term scores above 0.
 *
 * The phrase bonus is the largest BM25 score the query could reach (each term's idf times K1 + 1, the
 * bound of its saturated frequency), raised by the largest importance factor, plus 1. So a memory holding
 * the query's terms as a phrase ranks above every memory that does not, whatever their importance, and
 * a query with no terms at all (only punctuation, say "%") still scores the memories that contain it.
 * The phrase is matched on terms for a query that has them ("Quarterly-Revenue report!" holds "quarterly
 * revenue report"), as a plain substring otherwise.
 */
const SEARCH = (where: string) => `
WITH
query AS (
  SELECT ${terms('$query')} AS sequence, list_distinct(sequence) AS terms, lower(trim($query)) AS text),
docs AS (SELECT seq, ${COLUMNS}, terms FROM memories WHERE ${where}),
stats AS (SELECT count(*)::DOUBLE AS n, avg(len(terms)) AS avgdl FROM docs),
matched AS (SELECT d.seq, d.terms FROM docs d, query q WHERE list_has_any(d.terms, q.terms)),
tf AS (
  SELECT seq, term, count(*) AS tf FROM (SELECT seq, unnest(terms) AS term FROM matched)
  WHERE term IN (SELECT unnest(terms) FROM query) GROUP BY seq, term),
df AS (SELECT term, count(*) AS df FROM tf GROUP BY term),
idf AS (
  SELECT t.term, ln(1 + (s.n - coalesce(df.df, 0) + 0.5) / (coalesce(df.df, 0) + 0.5)) AS idf
  FROM (SELECT unnest(terms) AS term FROM query) t LEFT JOIN df USING (term), stats s),
bm25 AS (
  SELECT tf.seq, sum(idf.idf * tf.tf * (${K1} + 1) / (tf.tf + ${K1} * (1 - ${B} + ${B} * len(m.terms) / s.avgdl))) AS score
  FROM tf JOIN idf USING (term) JOIN matched m USING (seq), stats s GROUP BY tf.seq),
bonus AS (SELECT coalesce(sum(idf), 0) * (${K1} + 1) * (1 + ${IMPORTANCE_WEIGHT}) + 1 AS bonus FROM idf),
scored AS (
  SELECT d.*, coalesce(b.score, 0) AS bm25,
    CASE WHEN len(q.terms) > 0
      THEN b.score IS NOT NULL AND contains(' ' || array_to_string(d.terms, ' ') || ' ', ' ' || array_to_string(q.sequence, ' ') || ' ')
      ELSE contains(lower(d.content), q.text) END AS phrase
  FROM docs d LEFT JOIN bm25 b USING (seq), query q)
SELECT ${COLUMNS}, (bm25 + CASE WHEN phrase THEN bonus ELSE 0 END) * (1 + ${IMPORTANCE_WEIGHT} * importance) AS score
FROM scored, bonus
WHERE bm25 > 0 OR phrase
ORDER BY score DESC, seq DESC
LIMIT $top_k`;

export class MemoryStore {
  /** Its own connection, so a store never lands inside another component's transaction or streaming read. */
  private readonly connection: DuckDBConnection;

  private constructor(connection: DuckDBConnection) {
    this.connection = connection;
  }

  /** Creates the memories table if missing. The system database stays its owner's to close. */
  static async open(db: SystemDatabase): Promise<MemoryStore> {
    const tables = await db.connection.runAndReadAll(
      "SELECT 1 FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = 'memories'");
    if (tables.currentRowCount === 0) {
      if (db.readOnly) throw new StartupError(`the system database ${db.file} has no memories table: no skyduck server with agent memory has run on this data dir`);
      await db.connection.run(CREATE);
    }
    return new MemoryStore(await db.connect());
  }

  close(): void {
    this.connection.closeSync();
  }

  async store(principal: Principal, input: StoreInput): Promise<Memory> {
    const given = fields<StoreInput>(input, 'a memory', ['content', 'memory_type', 'metadata', 'importance']);
    const values: Record<string, DuckDBValue> = {
      id: randomUUID(),
      agent: principal.agent,
      memory_type: memoryType(given.memory_type),
      content: text(given.content, 'content', MEMORY_LIMITS.contentChars),
      metadata: metadataJson(given.metadata),
      importance: importance(given.importance),
      created_at: timestampTZValue(BigInt(Date.now()) * 1000n),
    };
    const reader = await this.connection.runAndReadAll(
      `INSERT INTO memories (${COLUMNS}, terms)
       VALUES ($id, $agent, $memory_type, $content, $metadata, $importance, $created_at, ${terms('$content')})
       RETURNING ${COLUMNS}`, values);
    return toMemory(reader.getRows()[0] as DuckDBValue[]);
  }

  /** The best matches first; memories that share no term with the query (nor contain it) are not returned. */
  async search(principal: Principal, options: SearchOptions): Promise<ScoredMemory[]> {
    const given = fields<SearchOptions>(options, 'a search', ['query', 'top_k', 'memory_type', 'agent']);
    const query = text(given.query, 'query', MEMORY_LIMITS.queryChars);
    const topK = integer(given.top_k, 'top_k', MEMORY_LIMITS.defaultTopK, MEMORY_LIMITS.maxTopK);
    const type = given.memory_type === undefined ? undefined : memoryType(given.memory_type);
    const { where, values } = filter(readableAgent(principal, given.agent), type);
    const reader = await this.connection.runAndReadAll(SEARCH(where), { ...values, query, top_k: BigInt(topK) });
    return reader.getRows().map((row) => ({ ...toMemory(row), score: Number(row[7]) }));
  }

  /** In the order stored, oldest first; page with `after` set to the last id of the previous page. */
  async list(principal: Principal, options: ListOptions = {}): Promise<Memory[]> {
    const given = fields<ListOptions>(options, 'a listing', ['memory_type', 'limit', 'after', 'agent']);
    const limit = integer(given.limit, 'limit', MEMORY_LIMITS.defaultListLimit, MEMORY_LIMITS.maxListLimit);
    const type = given.memory_type === undefined ? undefined : memoryType(given.memory_type);
    const agent = readableAgent(principal, given.agent);
    const { where, values } = filter(agent, type);
    const after = given.after === undefined ? 0n : await this.seqOf(principal, given.after);
    const reader = await this.connection.runAndReadAll(
      `SELECT ${COLUMNS} FROM memories WHERE ${where} AND seq > $after ORDER BY seq LIMIT $limit`,
      { ...values, after, limit: BigInt(limit) });
    return reader.getRows().map(toMemory);
  }

  /** Where a cursor points: only an id the principal could have listed, so a cursor reveals no other agent's ids. */
  private async seqOf(principal: Principal, id: unknown): Promise<bigint> {
    const rule = "after must be the id of a memory from a previous page of this key's listing";
    if (typeof id !== 'string' || !UUID.test(id)) throw invalid(`${rule} (a UUID); got ${shown(id)}`);
    const { where, values } = filter(principal.scope === 'admin' ? undefined : principal.agent, undefined);
    const reader = await this.connection.runAndReadAll(`SELECT seq FROM memories WHERE ${where} AND id = $id`, { ...values, id });
    const row = reader.getRows()[0];
    if (!row) throw invalid(`${rule}; no such memory ${shown(id)}`);
    return row[0] as bigint;
  }
}
