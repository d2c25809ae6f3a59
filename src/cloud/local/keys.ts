// The local KeyManager: one 256-bit key in a file that only its owner may read (`skyduck keygen`
// writes it with mode 0600). Wrapping is AES-256-GCM with the context as associated data.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalContext } from '../context.ts';
import { AccessDeniedError, ConfigError, NotFoundError } from '../errors.ts';
import type { DataKey, KeyManager } from '../types.ts';

const FORMAT = 1;
const NONCE = 12;
const TAG = 16;
const KEY_FILE_HEADER = 'skyduck-local-key-v1';

export class LocalKeyManager implements KeyManager {
  readonly keyUri: string;
  private readonly key: Buffer;

  constructor(key: Buffer) {
    this.key = key;
    this.keyUri = `local://${keyId(key)}`;
  }

  /** Reads a key file, refusing one that other users could read. */
  static fromFile(file: string): LocalKeyManager {
    const site = { provider: 'local' as const, resource: file };
    let stat;
    try {
      stat = fs.statSync(file);
    } catch {
      throw new NotFoundError(site, 'no key file: create one with `skyduck keygen` or set SKYDUCK_KMS_KEY to its path');
    }
    if ((stat.mode & 0o077) !== 0) {
      throw new AccessDeniedError(site, `the key file is readable by other users (mode ${(stat.mode & 0o777).toString(8)}): chmod 600 it`);
    }
    const [header, encoded] = fs.readFileSync(file, 'utf8').trim().split(':');
    const key = Buffer.from(encoded ?? '', 'base64');
    if (header !== KEY_FILE_HEADER || key.length !== 32) {
      throw new ConfigError(`${file} is not a skyduck key file: create one with \`skyduck keygen\``);
    }
    return new LocalKeyManager(key);
  }

  async encrypt(plaintext: Uint8Array, context?: Record<string, string>): Promise<Uint8Array> {
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce).setAAD(canonicalContext(context));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([FORMAT]), nonce, body, cipher.getAuthTag()]);
  }

  async decrypt(ciphertext: Uint8Array, context?: Record<string, string>): Promise<Uint8Array> {
    const bytes = Buffer.from(ciphertext);
    if (bytes.length < 1 + NONCE + TAG || bytes[0] !== FORMAT) {
      throw new Error(`${this.keyUri}: not a ciphertext of this key manager`);
    }
    const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(1, 1 + NONCE))
      .setAAD(canonicalContext(context))
      .setAuthTag(bytes.subarray(bytes.length - TAG));
    try {
      return Buffer.concat([decipher.update(bytes.subarray(1 + NONCE, bytes.length - TAG)), decipher.final()]);
    } catch {
      throw new Error(`${this.keyUri}: the ciphertext or its context does not match (tampered, or another key or context)`);
    }
  }

  async generateDataKey(context?: Record<string, string>): Promise<DataKey> {
    const plaintext = randomBytes(32);
    return { plaintext, wrapped: await this.encrypt(plaintext, context), keyUri: this.keyUri };
  }
}

/** Names a key without revealing it. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update('skyduck key id').update(key).digest('hex').slice(0, 16);
}

/** Writes a new key file (mode 0600, never over an existing file) and returns its key id. */
export function writeKeyFile(file: string): string {
  const key = randomBytes(32);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, `${KEY_FILE_HEADER}:${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ConfigError(`${file} already exists: skyduck never overwrites a key (data encrypted with it would be lost)`);
    }
    throw error;
  }
  return keyId(key);
}
