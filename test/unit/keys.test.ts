// API keys: a key authenticates until revoked, only its salted hash is on disk, and keys.json is shared
// safely between a running server and `skyduck keys` in other processes.
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeyStore } from '../../src/agent/keys.ts';
import { ConfigError } from '../../src/cloud/errors.ts';
import { root, tempDir } from '../support/process.ts';

const KEYS_MODULE = path.join(root, 'src', 'agent', 'keys.ts');
// The project's node (the one `npm run` puts first on PATH) runs TypeScript, whatever node runs vitest.
const projectNode = path.join(root, 'node_modules', '.bin', 'node');
const node = fs.existsSync(projectNode) ? projectNode : process.execPath;

function freshStore(): KeyStore {
  return new KeyStore(tempDir('keys'));
}

function thrown(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

/** Runs `body` in another process with `store` open on dataDir; resolves to what body returns (as JSON). */
function inChild(dataDir: string, body: string): Promise<unknown> {
  const script = `
    const { KeyStore } = await import(${JSON.stringify(KEYS_MODULE)});
    const store = new KeyStore(${JSON.stringify(dataDir)});
    process.stdout.write(JSON.stringify(await (async () => { ${body} })()));`;
  return new Promise((resolve, reject) => {
    execFile(node, ['--input-type=module', '--no-warnings', '-e', script], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`the child failed: ${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

describe('API keys', () => {
  it('authenticates a new key as its agent and scope', () => {
    const store = freshStore();
    const { key, info } = store.create({ scope: 'write', agent: 'ci-bot' });
    expect(key).toMatch(/^sk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(key.slice(3, 15)).toBe(info.id);
    expect(store.authenticate(key)).toEqual({ keyId: info.id, agent: 'ci-bot', scope: 'write' });
  });

  it('refuses a wrong secret, a garbled token, an unknown id and no token at all', () => {
    const store = freshStore();
    const { key, info } = store.create({ scope: 'read', agent: 'reader' });
    const otherSecret = freshStore().create({ scope: 'read', agent: 'x' }).key.slice(16);
    expect(store.authenticate(`sk_${info.id}_${otherSecret}`)).toBeUndefined();
    expect(store.authenticate(`sk_000000000000_${key.slice(16)}`)).toBeUndefined();
    for (const garbled of [undefined, '', 'sk_', key.slice(0, -1), `${key}A`, key.toUpperCase(), `Bearer ${key}`, ` ${key}`]) {
      expect(store.authenticate(garbled)).toBeUndefined();
    }
  });

  it('refuses a revoked key at once, and revoking again keeps the first revocation time', () => {
    const store = freshStore();
    const { key, info } = store.create({ scope: 'admin', agent: 'ops' });
    const revoked = store.revoke(info.id);
    expect(revoked.revoked).toBeDefined();
    expect(store.authenticate(key)).toBeUndefined();
    expect(store.revoke(info.id).revoked).toBe(revoked.revoked);
    expect(store.list()).toEqual([{ ...info, revoked: revoked.revoked }]);
  });

  it('keeps only a salted hash, in a file only its owner may read', () => {
    const store = freshStore();
    const { key } = store.create({ scope: 'read', agent: 'reader' });
    const text = fs.readFileSync(store.file, 'utf8');
    expect(text).not.toContain(key.slice(16));
    expect(text).not.toContain(Buffer.from(key.slice(16), 'base64url').toString('hex'));
    expect(fs.statSync(store.file).mode & 0o777).toBe(0o600);
    expect(JSON.stringify(store.list())).not.toMatch(/salt|hash/);
  });

  it('sees keys created and revoked by another store without a restart', () => {
    const server = freshStore();
    const cli = new KeyStore(path.dirname(server.file));
    expect(server.authenticate(undefined)).toBeUndefined();
    const { key, info } = cli.create({ scope: 'read', agent: 'late' });
    expect(server.authenticate(key)?.keyId).toBe(info.id);
    cli.revoke(info.id);
    expect(server.authenticate(key)).toBeUndefined();
  });

  it('accepts no key once keys.json is gone', () => {
    const store = freshStore();
    const { key } = store.create({ scope: 'read', agent: 'reader' });
    expect(store.authenticate(key)).toBeDefined();
    fs.rmSync(store.file);
    expect(store.authenticate(key)).toBeUndefined();
  });

  it('creates an initial admin key on a fresh data dir only', () => {
    const store = new KeyStore(path.join(tempDir('keys'), 'not-yet'));
    const admin = store.ensureInitialAdminKey();
    expect(admin).toBeDefined();
    expect(store.authenticate(admin)).toMatchObject({ agent: 'admin', scope: 'admin' });
    expect(store.ensureInitialAdminKey()).toBeUndefined();
    expect(store.list()).toHaveLength(1);
  });

  it('loses no key when two processes create keys at once, and makes one initial admin key between them', async () => {
    const dataDir = tempDir('keys');
    const body = `
      const admin = store.ensureInitialAdminKey();
      const keys = [];
      for (let i = 0; i < 40; i++) keys.push(store.create({ scope: 'read', agent: 'agent-' + i }).key);
      return { admin, keys };`;
    const results = (await Promise.all([inChild(dataDir, body), inChild(dataDir, body)])) as { admin?: string; keys: string[] }[];
    const store = new KeyStore(dataDir);
    expect(results.filter((result) => result.admin !== undefined)).toHaveLength(1);
    expect(store.list()).toHaveLength(81);
    for (const key of results.flatMap((result) => [...result.keys, ...(result.admin ? [result.admin] : [])])) {
      expect(store.authenticate(key)).toBeDefined();
    }
    expect(fs.readdirSync(dataDir)).toEqual(['keys.json']);
  });

  it('takes over a lock left by a dead process', () => {
    const store = freshStore();
    const deadPid = spawnSync(node, ['-e', '']).pid;
    fs.writeFileSync(`${store.file}.lock`, `${deadPid} crashed\n`, { mode: 0o600 });
    const { key } = store.create({ scope: 'read', agent: 'after-crash' });
    expect(store.authenticate(key)).toBeDefined();
    expect(fs.existsSync(`${store.file}.lock`)).toBe(false);
  });

  it('gives up on a lock a live process holds, naming the lock file, and leaves that lock alone', () => {
    const dataDir = tempDir('keys');
    const store = new KeyStore(dataDir, { lockTimeoutMs: 50 });
    const lock = `${store.file}.lock`;
    fs.writeFileSync(lock, `${process.pid} someone-else\n`, { mode: 0o600 });
    const error = thrown(() => store.create({ scope: 'read', agent: 'blocked' }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(lock);
    expect(fs.readFileSync(lock, 'utf8')).toBe(`${process.pid} someone-else\n`);
    expect(fs.readdirSync(dataDir)).toEqual(['keys.json.lock']);
  });

  it('refuses a keys.json that other users may read, saying chmod 600', () => {
    const store = freshStore();
    const { key } = store.create({ scope: 'read', agent: 'reader' });
    fs.chmodSync(store.file, 0o640);
    for (const action of [() => store.authenticate(key), () => store.list(), () => store.create({ scope: 'read', agent: 'more' })]) {
      const error = thrown(action);
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain(store.file);
      expect(error.message).toContain(`chmod 600 ${store.file}`);
    }
  });

  it.skipIf(process.getuid?.() !== 0)('refuses a keys.json another user owns', () => {
    const store = freshStore();
    store.create({ scope: 'read', agent: 'reader' });
    fs.chownSync(store.file, 4321, 4321);
    const error = thrown(() => store.list());
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(new RegExp(`${store.file} belongs to uid 4321.*chmod 600`));
  });

  it.each([
    ['not JSON', '{"version":1,"keys":[{"hash":"c2VjcmV0LWhhc2g"', 'it is not JSON'],
    ['a key without a hash', JSON.stringify({ version: 1, keys: [{ id: '0123456789ab', agent: 'a', scope: 'read', created: new Date().toISOString(), salt: 'AAAAAAAAAAAAAAAAAAAAAA' }] }), 'keys[0].hash'],
    ['another version', JSON.stringify({ version: 2, keys: [] }), 'version'],
  ])('names the file and the fault when keys.json is %s, quoting none of it', (_, text, fault) => {
    const store = freshStore();
    fs.writeFileSync(store.file, text, { mode: 0o600 });
    const error = thrown(() => store.authenticate(`sk_0123456789ab_${'A'.repeat(43)}`));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(`${store.file} is not a skyduck keys file`);
    expect(error.message).toContain(fault);
    expect(error.message).not.toContain('c2VjcmV0LWhhc2g');
  });

  it('refuses a bad agent name or scope, naming what is allowed', () => {
    const store = freshStore();
    for (const agent of ['', 'a'.repeat(65), 'has space', 'semi;colon', 'ünï']) {
      expect(thrown(() => store.create({ scope: 'read', agent })).message).toContain('A-Z a-z 0-9 . _ @ -');
    }
    expect(store.create({ scope: 'read', agent: `A.z_0-9@x${'a'.repeat(55)}` }).info.agent).toHaveLength(64);
    const error = thrown(() => store.create({ scope: 'root', agent: 'ok' }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe("scope 'root' is not one of read, write, admin");
  });

  it('refuses to revoke an unknown id, and never echoes a key given instead of an id', () => {
    const store = freshStore();
    const { key } = store.create({ scope: 'read', agent: 'reader' });
    expect(thrown(() => store.revoke('0123456789ab')).message).toContain(`no key 0123456789ab in ${store.file}`);
    const error = thrown(() => store.revoke(key));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).not.toContain(key.slice(16));
    expect(store.authenticate(key)).toBeDefined();
  });
});
