// The envelope format: round trips of any size and chunking, and every kind of damage detected.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LocalKeyManager } from '../../src/cloud/local/keys.ts';
import { EnvelopeError } from '../../src/crypto/data-keys.ts';
import { Envelope } from '../../src/crypto/envelope.ts';

const SEGMENT_LOG2 = 12; // 4 KiB segments so that small inputs span several
const SEGMENT = 2 ** SEGMENT_LOG2;
const keys = new LocalKeyManager(randomBytes(32));
const envelope = new Envelope(keys, { segmentLog2: SEGMENT_LOG2 });

function* chunked(bytes: Buffer, sizes: number[]): Generator<Uint8Array> {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = Math.max(1, sizes[i % sizes.length] ?? 1);
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}

const headerLength = (sealed: Buffer): number => {
  const uri = sealed.readUInt16BE(29);
  return 29 + 2 + uri + 2 + sealed.readUInt16BE(29 + 2 + uri);
};

describe('envelope', () => {
  it('round-trips any plaintext, whatever the chunking on either side', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 0, max: 5 * SEGMENT + 3 }), fc.array(fc.integer({ min: 1, max: 3 * SEGMENT }), { minLength: 1, maxLength: 5 }),
      fc.array(fc.integer({ min: 1, max: 3 * SEGMENT }), { minLength: 1, maxLength: 5 }),
      async (size, inSizes, outSizes) => {
        const plaintext = randomBytes(size);
        const sealed = await collect(envelope.encryptStream('t/obj', chunked(plaintext, inSizes)));
        const opened = await collect(envelope.decryptStream('t/obj', chunked(sealed, outSizes)));
        expect(opened.equals(plaintext)).toBe(true);
      }), { numRuns: 60 });
  });

  it('detects a flipped bit anywhere: header, wrapped key, every segment, every tag', async () => {
    const plaintext = randomBytes(3 * SEGMENT + 100);
    const sealed = await envelope.encrypt('t/obj', plaintext);
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: sealed.length - 1 }), fc.integer({ min: 0, max: 7 }), async (at, bit) => {
      const damaged = Buffer.from(sealed);
      damaged[at]! ^= 1 << bit;
      await expect(envelope.decrypt('t/obj', damaged)).rejects.toThrow();
    }), { numRuns: 300 });
  });

  it('detects truncation at any length', async () => {
    const sealed = await envelope.encrypt('t/obj', randomBytes(2 * SEGMENT + 10));
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: sealed.length - 1 }), async (length) => {
      await expect(envelope.decrypt('t/obj', sealed.subarray(0, length))).rejects.toThrow(EnvelopeError);
    }), { numRuns: 200 });
  });

  it('detects reordered and dropped segments', async () => {
    const sealed = await envelope.encrypt('t/obj', randomBytes(3 * SEGMENT + 10));
    const header = headerLength(sealed);
    const unit = SEGMENT + 16;
    const segment = (i: number) => sealed.subarray(header + i * unit, Math.min(sealed.length, header + (i + 1) * unit));
    const swapped = Buffer.concat([sealed.subarray(0, header), segment(1), segment(0), segment(2), segment(3)]);
    await expect(envelope.decrypt('t/obj', swapped)).rejects.toThrow(/segment 0 failed authentication/);
    const dropped = Buffer.concat([sealed.subarray(0, header), segment(0), segment(2), segment(3)]);
    await expect(envelope.decrypt('t/obj', dropped)).rejects.toThrow(EnvelopeError);
    const lastDropped = Buffer.concat([sealed.subarray(0, header), segment(0), segment(1), segment(2)]);
    await expect(envelope.decrypt('t/obj', lastDropped)).rejects.toThrow(/failed authentication/);
  });

  it('binds the object key: an envelope moved to another name does not open', async () => {
    const sealed = await envelope.encrypt('snapshots/1/a.parquet', randomBytes(100));
    await expect(envelope.decrypt('snapshots/1/b.parquet', sealed)).rejects.toThrow(EnvelopeError);
  });

  it('names both keys when another cloud\'s key manager is asked to decrypt', async () => {
    const sealed = await envelope.encrypt('x', randomBytes(10));
    const foreign = { keyUri: 'aws-kms://arn:aws:kms:eu-west-1:1:key/k', encrypt: keys.encrypt, decrypt: keys.decrypt, generateDataKey: keys.generateDataKey };
    await expect(new Envelope(foreign).decrypt('x', sealed)).rejects.toThrow(/encrypted with local:\/\/\w+, but this key manager is aws-kms:\/\//);
  });

  it('refuses data that is not an envelope', async () => {
    await expect(envelope.decrypt('x', Buffer.from('PAR1 this is a parquet file'))).rejects.toThrow(/not a skyduck envelope/);
  });

  it('uses a data key for a bounded number of objects', async () => {
    let generated = 0;
    const counting = { keyUri: keys.keyUri, encrypt: keys.encrypt.bind(keys), decrypt: keys.decrypt.bind(keys), generateDataKey: async () => (generated++, keys.generateDataKey()) };
    const bounded = new Envelope(counting, { limits: { maxAgeMs: 60_000, maxObjects: 3, maxBytes: 1 << 30 } });
    for (let i = 0; i < 7; i++) await bounded.encrypt(`o${i}`, randomBytes(10));
    expect(generated).toBe(3);
  });
});
