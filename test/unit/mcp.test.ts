// The MCP tools from source, through the SDK's own Client and an in-memory transport pair.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMcpServer } from '../../src/agent/mcp.ts';
import { MemoryStore } from '../../src/agent/memory.ts';
import type { Principal } from '../../src/engine/types.ts';
import { openTestWarehouse, type TestWarehouse } from '../support/warehouse.ts';

let w: TestWarehouse;
let memory: MemoryStore;
beforeAll(async () => {
  w = await openTestWarehouse();
  memory = await MemoryStore.open(w.system);
  await w.query("create table sales (region varchar, amount int); insert into sales values ('north', 10), ('south', 20)");
});
afterAll(async () => {
  memory.close();
  await w.close();
});

async function client(key: string): Promise<Client> {
  const principal = w.keyStore.authenticate(key) as Principal;
  const server = createMcpServer(principal, {
    version: 'test',
    query: (p, request) => w.warehouse.query(p, request),
    listTables: (p) => w.warehouse.listTables(p),
    describeTable: (p, name) => w.warehouse.describeTable(p, name),
    memory: async () => memory,
  });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  const c = new Client({ name: 'test', version: '1' });
  await c.connect(b);
  return c;
}

const call = async (c: Client, name: string, args: Record<string, unknown> = {}) => {
  const result = (await c.callTool({ name, arguments: args })) as { content: { text: string }[]; isError?: boolean };
  const text = result.content[0]!.text;
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { isError: result.isError === true, text, json };
};

describe('MCP tools', () => {
  it('lists every tool with a description and a JSON schema (snapshot tools only where snapshots are set up)', async () => {
    const c = await client(w.keys.read);
    const { tools } = await c.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['describe_table', 'execute', 'list_tables', 'query', 'search_memory', 'store_memory']);
    for (const tool of tools) {
      expect(tool.description!.length).toBeGreaterThan(20);
      expect(tool.inputSchema.type).toBe('object');
    }
  });

  it('query reads, and refuses writes even for a write key (read scope, not SQL wrapping)', async () => {
    const c = await client(w.keys.write);
    const read = await call(c, 'query', { sql: 'select region, amount from sales order by region' });
    expect(read.json.rows).toEqual([['north', 10], ['south', 20]]);
    const write = await call(c, 'query', { sql: "insert into sales values ('east', 1)" });
    expect(write.isError).toBe(true);
    expect(write.text).toMatch(/insufficient_scope/);
    const sneaky = await call(c, 'query', { sql: "select 1; insert into sales values ('east', 1)" });
    expect(sneaky.isError).toBe(true);
    expect((await w.query('select count(*) from sales')).body.rows).toEqual([['2']]);
  });

  it('execute needs write scope', async () => {
    const reader = await client(w.keys.read);
    expect((await call(reader, 'execute', { sql: "insert into sales values ('east', 1)" })).text).toMatch(/insufficient_scope/);
    const writer = await client(w.keys.write);
    const ok = await call(writer, 'execute', { sql: 'create table notes (n int)' });
    expect(ok.isError).toBe(false);
  });

  it('caps rows and characters and says truncated', async () => {
    const c = await client(w.keys.read);
    const rows = await call(c, 'query', { sql: 'select range from range(1000)', max_rows: 5 });
    expect(rows.json).toMatchObject({ row_count: 5, truncated: true });
    const chars = await call(c, 'query', { sql: "select repeat('x', 100) from range(1000)", max_chars: 1000 });
    expect(chars.text.length).toBeLessThanOrEqual(1000);
    expect(chars.json.truncated).toBe(true);
  });

  it('describe_table refuses hostile names and changes nothing', async () => {
    const c = await client(w.keys.admin);
    for (const name of ['x; drop table sales', 'sales"; drop table sales; --', "sales'", 'säles', '../../etc']) {
      const result = await call(c, 'describe_table', { name });
      expect(result.isError, name).toBe(true);
      expect(result.text).toMatch(/invalid_table_name|table_not_found/);
    }
    expect((await call(c, 'describe_table', { name: 'sales' })).json.row_count).toBe(2);
    expect((await call(c, 'list_tables')).json.tables.map((t: { name: string }) => t.name)).toContain('sales');
  });

  it("keeps each agent's memories to itself and ranks the exact phrase first", async () => {
    const reader = await client(w.keys.read);
    const writer = await client(w.keys.write);
    for (const content of ['the quarterly revenue report is due friday', 'revenue grew this quarter', 'the report template lives in drive', 'lunch is at noon']) {
      expect((await call(reader, 'store_memory', { content, memory_type: 'fact' })).isError).toBe(false);
    }
    const found = await call(reader, 'search_memory', { query: 'quarterly revenue report' });
    expect(found.json.memories[0].content).toBe('the quarterly revenue report is due friday');
    expect(found.json.memories.map((m: { content: string }) => m.content)).not.toContain('lunch is at noon');
    expect((await call(writer, 'search_memory', { query: 'quarterly revenue report' })).json.memories).toEqual([]);
  });

  it('answers bad arguments and unknown tools with MCP errors, and keeps serving', async () => {
    const c = await client(w.keys.read);
    const misspelt = await c.callTool({ name: 'store_memory', arguments: { content: 'x', memory_type: 'fact', importanse: 1 } });
    expect((misspelt as { isError?: boolean }).isError).toBe(true);
    const wrongType = await c.callTool({ name: 'query', arguments: { sql: 42 } }).catch((error: Error) => ({ isError: true, content: [{ text: error.message }] }));
    expect((wrongType as { isError?: boolean }).isError).toBe(true);
    await expect(c.callTool({ name: 'no_such_tool', arguments: {} })).resolves.toMatchObject({ isError: true });
    const huge = await c.callTool({ name: 'store_memory', arguments: { content: 'x'.repeat(20_000), memory_type: 'fact' } });
    expect((huge as { isError?: boolean }).isError).toBe(true);
    expect((await call(c, 'query', { sql: 'select 1 as one' })).json.rows).toEqual([[1]]);
  });
});
