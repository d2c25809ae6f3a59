// skyduck's MCP server: the same tools over Streamable HTTP (POST /mcp) and stdio (`skyduck mcp`), built
// with the official SDK. Every tool runs as the API key's principal (the key's agent is the MCP identity)
// through the same pipeline as HTTP queries: `query` runs with read scope, so DuckDB itself (a READ ONLY
// transaction) refuses writes, never a wrapper around the SQL text; table names are validated and bound.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import * as z from 'zod';
import type { QueryRequest, QueryResponse } from '../engine/pipeline.ts';
import { EngineError, type Principal, type QueryResult } from '../engine/types.ts';
import { MEMORY_LIMITS, MEMORY_TYPES, type MemoryStore } from './memory.ts';

/** What the tools reach; each call checks the principal's scope where the operation lives. */
export interface McpDeps {
  version: string;
  query(principal: Principal, request: QueryRequest): Promise<QueryResponse>;
  listTables(principal: Principal): Promise<unknown[]>;
  describeTable(principal: Principal, name: string): Promise<unknown>;
  memory(): Promise<MemoryStore>;
  snapshots?: {
    take(principal: Principal): Promise<Record<string, unknown>>;
    list(principal: Principal): Promise<Record<string, unknown>[]>;
  };
}

export const TOOL_LIMITS = { defaultRows: 200, maxRows: 10_000, defaultChars: 20_000, maxChars: 200_000, maxSqlChars: 100_000 };

type ToolResult = { content: { type: 'text'; text: string }[]; isError?: boolean };

const text = (value: unknown): ToolResult => ({ content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value) }] });

/** A refusal or a bad statement as a tool error the model can read and act on; never a stack. */
function failure(error: unknown): ToolResult {
  if (error instanceof EngineError) return { content: [{ type: 'text', text: `${error.code}: ${error.message}` }], isError: true };
  return { content: [{ type: 'text', text: 'internal error; the server log has the details' }], isError: true };
}

async function guarded(work: () => Promise<unknown>, log?: (error: unknown) => void): Promise<ToolResult> {
  try {
    return text(await work());
  } catch (error) {
    // Refusals and bad SQL are the caller's to fix; only failures of skyduck itself go to the log.
    if (!(error instanceof EngineError) || error.status === 500) log?.(error);
    return failure(error);
  }
}

/** Tool arguments are checked strictly: a misspelt argument is an error, not silently dropped. */
const strict = <T extends z.ZodRawShape>(shape: T) => z.object(shape).strict();

/** Rows dropped from the end until the JSON fits `maxChars`; `truncated` says so. */
export function fitCharacters(result: QueryResult, maxChars: number): QueryResult {
  let json = JSON.stringify(result);
  if (json.length <= maxChars) return result;
  const rows = [...result.rows];
  let size = json.length;
  while (rows.length > 0 && size > maxChars) size -= JSON.stringify(rows.pop()).length + 1;
  const fitted = { ...result, rows, row_count: rows.length, truncated: true };
  json = JSON.stringify(fitted);
  return json.length <= maxChars ? fitted : { ...fitted, rows: [], row_count: 0 };
}

const sqlInput = z.string().min(1).max(TOOL_LIMITS.maxSqlChars).describe('SQL in DuckDB dialect');
const paramsInput = z
  .union([z.array(z.unknown()), z.record(z.string(), z.unknown())])
  .optional()
  .describe('Values bound to $1/? (array) or $name (object) placeholders; never paste values into sql');

/** One MCP server whose every tool runs as `principal`. */
export function createMcpServer(principal: Principal, deps: McpDeps, log?: (error: unknown) => void): McpServer {
  const server = new McpServer({ name: 'skyduck', version: deps.version }, {
    instructions: 'skyduck is a DuckDB data warehouse. Use list_tables and describe_table to learn the schema, query to read (SELECT only), ' +
      'execute to change data when your key allows, and store_memory / search_memory to keep notes across sessions.',
  });

  const run = async (sql: string, params: QueryRequest['params'], as: Principal, caps: { rows: number; chars: number }) => {
    const response = await deps.query(as, { sql, params, format: 'json', limits: { maxResultRows: caps.rows } });
    if (response.kind !== 'json') throw new Error('internal: a JSON query answered with a stream');
    return fitCharacters(response.body, caps.chars);
  };

  server.registerTool('query', {
    title: 'Read data with SQL',
    description: 'Run a read-only SQL query (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE) and get columns and rows; results are capped and marked truncated.',
    inputSchema: strict({
      sql: sqlInput,
      params: paramsInput,
      max_rows: z.number().int().min(1).max(TOOL_LIMITS.maxRows).optional().describe(`Rows to return at most (default ${TOOL_LIMITS.defaultRows})`),
      max_chars: z.number().int().min(100).max(TOOL_LIMITS.maxChars).optional().describe(`Characters of JSON to return at most (default ${TOOL_LIMITS.defaultChars})`),
    }),
    annotations: { readOnlyHint: true },
  }, ({ sql, params, max_rows, max_chars }) => guarded(() =>
    // Read scope whatever the key holds: the pipeline runs it READ ONLY, so DuckDB refuses any write.
    run(sql, params as QueryRequest['params'], { ...principal, scope: 'read' }, { rows: max_rows ?? TOOL_LIMITS.defaultRows, chars: max_chars ?? TOOL_LIMITS.defaultChars }), log));

  server.registerTool('execute', {
    title: 'Change data with SQL',
    description: 'Run SQL that changes data or schema (INSERT, UPDATE, DELETE, CREATE, DROP, ALTER); needs a key with write scope.',
    inputSchema: strict({ sql: sqlInput, params: paramsInput }),
    annotations: { destructiveHint: true },
  }, ({ sql, params }) => guarded(() => run(sql, params as QueryRequest['params'], principal, { rows: TOOL_LIMITS.defaultRows, chars: TOOL_LIMITS.defaultChars }), log));

  server.registerTool('list_tables', {
    title: 'List tables',
    description: 'List the tables of the warehouse with their column counts and approximate row counts.',
    inputSchema: strict({}),
    annotations: { readOnlyHint: true },
  }, () => guarded(async () => ({ tables: await deps.listTables(principal) }), log));

  server.registerTool('describe_table', {
    title: 'Describe a table',
    description: 'Columns, types, nullability and exact row count of one table.',
    inputSchema: strict({ name: z.string().min(1).max(128).describe('A table name from list_tables: letters, digits and _') }),
    annotations: { readOnlyHint: true },
  }, ({ name }) => guarded(() => deps.describeTable(principal, name), log));

  server.registerTool('store_memory', {
    title: 'Remember something',
    description: 'Store a memory (a fact, observation, instruction, preference or episode) for later sessions of this agent.',
    inputSchema: strict({
      content: z.string().min(1).max(MEMORY_LIMITS.contentChars).describe('What to remember, in plain words'),
      memory_type: z.enum(MEMORY_TYPES).describe('fact | observation | instruction | preference | episode'),
      metadata: z.record(z.string(), z.unknown()).optional().describe('Optional JSON object, e.g. {"source": "..."}'),
      importance: z.number().min(0).max(1).optional().describe('0..1, default 0.5; ranks ties in search'),
    }),
  }, (input) => guarded(async () => (await deps.memory()).store(principal, input), log));

  server.registerTool('search_memory', {
    title: 'Recall memories',
    description: "Search this agent's memories by keywords; exact phrases rank first.",
    inputSchema: strict({
      query: z.string().min(1).max(MEMORY_LIMITS.queryChars).describe('Words or a phrase to look for'),
      top_k: z.number().int().min(1).max(MEMORY_LIMITS.maxTopK).optional().describe(`How many to return (default ${MEMORY_LIMITS.defaultTopK})`),
      memory_type: z.enum(MEMORY_TYPES).optional().describe('Only memories of this type'),
    }),
    annotations: { readOnlyHint: true },
  }, (input) => guarded(async () => ({ memories: await (await deps.memory()).search(principal, input) }), log));

  if (deps.snapshots) registerSnapshotTools(server, principal, deps.snapshots, log);
  return server;
}

function registerSnapshotTools(server: McpServer, principal: Principal, snapshots: NonNullable<McpDeps['snapshots']>, log?: (error: unknown) => void): void {
  server.registerTool('list_snapshots', {
    title: 'List snapshots',
    description: 'The encrypted snapshots of the warehouse in its blob store, newest first.',
    inputSchema: strict({}),
    annotations: { readOnlyHint: true },
  }, () => guarded(async () => ({ snapshots: await snapshots.list(principal) }), log));

  server.registerTool('take_snapshot', {
    title: 'Take a snapshot',
    description: 'Write a durable, encrypted snapshot of every table to the blob store now; needs write scope.',
    inputSchema: strict({}),
  }, () => guarded(async () => snapshots.take(principal), log));
}

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  keyId: string;
  lastSeen: number;
}

const IDLE_MS = 30 * 60_000;
/** Open sessions per key and in all: past either, the least recently used one (of that key first) closes. */
const MAX_SESSIONS_PER_KEY = 32;
const MAX_SESSIONS = 1000;

/** Streamable HTTP sessions, each bound to the key that opened it. */
export class McpSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly deps: McpDeps;
  private readonly log?: (error: unknown) => void;

  constructor(deps: McpDeps, log?: (error: unknown) => void) {
    this.deps = deps;
    this.log = log;
  }

  get size(): number {
    return this.sessions.size;
  }

  async handle(request: Request, principal: Principal, parsedBody?: unknown): Promise<Response> {
    this.expire();
    const id = request.headers.get('mcp-session-id');
    if (id) {
      const session = this.sessions.get(id);
      if (!session) return jsonRpcError(404, -32001, 'session not found: it expired or the server restarted; initialize a new one');
      // A session is its key's: another key (or agent) cannot act in it.
      if (session.keyId !== principal.keyId) return jsonRpcError(403, -32001, 'this session belongs to another API key');
      session.lastSeen = Date.now();
      return session.transport.handleRequest(request, { parsedBody });
    }
    if (request.method !== 'POST' || !(await isInitialize(request))) {
      return jsonRpcError(400, -32000, 'no mcp-session-id header: send an initialize request first, then the session id it returns');
    }
    this.makeRoom(principal.keyId);

    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (sessionId) => {
        this.sessions.set(sessionId, { transport, keyId: principal.keyId, lastSeen: Date.now() });
      },
      onsessionclosed: (sessionId) => {
        this.sessions.delete(sessionId);
      },
    });
    const server = createMcpServer(principal, this.deps, this.log);
    await server.connect(transport);
    return transport.handleRequest(request, { parsedBody });
  }

  close(): void {
    for (const session of this.sessions.values()) void session.transport.close();
    this.sessions.clear();
  }

  /** One key cannot crowd out the others: its own oldest session goes first, then the oldest of all. */
  private makeRoom(keyId: string): void {
    const byAge = [...this.sessions].sort(([, a], [, b]) => a.lastSeen - b.lastSeen);
    const own = byAge.filter(([, session]) => session.keyId === keyId);
    const victims = own.length >= MAX_SESSIONS_PER_KEY ? own : this.sessions.size >= MAX_SESSIONS ? byAge : [];
    const [victim] = victims;
    if (!victim) return;
    this.sessions.delete(victim[0]);
    void victim[1].transport.close();
  }

  private expire(): void {
    const now = Date.now();
    for (const [id, session] of this.sessions) {
      if (now - session.lastSeen > IDLE_MS) {
        this.sessions.delete(id);
        void session.transport.close();
      }
    }
  }
}

/** Whether a session-less POST starts a session; anything else gets skyduck's own message. */
async function isInitialize(request: Request): Promise<boolean> {
  try {
    const body = (await request.clone().json()) as { method?: unknown } | { method?: unknown }[];
    return (Array.isArray(body) ? body : [body]).some((message) => message?.method === 'initialize');
  } catch {
    return true; // not JSON: the transport answers with the JSON-RPC parse error
  }
}

export function jsonRpcError(status: number, code: number, message: string): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}
