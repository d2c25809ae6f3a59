// Data keys for envelopes. A data key from the KeyManager may serve several objects (each still gets
// its own segment key by HKDF), but only within bounds of age, objects and bytes, so one KMS call does
// not cover an unbounded amount of data. Unwrapped keys are remembered briefly for reads.
import { createHash } from 'node:crypto';
import type { DataKey, KeyManager } from '../cloud/types.ts';

/** The envelope is malformed, tampered with, or needs another key than the one configured. */
export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
}

export interface DataKeyLimits {
  maxAgeMs: number;
  maxObjects: number;
  maxBytes: number;
}

export const DEFAULT_LIMITS: DataKeyLimits = { maxAgeMs: 5 * 60_000, maxObjects: 1_000, maxBytes: 2 ** 36 };
const UNWRAPPED_CACHE = 64;

/** What a wrapped data key is bound to in the KeyManager (object names are bound per segment). */
export const DATA_KEY_CONTEXT = { purpose: 'skyduck-envelope-v1' };

export class DataKeyCache {
  private readonly keys: KeyManager;
  private readonly limits: DataKeyLimits;
  private readonly context: Record<string, string>;
  private current?: { key: DataKey; created: number; objects: number; bytes: number };
  private readonly unwrapped = new Map<string, Uint8Array>();

  constructor(keys: KeyManager, limits: DataKeyLimits = DEFAULT_LIMITS, context: Record<string, string> = DATA_KEY_CONTEXT) {
    this.keys = keys;
    this.context = context;
    this.limits = limits;
  }

  /** A data key for one more object; a fresh one once the current one is used up. */
  async next(): Promise<DataKey> {
    const now = Date.now();
    const current = this.current;
    const usedUp = !current || current.objects >= this.limits.maxObjects || current.bytes >= this.limits.maxBytes ||
      now - current.created >= this.limits.maxAgeMs;
    if (usedUp) this.current = { key: await this.keys.generateDataKey(this.context), created: now, objects: 0, bytes: 0 };
    this.current!.objects++;
    return this.current!.key;
  }

  /** Counts bytes encrypted under `key` towards its limit. */
  record(key: DataKey, bytes: number): void {
    if (this.current?.key === key) this.current.bytes += bytes;
  }

  async unwrap(keyUri: string, wrapped: Uint8Array): Promise<Uint8Array> {
    // Length-prefixed: envelope v2 does not authenticate the key URI, so no other split of the same
    // bytes into URI and wrapped key may find this entry without the KMS seeing the wrapped key.
    const id = createHash('sha256').update(`${Buffer.byteLength(keyUri)}:${keyUri}`).update(wrapped).digest('hex');
    const known = this.unwrapped.get(id);
    if (known) return known;
    let plaintext: Uint8Array;
    try {
      plaintext = await this.keys.decrypt(wrapped, this.context);
    } catch (error) {
      throw new EnvelopeError(`the data key could not be unwrapped with ${keyUri}: ${(error as Error).message}`);
    }
    if (this.unwrapped.size >= UNWRAPPED_CACHE) this.unwrapped.delete(this.unwrapped.keys().next().value!);
    this.unwrapped.set(id, plaintext);
    return plaintext;
  }
}
