// The envelope format: round trips of any size and chunking, every kind of damage detected, version 1
// still read, and re-wrapping for another key manager with the segments copied unchanged.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LocalKeyManager } from '../../src/cloud/local/keys.ts';
import { EnvelopeError } from '../../src/crypto/data-keys.ts';
import { Envelope, keyUriOf } from '../../src/crypto/envelope.ts';

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

const FIXED = 29;
const headerLength = (sealed: Buffer): number => {
  const uri = sealed.readUInt16BE(FIXED);
  return FIXED + 2 + uri + 2 + sealed.readUInt16BE(FIXED + 2 + uri);
};
const segments = (sealed: Buffer): Buffer => sealed.subarray(headerLength(sealed));
/** Where the key URI's text is: the one part of a version 2 header that no tag covers. */
const uriText = (sealed: Buffer) => ({ start: FIXED + 2, length: sealed.readUInt16BE(FIXED) });
/** Any position in `sealed` except the key URI's text. */
const outsideUri = (sealed: Buffer) => {
  const uri = uriText(sealed);
  return fc.integer({ min: 0, max: sealed.length - 1 - uri.length }).map((at) => (at < uri.start ? at : at + uri.length));
};
const flipped = (sealed: Buffer, at: number, bit: number): Buffer => {
  const damaged = Buffer.from(sealed);
  damaged[at]! ^= 1 << bit;
  return damaged;
};

// Written by the version 1 code (segments of 2^12 bytes) before version 2 existed: never regenerate.
const V1 = {
  keys: new LocalKeyManager(Buffer.alloc(32, 0x5a)),
  objectKey: 'fixtures/v1.bin',
  plaintext: 'written by envelope format version 1',
  sealed: Buffer.from(
    '534b5945010cbbd2d94d1b708d1f424607e940598e9248df39f24a90f800186c6f63616c3a2f2f64323231656535643431623838353761' +
      '003d01cd5bdd3bcdc0abd0bae01cd5a103ca7951a4bbfa27843b8a99caaf3bef037dc6fd766f9fd63606bef7c4b512e5fc84d3c1955237' +
      '199e2be316d7aa56894daed8c7346d11dbe65a693db191d8d9f85b0728e1a57217c3ad355b0898d011f550f6402e361ce7a3a6625fb1c2' +
      '59cd2f8266',
    'hex',
  ),
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

  it('writes version 2', async () => {
    const sealed = await envelope.encrypt('t/obj', randomBytes(10));
    expect(sealed.subarray(0, 5)).toEqual(Buffer.from([...Buffer.from('SKYE'), 2]));
    expect((await envelope.decrypt('t/obj', sealed)).length).toBe(10);
  });

  it('detects a flipped bit anywhere but the key URI: fixed header, lengths, wrapped key, every segment, every tag', async () => {
    const sealed = await envelope.encrypt('t/obj', randomBytes(3 * SEGMENT + 100));
    await fc.assert(fc.asyncProperty(outsideUri(sealed), fc.integer({ min: 0, max: 7 }), async (at, bit) => {
      await expect(envelope.decrypt('t/obj', flipped(sealed, at, bit))).rejects.toThrow();
    }), { numRuns: 300 });
  });

  it('opens the same plaintext or nothing when the key URI, which no tag covers, is changed', async () => {
    const plaintext = randomBytes(SEGMENT + 100);
    const sealed = await envelope.encrypt('t/obj', plaintext);
    const uri = uriText(sealed);
    await fc.assert(fc.asyncProperty(fc.integer({ min: uri.start, max: uri.start + uri.length - 1 }), fc.integer({ min: 0, max: 7 }), async (at, bit) => {
      const opened = await envelope.decrypt('t/obj', flipped(sealed, at, bit)).catch((error: unknown) => error);
      if (opened instanceof Error) expect(opened).toBeInstanceOf(EnvelopeError);
      else expect(opened).toEqual(plaintext);
    }), { numRuns: 100 });
  });

  it('fails every tag when the wrapped data key is swapped for another valid one', async () => {
    const fresh = new Envelope(keys, { segmentLog2: SEGMENT_LOG2, limits: { maxAgeMs: 60_000, maxObjects: 1, maxBytes: 1 << 30 } });
    const sealed = await fresh.encrypt('t/obj', randomBytes(2 * SEGMENT));
    const other = await fresh.encrypt('t/other', randomBytes(10));
    const swapped = Buffer.concat([sealed.subarray(0, FIXED), other.subarray(FIXED, headerLength(other)), segments(sealed)]);
    await expect(fresh.decrypt('t/obj', swapped)).rejects.toThrow(/segment 0 failed authentication/);
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

  it('still opens a version 1 envelope, which binds its whole header', async () => {
    const v1 = new Envelope(V1.keys);
    expect((await v1.decrypt(V1.objectKey, V1.sealed)).toString('utf8')).toBe(V1.plaintext);
    expect(keyUriOf(V1.sealed)).toBe(V1.keys.keyUri);
    const uri = uriText(V1.sealed);
    const renamed = flipped(V1.sealed, uri.start + uri.length - 1, 0);
    await expect(v1.decrypt(V1.objectKey, renamed)).rejects.toThrow(/segment 0 failed authentication/);
    await expect(v1.decrypt('fixtures/v2.bin', V1.sealed)).rejects.toThrow(EnvelopeError);
  });

  it('refuses to re-wrap a version 1 envelope, saying to re-encrypt it', async () => {
    const destination = new LocalKeyManager(randomBytes(32));
    await expect(new Envelope(V1.keys).rewrap(V1.sealed, destination)).rejects.toThrow(/version 1 envelope cannot be re-wrapped.*encrypt it again/);
  });

  it('re-wraps for another key manager: opens with the destination only, segments unchanged', async () => {
    const destination = new LocalKeyManager(randomBytes(32));
    const plaintext = randomBytes(3 * SEGMENT + 100);
    const sealed = await envelope.encrypt('snapshots/1/a.parquet', plaintext);
    const rewrapped = await envelope.rewrap(sealed, destination);
    expect(keyUriOf(rewrapped)).toBe(destination.keyUri);
    expect(rewrapped.subarray(0, FIXED)).toEqual(sealed.subarray(0, FIXED));
    expect(segments(rewrapped)).toEqual(segments(sealed));
    expect(await new Envelope(destination).decrypt('snapshots/1/a.parquet', rewrapped)).toEqual(plaintext);
    await expect(envelope.decrypt('snapshots/1/a.parquet', rewrapped)).rejects.toThrow(/could not be unwrapped/);
    const back = await new Envelope(destination).rewrap(rewrapped, keys);
    expect(await envelope.decrypt('snapshots/1/a.parquet', back)).toEqual(plaintext);
  });

  it('re-wraps any envelope, whatever the chunking on either side', async () => {
    const destination = new LocalKeyManager(randomBytes(32));
    const opener = new Envelope(destination);
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 0, max: 3 * SEGMENT + 3 }), fc.array(fc.integer({ min: 1, max: 2 * SEGMENT }), { minLength: 1, maxLength: 5 }),
      fc.array(fc.integer({ min: 1, max: 2 * SEGMENT }), { minLength: 1, maxLength: 5 }),
      async (size, inSizes, outSizes) => {
        const plaintext = randomBytes(size);
        const sealed = await envelope.encrypt('t/obj', plaintext);
        const rewrapped = await collect(envelope.rewrapStream(chunked(sealed, inSizes), destination));
        expect(segments(rewrapped)).toEqual(segments(sealed));
        expect(await collect(opener.decryptStream('t/obj', chunked(rewrapped, outSizes)))).toEqual(plaintext);
      }), { numRuns: 40 });
  });

  it('detects a flipped bit anywhere but the key URI in a re-wrapped envelope', async () => {
    const destination = new LocalKeyManager(randomBytes(32));
    const opener = new Envelope(destination);
    const rewrapped = await envelope.rewrap(await envelope.encrypt('t/obj', randomBytes(2 * SEGMENT + 10)), destination);
    await fc.assert(fc.asyncProperty(outsideUri(rewrapped), fc.integer({ min: 0, max: 7 }), async (at, bit) => {
      await expect(opener.decrypt('t/obj', flipped(rewrapped, at, bit))).rejects.toThrow();
    }), { numRuns: 200 });
  });

  it('still binds the object key after a re-wrap', async () => {
    const destination = new LocalKeyManager(randomBytes(32));
    const rewrapped = await envelope.rewrap(await envelope.encrypt('snapshots/1/a.parquet', randomBytes(100)), destination);
    await expect(new Envelope(destination).decrypt('snapshots/1/b.parquet', rewrapped)).rejects.toThrow(/failed authentication/);
  });

  it('unwraps a data key shared by many objects once when re-wrapping them', async () => {
    let unwrapped = 0;
    const counting = { keyUri: keys.keyUri, encrypt: keys.encrypt.bind(keys), generateDataKey: keys.generateDataKey.bind(keys),
      decrypt: async (ciphertext: Uint8Array, context?: Record<string, string>) => (unwrapped++, keys.decrypt(ciphertext, context)) };
    const source = new Envelope(counting, { segmentLog2: SEGMENT_LOG2 });
    const destination = new LocalKeyManager(randomBytes(32));
    for (let i = 0; i < 5; i++) await source.rewrap(await source.encrypt(`o${i}`, randomBytes(10)), destination);
    expect(unwrapped).toBe(1);
  });

  it('reads the key URI from the first bytes of an envelope, and says when they are too few', async () => {
    const sealed = await envelope.encrypt('x', randomBytes(SEGMENT));
    expect(keyUriOf(sealed.subarray(0, headerLength(sealed)))).toBe(keys.keyUri);
    expect(() => keyUriOf(sealed.subarray(0, headerLength(sealed) - 1))).toThrow(/header is incomplete/);
    expect(() => keyUriOf(Buffer.from('PAR1'))).toThrow(/not a skyduck envelope/);
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
