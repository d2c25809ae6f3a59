// API keys: who may call the HTTP API, and with which scope. Only a salted hash of each key is kept, in
// <dataDir>/keys.json (mode 0600). `skyduck keys` edits that file while a server may be running, so writers
// take a lock file and replace the file atomically, and readers notice a new file by its stat and reload.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as z from 'zod/mini';
import { ConfigError } from '../cloud/errors.ts';
import { type Principal, type Scope, SCOPES } from '../engine/types.ts';

/** What may be shown about a key: never its salt or hash. */
export interface KeyInfo {
  id: string;
  agent: string;
  scope: Scope;
  created: string;
  revoked?: string;
}

export interface CreatedKey {
  /** `sk_<id>_<secret>`: returned here once and stored nowhere. */
  key: string;
  info: KeyInfo;
}

const ID = /^[0-9a-f]{12}$/;
const AGENT = /^[A-Za-z0-9._@-]{1,64}$/;
// The secret is 32 bytes of base64url and may itself contain '_', so the id is found by its length.
const TOKEN = /^sk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const LOCK_TIMEOUT_MS = 5_000;

const encodedBytes = (length: number) =>
  z.string().check(z.refine((text) => Buffer.from(text, 'base64url').toString('base64url') === text && Buffer.byteLength(text, 'base64url') === length));

const storedKeySchema = z.object({
  id: z.string().check(z.regex(ID)),
  agent: z.string().check(z.regex(AGENT)),
  scope: z.enum(SCOPES),
  created: z.iso.datetime(),
  revoked: z.optional(z.iso.datetime()),
  salt: encodedBytes(16),
  hash: encodedBytes(32),
});
const keysFileSchema = z.object({ version: z.literal(1), keys: z.array(storedKeySchema) });
type StoredKey = z.infer<typeof storedKeySchema>;

/** A key as authenticate needs it, decoded once per load rather than once per request. */
interface LoadedKey {
  principal: Principal;
  revoked: boolean;
  salt: Buffer;
  hash: Buffer;
}

interface Stamp {
  mtimeMs: number;
  size: number;
  ino: number;
}

// sha256 needs no stretching here: the secret is 256 random bits, not a password.
const hashOf = (salt: Buffer, secret: Buffer): Buffer => createHash('sha256').update(salt).update(secret).digest();

const SLEEPER = new Int32Array(new SharedArrayBuffer(4));
/** Blocks for a few ms: writers are synchronous and hold the lock only for a read and a rename. */
const pause = (ms: number): void => void Atomics.wait(SLEEPER, 0, 0, ms);

const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errno(error) === 'EPERM';
  }
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (errno(error) === 'ENOENT') return undefined;
    throw error;
  }
}

export function parseScope(value: string): Scope {
  if ((SCOPES as readonly string[]).includes(value)) return value as Scope;
  throw new ConfigError(`scope '${value}' is not one of ${SCOPES.join(', ')}`);
}

function checkAgent(agent: string): string {
  if (AGENT.test(agent)) return agent;
  throw new ConfigError('an agent name is 1 to 64 characters of A-Z a-z 0-9 . _ @ - (for example ci-bot or alice@example.com)');
}

function newKey(scope: Scope, agent: string, existing: StoredKey[]): { key: string; stored: StoredKey } {
  let id: string;
  do id = randomBytes(6).toString('hex');
  while (existing.some((key) => key.id === id));
  const secret = randomBytes(32);
  const salt = randomBytes(16);
  return {
    key: `sk_${id}_${secret.toString('base64url')}`,
    stored: { id, agent, scope, created: new Date().toISOString(), salt: salt.toString('base64url'), hash: hashOf(salt, secret).toString('base64url') },
  };
}

const publicInfo = ({ id, agent, scope, created, revoked }: StoredKey): KeyInfo => ({ id, agent, scope, created, revoked });

const issuePath = (at: readonly PropertyKey[]): string =>
  at.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)), '') || 'the top level';

export class KeyStore {
  readonly file: string;
  private readonly dataDir: string;
  private readonly lockFile: string;
  private readonly lockTimeoutMs: number;
  private loaded: { stamp: Stamp; keys: Map<string, LoadedKey> } | undefined;
  // Hashed and compared when an id is unknown, so a miss costs what a hit costs and ids cannot be probed.
  private readonly dummy = { salt: randomBytes(16), hash: randomBytes(32) };

  constructor(dataDir: string, options: { lockTimeoutMs?: number } = {}) {
    this.dataDir = dataDir;
    this.file = path.join(dataDir, 'keys.json');
    this.lockFile = `${this.file}.lock`;
    this.lockTimeoutMs = options.lockTimeoutMs ?? LOCK_TIMEOUT_MS;
  }

  /**
   * The principal a bearer token stands for, or undefined for a missing, garbled, unknown or revoked one.
   * Called per request: one stat, and a reload only when keys.json was replaced. Throws ConfigError when
   * keys.json cannot be trusted (other users may read it, or it is malformed): a server fault, not the caller's.
   */
  authenticate(token: string | undefined): Principal | undefined {
    const match = token === undefined ? null : TOKEN.exec(token);
    if (!match) return undefined;
    const id = match[1]!;
    const encoded = match[2]!;
    const secret = Buffer.from(encoded, 'base64url');
    // Another spelling of the same bytes is not the key that was handed out.
    if (secret.toString('base64url') !== encoded) return undefined;
    const key = this.current().get(id);
    const expected = key ?? this.dummy;
    const matches = timingSafeEqual(hashOf(expected.salt, secret), expected.hash);
    return matches && key && !key.revoked ? { ...key.principal } : undefined;
  }

  /** A new key for `agent`; the key itself is in the result and nowhere else. */
  create(request: { scope: string; agent: string }): CreatedKey {
    const scope = parseScope(request.scope);
    const agent = checkAgent(request.agent);
    return this.withLock(() => {
      const keys = this.readDisk()?.keys ?? [];
      const { key, stored } = newKey(scope, agent, keys);
      this.write([...keys, stored]);
      return { key, info: publicInfo(stored) };
    });
  }

  list(): KeyInfo[] {
    return (this.readDisk()?.keys ?? []).map(publicInfo);
  }

  /** Revokes a key by id; revoking it again keeps the first revocation time. */
  revoke(id: string): KeyInfo {
    // Not echoed when malformed: a pasted key instead of its id would end up in a terminal or a log.
    if (!ID.test(id)) throw new ConfigError('a key id is 12 hex characters, as `skyduck keys list` shows (not the key itself)');
    return this.withLock(() => {
      const keys = this.readDisk()?.keys ?? [];
      const key = keys.find((candidate) => candidate.id === id);
      if (!key) throw new ConfigError(`no key ${id} in ${this.file}: \`skyduck keys list\` shows the ids`);
      if (!key.revoked) {
        key.revoked = new Date().toISOString();
        this.write(keys);
      }
      return publicInfo(key);
    });
  }

  /**
   * On a fresh data dir (no keys.json), an admin key for agent "admin", so the first operator can get in;
   * undefined otherwise. Two servers starting at once create one key between them.
   */
  ensureInitialAdminKey(): string | undefined {
    if (fs.existsSync(this.file)) return undefined;
    return this.withLock(() => {
      if (fs.existsSync(this.file)) return undefined;
      const { key, stored } = newKey('admin', 'admin', []);
      this.write([stored]);
      return key;
    });
  }

  /** The keys as of the file now on disk; no file means no key is valid. */
  private current(): Map<string, LoadedKey> {
    const stat = fs.statSync(this.file, { throwIfNoEntry: false });
    if (!stat) {
      this.loaded = undefined;
      return new Map();
    }
    const stamp = this.loaded?.stamp;
    if (this.loaded && stamp?.mtimeMs === stat.mtimeMs && stamp.size === stat.size && stamp.ino === stat.ino) return this.loaded.keys;
    const disk = this.readDisk();
    const keys = new Map<string, LoadedKey>();
    for (const key of disk?.keys ?? []) {
      keys.set(key.id, {
        principal: { keyId: key.id, agent: key.agent, scope: key.scope },
        revoked: key.revoked !== undefined,
        salt: Buffer.from(key.salt, 'base64url'),
        hash: Buffer.from(key.hash, 'base64url'),
      });
    }
    this.loaded = disk && { stamp: disk.stamp, keys };
    return keys;
  }

  /** Reads keys.json through one descriptor, so the stamp, the permission check and the text are of one file. */
  private readDisk(): { stamp: Stamp; keys: StoredKey[] } | undefined {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch (error) {
      if (errno(error) === 'ENOENT') return undefined;
      throw new ConfigError(`cannot read ${this.file} (${errno(error) ?? 'error'}): make it readable by the user running skyduck and chmod 600 it`);
    }
    try {
      const stat = fs.fstatSync(fd);
      this.checkPrivate(stat);
      return { stamp: { mtimeMs: stat.mtimeMs, size: stat.size, ino: stat.ino }, keys: this.parse(fs.readFileSync(fd, 'utf8')) };
    } finally {
      fs.closeSync(fd);
    }
  }

  private checkPrivate(stat: fs.Stats): void {
    if ((stat.mode & 0o077) !== 0) {
      throw new ConfigError(`${this.file} is open to other users (mode ${(stat.mode & 0o777).toString(8)}): chmod 600 ${this.file}`);
    }
    const uid = process.getuid?.();
    if (uid !== undefined && stat.uid !== uid) {
      throw new ConfigError(`${this.file} belongs to uid ${stat.uid}, not to this user (uid ${uid}): run skyduck as its owner, or chown it to this user and chmod 600 ${this.file}`);
    }
  }

  private parse(text: string): StoredKey[] {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      // Not JSON.parse's message: it quotes the text around the fault, which may be a hash.
      throw this.malformed('it is not JSON');
    }
    const result = keysFileSchema.safeParse(json);
    if (!result.success) throw this.malformed(`${issuePath(result.error.issues[0]?.path ?? [])} is missing or invalid`);
    return result.data.keys;
  }

  private malformed(why: string): ConfigError {
    return new ConfigError(
      `${this.file} is not a skyduck keys file (${why}): restore it from a backup, or move it aside to start over ` +
        '(every key is lost, and the next `skyduck serve` on this data dir prints a new admin key)',
    );
  }

  /** Replaces keys.json in one rename, so a reader sees the old file or the new one, never a mix. */
  private write(keys: StoredKey[]): void {
    const temp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const fd = fs.openSync(temp, 'wx', 0o600);
      try {
        fs.writeFileSync(fd, `${JSON.stringify({ version: 1, keys }, null, 2)}\n`);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(temp, this.file);
      // The rename lives in the directory: sync it too, or a crash may bring back the old file.
      const dir = fs.openSync(this.dataDir, 'r');
      try {
        fs.fsyncSync(dir);
      } finally {
        fs.closeSync(dir);
      }
    } catch (error) {
      fs.rmSync(temp, { force: true });
      throw this.unwritable(this.file, error);
    }
    this.loaded = undefined;
  }

  private unwritable(file: string, error: unknown): ConfigError {
    return new ConfigError(`cannot write ${file} (${errno(error) ?? 'error'}): make ${this.dataDir} writable by the user running skyduck`);
  }

  /** Runs `work` holding keys.json.lock, which serializes writers across processes. */
  private withLock<T>(work: () => T): T {
    try {
      fs.mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new ConfigError(`cannot create the data dir ${this.dataDir} (${errno(error) ?? 'error'}): set SKYDUCK_DATA_DIR to a writable directory`);
    }
    // A random part tells this holder from another in the same process (and from a recycled pid).
    const token = `${process.pid} ${randomBytes(8).toString('hex')}\n`;
    this.acquire(token);
    try {
      return work();
    } finally {
      // Only our own lock: after a botched takeover (see takeOver) the file may be someone else's.
      if (readText(this.lockFile) === token) fs.rmSync(this.lockFile, { force: true });
    }
  }

  private acquire(token: string): void {
    // The lock appears by link(2), whole: an O_EXCL file is empty for a moment, and an empty lock names no pid.
    const claim = `${this.lockFile}.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      fs.writeFileSync(claim, token, { mode: 0o600 });
    } catch (error) {
      throw this.unwritable(claim, error);
    }
    const deadline = Date.now() + this.lockTimeoutMs;
    try {
      for (;;) {
        try {
          fs.linkSync(claim, this.lockFile);
          return;
        } catch (error) {
          if (errno(error) !== 'EEXIST') throw this.unwritable(this.lockFile, error);
        }
        const holder = readText(this.lockFile);
        if (holder === undefined) continue;
        const pid = Number.parseInt(holder, 10);
        if (!(pid > 0 && isAlive(pid))) {
          this.takeOver(holder);
          continue;
        }
        if (Date.now() > deadline) {
          throw new ConfigError(
            `${this.lockFile} is still held by process ${pid} after ${this.lockTimeoutMs} ms: let that skyduck command finish, ` +
              'or delete the file if that process is not skyduck',
          );
        }
        pause(2 + Math.random() * 10);
      }
    } finally {
      fs.rmSync(claim, { force: true });
    }
  }

  /**
   * Removes a lock whose holder died. Moved aside rather than deleted: if another process took it over
   * first, what we moved is its live lock, which we then see and put back.
   */
  private takeOver(stale: string): void {
    const aside = `${this.lockFile}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
    try {
      fs.renameSync(this.lockFile, aside);
    } catch (error) {
      if (errno(error) === 'ENOENT') return;
      throw error;
    }
    try {
      if (readText(aside) !== stale) fs.linkSync(aside, this.lockFile);
    } catch (error) {
      // A third process locked in between. Only then, with a dead holder contested by three processes at
      // once, can two hold the lock: rare enough to accept rather than pay for a lock server.
      if (errno(error) !== 'EEXIST') throw error;
    } finally {
      fs.rmSync(aside, { force: true });
    }
  }
}
