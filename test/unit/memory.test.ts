// Agent memory in system.duckdb: each agent reads only its own memories (admin reads any), inputs are
// validated field by field, and keyword search ranks a memory holding the query as a phrase first.
import { afterEach, describe, expect, it } from 'vitest';
import { type Memory, MEMORY_TYPES, MemoryStore, type StoreInput } from '../../src/agent/memory.ts';
import { openSystemDatabase, type SystemDatabase } from '../../src/agent/system-db.ts';
import { EngineError } from '../../src/engine/errors.ts';
import type { Principal } from '../../src/engine/types.ts';
import { StartupError } from '../../src/fs-checks.ts';
import { tempDir } from '../support/process.ts';

const etlBot: Principal = { keyId: 'key-etl', agent: 'etl-bot', scope: 'read' };
const reporter: Principal = { keyId: 'key-rep', agent: 'reporter', scope: 'write' };
const admin: Principal = { keyId: 'key-adm', agent: 'ops', scope: 'admin' };

const opened: { db: SystemDatabase; memory: MemoryStore }[] = [];
afterEach(() => {
  for (const { db, memory } of opened.splice(0)) {
    memory.close();
    db.close();
  }
});

async function openStore(dataDir = tempDir('memory')): Promise<{ db: SystemDatabase; memory: MemoryStore }> {
  const db = await openSystemDatabase(dataDir);
  const handle = { db, memory: await MemoryStore.open(db) };
  opened.push(handle);
  return handle;
}

async function refusal(promise: Promise<unknown>): Promise<EngineError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(EngineError);
  return error as EngineError;
}

const fact = (content: string, extra: Partial<StoreInput> = {}): StoreInput => ({ content, memory_type: 'fact', ...extra });
const contents = (memories: Memory[]) => memories.map((m) => m.content);

describe('agent memory', () => {
  it('stores a memory and lists it back with its metadata, in the order stored', async () => {
    const { memory } = await openStore();
    const metadata = { source: 'orders.csv', tags: ['etl', 'nightly'], nested: { rows: 1200, ok: true, none: null } };
    const first = await memory.store(etlBot, { content: 'orders are loaded nightly at 02:00 UTC', memory_type: 'fact', metadata, importance: 0.9 });
    const second = await memory.store(etlBot, { content: 'prefer parquet over csv', memory_type: 'preference' });

    expect(first).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      agent: 'etl-bot', memory_type: 'fact', content: 'orders are loaded nightly at 02:00 UTC', metadata, importance: 0.9,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    expect(Math.abs(Date.parse(first.created_at) - Date.now())).toBeLessThan(60_000);
    expect(second).toMatchObject({ metadata: {}, importance: 0.5 });
    expect(await memory.list(etlBot, {})).toEqual([first, second]);
  });

  it('lets a read-scope key store and search its own memories', async () => {
    const { memory } = await openStore();
    await memory.store(etlBot, fact('the warehouse timezone is UTC'));
    expect(contents(await memory.search(etlBot, { query: 'timezone' }))).toEqual(['the warehouse timezone is UTC']);
  });

  it('pages a listing with after and filters it by memory_type', async () => {
    const { memory } = await openStore();
    const stored: Memory[] = [];
    for (let i = 0; i < 7; i++) stored.push(await memory.store(etlBot, { content: `note ${i}`, memory_type: i % 2 ? 'episode' : 'observation' }));

    const page1 = await memory.list(etlBot, { limit: 3 });
    const page2 = await memory.list(etlBot, { limit: 3, after: page1.at(-1)?.id });
    const page3 = await memory.list(etlBot, { limit: 3, after: page2.at(-1)?.id });
    expect([...page1, ...page2, ...page3]).toEqual(stored);
    expect(page3).toHaveLength(1);
    expect(contents(await memory.list(etlBot, { memory_type: 'episode' }))).toEqual(['note 1', 'note 3', 'note 5']);
  });

  it('keeps every memory stored concurrently', async () => {
    const { memory } = await openStore();
    const stored = await Promise.all(Array.from({ length: 25 }, (_, i) => memory.store(etlBot, fact(`parallel ${i}`))));
    const listed = await memory.list(etlBot, {});
    expect(listed).toHaveLength(25);
    expect(new Set(listed.map((m) => m.id))).toEqual(new Set(stored.map((m) => m.id)));
  });

  describe('validation', () => {
    const tooBigMetadata = { blob: 'x'.repeat(16 * 1024) };
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;

    it.each([
      ['content', fact(''), /^content must be a string of 1 to 16000 characters/],
      ['content', fact(' \n\t '), /^content must be a string of 1 to 16000 characters, not only whitespace/],
      ['content', fact('x'.repeat(16_001)), /^content must be .*; got 16001 characters/],
      ['content', { memory_type: 'fact' }, /^content must be a string/],
      ['content', fact(42 as unknown as string), /^content must be a string.*; got 42/],
      ['content', fact('broken \ud800 surrogate'), /^content holds an unpaired UTF-16 surrogate/],
      ['memory_type', { content: 'x', memory_type: 'note' }, /^memory_type must be one of fact, observation, instruction, preference, episode; got "note"/],
      ['memory_type', { content: 'x' }, /^memory_type must be one of/],
      ['metadata', fact('x', { metadata: ['a'] as unknown as Record<string, unknown> }), /^metadata must be a JSON object.*got an array/],
      ['metadata', fact('x', { metadata: null as unknown as Record<string, unknown> }), /^metadata must be a JSON object.*got null/],
      ['metadata', fact('x', { metadata: 'text' as unknown as Record<string, unknown> }), /^metadata must be a JSON object/],
      ['metadata', fact('x', { metadata: new Date() as unknown as Record<string, unknown> }), /^metadata must be a JSON object/],
      ['metadata', fact('x', { metadata: tooBigMetadata }), /^metadata must be at most 16384 bytes as JSON; got 16395/],
      ['metadata', fact('x', { metadata: cyclic }), /^metadata must be JSON-serializable/],
      ['metadata', fact('x', { metadata: { n: 1n } }), /^metadata must be JSON-serializable/],
      ['importance', fact('x', { importance: 1.01 }), /^importance must be a number from 0 to 1; got 1.01/],
      ['importance', fact('x', { importance: -0.1 }), /^importance must be a number from 0 to 1/],
      ['importance', fact('x', { importance: Number.NaN }), /^importance must be a number from 0 to 1; got NaN/],
      ['importance', fact('x', { importance: '0.5' as unknown as number }), /^importance must be a number from 0 to 1; got "0.5"/],
      ['an unknown field', { ...fact('x'), type: 'fact' }, /^a memory has unknown field "type"; the fields are content, memory_type, metadata, importance/],
    ])('refuses a memory with a bad %s, naming the field and the rule', async (_field, input, message) => {
      const { memory } = await openStore();
      const error = await refusal(memory.store(etlBot, input as StoreInput));
      expect(error).toMatchObject({ status: 400, code: 'invalid_request' });
      expect(error.message).toMatch(message);
      expect(await memory.list(etlBot, {})).toEqual([]);
    });

    it('counts content in characters, not UTF-16 units, and accepts the bounds', async () => {
      const { memory } = await openStore();
      const ducks = '🦆'.repeat(16_000);
      expect((await memory.store(etlBot, fact(ducks, { importance: 0 }))).content).toBe(ducks);
      expect((await memory.store(etlBot, fact('y', { importance: 1, metadata: { blob: 'x'.repeat(16 * 1024 - 11) } }))).importance).toBe(1);
      expect(await refusal(memory.store(etlBot, fact(`${ducks}🦆`)))).toMatchObject({ message: expect.stringMatching(/got 16001 characters/) });
    });

    it.each([
      [{ query: '' }, /^query must be a string of 1 to 2000 characters/],
      [{ query: '   ' }, /^query must be a string/],
      [{ query: 'x'.repeat(2001) }, /^query must be .*; got 2001 characters/],
      [{ query: 'x', top_k: 0 }, /^top_k must be an integer from 1 to 100; got 0/],
      [{ query: 'x', top_k: 101 }, /^top_k must be an integer from 1 to 100; got 101/],
      [{ query: 'x', top_k: 2.5 }, /^top_k must be an integer from 1 to 100; got 2.5/],
      [{ query: 'x', memory_type: 'facts' }, /^memory_type must be one of/],
      [{ query: 'x', agent: '' }, /^agent must be a non-empty string/],
      [{ query: 'x', topK: 3 }, /^a search has unknown field "topK"/],
    ])('refuses a search with %o', async (options, message) => {
      const { memory } = await openStore();
      const error = await refusal(memory.search(etlBot, options as never));
      expect(error).toMatchObject({ status: 400, code: 'invalid_request', message: expect.stringMatching(message) });
    });

    it.each([
      [{ limit: 0 }, /^limit must be an integer from 1 to 1000; got 0/],
      [{ limit: 1001 }, /^limit must be an integer from 1 to 1000; got 1001/],
      [{ after: 'not-a-uuid' }, /^after must be the id of a memory .*\(a UUID\); got "not-a-uuid"/],
      [{ after: '00000000-0000-4000-8000-000000000000' }, /^after must be the id of a memory .*; no such memory/],
      [{ memory_type: 'FACT' }, /^memory_type must be one of/],
    ])('refuses a listing with %o', async (options, message) => {
      const { memory } = await openStore();
      const error = await refusal(memory.list(etlBot, options as never));
      expect(error).toMatchObject({ status: 400, code: 'invalid_request', message: expect.stringMatching(message) });
    });
  });

  describe('isolation between agents', () => {
    async function twoAgents() {
      const handle = await openStore();
      const mine = await handle.memory.store(etlBot, fact('the orders table is loaded nightly'));
      const theirs = await handle.memory.store(reporter, { content: 'the board wants the revenue deck on Mondays', memory_type: 'instruction' });
      const admins = await handle.memory.store(admin, { content: 'rotate keys quarterly', memory_type: 'instruction' });
      return { ...handle, mine, theirs, admins };
    }

    it("does not show an agent another agent's memories", async () => {
      const { memory, mine, theirs } = await twoAgents();
      expect(await memory.list(etlBot, {})).toEqual([mine]);
      expect(await memory.list(reporter, {})).toEqual([theirs]);
      expect(await memory.search(etlBot, { query: 'revenue deck board Mondays' })).toEqual([]);
      expect(await memory.search(etlBot, { query: 'the' })).toEqual([{ ...mine, score: expect.any(Number) }]);
    });

    it("refuses a non-admin key that names another agent, but not one naming its own", async () => {
      const { memory, mine } = await twoAgents();
      for (const principal of [etlBot, { ...reporter, agent: 'someone-else' }]) {
        for (const request of [memory.list(principal, { agent: 'reporter' }), memory.search(principal, { query: 'revenue', agent: 'reporter' })]) {
          expect(await refusal(request)).toMatchObject({ status: 403, code: 'insufficient_scope', message: expect.stringMatching(/needs a key with admin scope/) });
        }
      }
      expect(await memory.list(etlBot, { agent: 'etl-bot' })).toEqual([mine]);
    });

    it("does not accept another agent's memory id as a listing cursor", async () => {
      const { memory, theirs } = await twoAgents();
      const error = await refusal(memory.list(etlBot, { after: theirs.id }));
      expect(error).toMatchObject({ status: 400, message: expect.stringMatching(/no such memory/) });
    });

    it("lets an admin key read every agent's memories and filter by agent", async () => {
      const { memory, mine, theirs, admins } = await twoAgents();
      expect(await memory.list(admin, {})).toEqual([mine, theirs, admins]);
      expect(await memory.list(admin, { agent: 'reporter' })).toEqual([theirs]);
      expect(await memory.list(admin, { agent: 'reporter', after: mine.id })).toEqual([theirs]);
      expect(await memory.list(admin, { agent: 'nobody' })).toEqual([]);
      expect(contents(await memory.search(admin, { query: 'the' }))).toEqual(expect.arrayContaining([mine.content, theirs.content]));
      expect(await memory.search(admin, { query: 'the', agent: 'reporter' })).toEqual([{ ...theirs, score: expect.any(Number) }]);
      expect(await memory.search(admin, { query: 'the', agent: 'etl-bot', memory_type: 'instruction' })).toEqual([]);
    });
  });

  describe('search', () => {
    it('ranks the exact phrase first, then memories with more of the words, and leaves out unrelated ones', async () => {
      const { memory } = await openStore();
      // The phrase memory has the lowest importance: the phrase bonus outweighs any importance.
      await memory.store(etlBot, fact('Revenue for the team grew this month', { importance: 1 }));
      await memory.store(etlBot, fact('Sent the quarterly revenue report to the board on Friday', { importance: 0 }));
      await memory.store(etlBot, fact('The team offsite is planned for Friday', { importance: 1 }));
      await memory.store(etlBot, fact('Drafted the revenue report for the sales team', { importance: 1 }));
      await memory.store(etlBot, fact('The customer prefers dark mode dashboards', { importance: 1 }));
      await memory.store(etlBot, fact('A report on revenue, published quarterly', { importance: 1 }));

      const results = await memory.search(etlBot, { query: 'quarterly revenue report' });
      expect(contents(results)).toEqual([
        'Sent the quarterly revenue report to the board on Friday',
        'A report on revenue, published quarterly',
        'Drafted the revenue report for the sales team',
        'Revenue for the team grew this month',
      ]);
      const scores = results.map((r) => r.score);
      expect(scores.every((score) => score > 0)).toBe(true);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      expect(new Set(scores).size).toBe(scores.length);
    });

    it('matches the phrase whatever its case and punctuation, and words whatever their case', async () => {
      const { memory } = await openStore();
      await memory.store(etlBot, fact('report, revenue and quarterly numbers', { importance: 1 }));
      await memory.store(etlBot, fact('See the Quarterly-Revenue REPORT!', { importance: 0 }));
      expect(contents(await memory.search(etlBot, { query: 'QUARTERLY revenue report' }))).toEqual([
        'See the Quarterly-Revenue REPORT!', 'report, revenue and quarterly numbers',
      ]);
    });

    it('finds words in any script and snake_case parts', async () => {
      const { memory } = await openStore();
      await memory.store(etlBot, fact('Le café est fermé le lundi'));
      await memory.store(etlBot, fact('orders.customer_id references customers'));
      await memory.store(etlBot, fact('ΣΥΝΑΝΤΗΣΗ με την ομάδα'));
      expect(contents(await memory.search(etlBot, { query: 'CAFÉ' }))).toEqual(['Le café est fermé le lundi']);
      expect(contents(await memory.search(etlBot, { query: 'customer id' }))).toEqual(['orders.customer_id references customers']);
      expect(contents(await memory.search(etlBot, { query: 'συναντηση' }))).toEqual(['ΣΥΝΑΝΤΗΣΗ με την ομάδα']);
    });

    it('ranks a short memory above a long one that mentions the word as often', async () => {
      const { memory } = await openStore();
      await memory.store(etlBot, fact('invoices are due monthly'));
      await memory.store(etlBot, fact(`invoices ${'and other paperwork '.repeat(20)}`));
      await memory.store(etlBot, fact('nothing to see here'));
      expect(contents(await memory.search(etlBot, { query: 'invoices' }))[0]).toBe('invoices are due monthly');
    });

    it('filters by memory_type', async () => {
      const { memory } = await openStore();
      for (const memoryType of MEMORY_TYPES) await memory.store(etlBot, { content: `a ${memoryType} about invoices`, memory_type: memoryType });
      expect(contents(await memory.search(etlBot, { query: 'invoices', memory_type: 'preference' }))).toEqual(['a preference about invoices']);
      expect(await memory.search(etlBot, { query: 'invoices', top_k: 100 })).toHaveLength(MEMORY_TYPES.length);
    });

    it('returns at most top_k results, 5 by default, the best ones', async () => {
      const { memory } = await openStore();
      // Equal matches otherwise, so importance orders them (ties would go newest first).
      for (let i = 1; i <= 12; i++) await memory.store(etlBot, fact(`invoice ${i}`, { importance: (13 - i) / 12 }));
      expect(await memory.search(etlBot, { query: 'invoice' })).toHaveLength(5);
      const top3 = await memory.search(etlBot, { query: 'invoice', top_k: 3 });
      expect(contents(top3)).toEqual(['invoice 1', 'invoice 2', 'invoice 3']);
      expect(await memory.search(etlBot, { query: 'invoice', top_k: 100 })).toHaveLength(12);
    });
  });

  it('stores hostile strings verbatim, finds them, and keeps the table intact', async () => {
    const { db, memory } = await openStore();
    const hostile = [
      "'; drop table memories; --",
      'Robert"); DROP TABLE memories;-- "quoted" \'single\'',
      '100% of rows matched',
      'snake_case_column',
      'naïve café 日本語 🦆 ﷽ \u202eRTL',
      'back\\slash $1 ? :name \u0000 nul',
      '%',
      '_',
    ];
    const metadata = { "'; drop table memories; --": '%_\\', nested: { '"': "'" } };
    for (const content of hostile) await memory.store(etlBot, fact(content, { metadata }));

    const listed = await memory.list(etlBot, {});
    expect(contents(listed)).toEqual(hostile);
    expect(listed.every((m) => JSON.stringify(m.metadata) === JSON.stringify(metadata))).toBe(true);
    for (const content of hostile) {
      expect(contents(await memory.search(etlBot, { query: content, top_k: 100 }))).toContain(content);
    }
    // % and _ are literal characters here, not LIKE wildcards.
    expect(contents(await memory.search(etlBot, { query: '%', top_k: 100 })).sort()).toEqual(['%', '100% of rows matched']);
    expect(contents(await memory.search(etlBot, { query: '_', top_k: 100 })).sort()).toEqual(['_', 'snake_case_column']);
    expect(await memory.list(admin, { agent: "'; drop table memories; --" })).toEqual([]);

    const count = await db.connection.runAndReadAll('SELECT count(*) FROM memories');
    expect(count.getRows()).toEqual([[BigInt(hostile.length)]]);
  });

  it('keeps memories across close and reopen, and continues the order after them', async () => {
    const dataDir = tempDir('memory');
    const first = await openStore(dataDir);
    const before = [
      await first.memory.store(etlBot, fact('survives a restart', { metadata: { n: 1 } })),
      await first.memory.store(reporter, fact('so does this one')),
    ];
    opened.pop();
    first.memory.close();
    first.db.close();

    const { memory } = await openStore(dataDir);
    expect(await memory.list(admin, {})).toEqual(before);
    expect(contents(await memory.search(etlBot, { query: 'restart' }))).toEqual(['survives a restart']);
    const after = await memory.store(etlBot, fact('stored after the restart'));
    expect(await memory.list(admin, {})).toEqual([...before, after]);
  });

  it('refuses to open a read-only system database that has no memories table', async () => {
    const dataDir = tempDir('memory');
    (await openSystemDatabase(dataDir)).close();
    const db = await openSystemDatabase(dataDir, { readOnly: true });
    try {
      await expect(MemoryStore.open(db)).rejects.toThrow(StartupError);
    } finally {
      db.close();
    }
  });
});
