// The KeyManager conformance cases, the same for every backend.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inCI } from '../support/emulators.ts';
import type { Backend, KeysEnv } from './backend.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

export function keysCases(backend: Backend): void {
  const missing = backend.missing();
  describe.skipIf(missing !== undefined && !inCI)(`key manager conformance: ${backend.name}${missing ? ` (skipped: ${missing})` : ''}`, () => {
    let env: KeysEnv;
    beforeAll(async () => {
      if (missing) throw new Error(`${backend.name}: ${missing}`);
      env = await backend.keys();
    }, 120_000);
    afterAll(async () => env?.teardown());

    it('names its key with the provider scheme', () => {
      expect(env.keyManager.keyUri).toMatch(/^(aws-kms|gcp-kms|azure-kv|local):\/\/.+/);
    });

    it('round-trips with a context', async () => {
      const context = { object: 'snapshots/1/t.parquet' };
      const wrapped = await env.keyManager.encrypt(bytes('secret data key'), context);
      expect(Buffer.from(wrapped).includes(Buffer.from('secret data key'))).toBe(false);
      expect(new TextDecoder().decode(await env.keyManager.decrypt(wrapped, context))).toBe('secret data key');
    });

    it('wraps exactly the bytes of a view into a larger buffer (as AWS hands out data keys)', async () => {
      const large = Buffer.from('0123456789abcdef-the-key-bytes-here-0123456789');
      const view = new Uint8Array(large.buffer, large.byteOffset + 17, 18);
      const wrapped = await env.keyManager.encrypt(view, { object: 'v' });
      const padded = Buffer.concat([Buffer.alloc(5), Buffer.from(wrapped), Buffer.alloc(5)]);
      const wrappedView = new Uint8Array(padded.buffer, padded.byteOffset + 5, wrapped.length);
      expect(Buffer.from(await env.keyManager.decrypt(wrappedView, { object: 'v' })).toString()).toBe('the-key-bytes-here');
    });

    it('refuses to decrypt under another context', async () => {
      const wrapped = await env.keyManager.encrypt(bytes('k'), { object: 'a' });
      await expect(env.keyManager.decrypt(wrapped, { object: 'b' })).rejects.toThrow();
    });

    it('refuses tampered ciphertext', async () => {
      const wrapped = Buffer.from(await env.keyManager.encrypt(bytes('k'), { object: 'a' }));
      wrapped[wrapped.length - 1]! ^= 0x01;
      await expect(env.keyManager.decrypt(wrapped, { object: 'a' })).rejects.toThrow();
    });

    it('generates 256-bit data keys that unwrap to themselves', async () => {
      const context = { object: 'k' };
      const first = await env.keyManager.generateDataKey(context);
      const second = await env.keyManager.generateDataKey(context);
      expect(first.plaintext).toHaveLength(32);
      expect(Buffer.from(first.plaintext).equals(Buffer.from(second.plaintext))).toBe(false);
      expect(first.keyUri).toBe(env.keyManager.keyUri);
      expect(Buffer.from(await env.keyManager.decrypt(first.wrapped, context)).equals(Buffer.from(first.plaintext))).toBe(true);
    });
  });
}
