// Envelope encryption, one format for every cloud (DESIGN.md):
//
//   header   = fixed | u16 length | key URI (utf-8) | u16 length | wrapped data key
//   fixed    = "SKYE" | version (2; 1 is still read) | log2(segment size) | salt (16) | nonce prefix (7)
//   segments = AES-256-GCM(segment key, nonce, plaintext segment, aad) | tag (16), each `segment size`
//              bytes of plaintext except the last, which may be shorter (even empty)
//
//   segment key = HKDF-SHA256(data key, salt, "skyduck envelope v1"): a fresh key per object even when
//                 a data key is reused (DataKeyCache), so random nonce prefixes never collide under one key
//   nonce       = nonce prefix | u32 segment index | last-segment flag: reordering, dropping or truncating
//                 segments fails authentication
//   aad (v2)    = SHA-256(fixed | 0x00 | object key): a flipped bit in the fixed part or another object's
//                 name fails
//   aad (v1)    = SHA-256(header | 0x00 | object key): the whole header, key URI and wrapped key included
//
// Version 2 leaves the key URI and the wrapped data key out of the aad so that an object can move to
// another cloud by re-wrapping its data key (rewrapStream) while its segments are copied byte for byte.
// That is safe because the wrapped key is authenticated by the KMS itself, under DATA_KEY_CONTEXT: a
// changed one does not unwrap, and another valid one (another object's, another key's) unwraps to
// another data key, whose segment key fails every tag. Whatever the wrapping, the plaintext is the one
// sealed under this salt, nonce prefix, segment size and object name, which the aad still binds. The key
// URI is only a hint for choosing a key manager: a changed one opens the same plaintext or nothing.
// Version 1 objects cannot be re-wrapped (their tags cover the wrapped key): re-encrypt them instead.
//
// The same construction as Tink's AES-GCM-HKDF streaming AEAD. Decryption yields a segment only once its
// tag checked, and the stream errors (never yields wrong bytes) on any mismatch.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { KeyManager } from '../cloud/types.ts';
import { ByteQueue } from './byte-queue.ts';
import { DATA_KEY_CONTEXT, DataKeyCache, type DataKeyLimits, EnvelopeError } from './data-keys.ts';

const MAGIC = Buffer.from('SKYE', 'latin1');
const VERSION = 2;
const READABLE = [1, 2];
const TAG = 16;
const SALT = 16;
const PREFIX = 7;
const FIXED = MAGIC.length + 1 + 1 + SALT + PREFIX;
const MAX_HEADER = FIXED + 2 + 0xffff + 2 + 0xffff;
const INFO = Buffer.from('skyduck envelope v1');
export const DEFAULT_SEGMENT_LOG2 = 20; // 1 MiB: large enough for full AES-GCM speed, small enough to stream

interface Header {
  bytes: Buffer;
  fixed: Buffer;
  version: number;
  segmentSize: number;
  salt: Buffer;
  prefix: Buffer;
  keyUri: string;
  wrapped: Buffer;
}

function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}

function nonce(prefix: Buffer, index: number, last: boolean): Buffer {
  const out = Buffer.alloc(12);
  prefix.copy(out, 0);
  out.writeUInt32BE(index, PREFIX);
  out[11] = last ? 1 : 0;
  return out;
}

const encodeHeader = (fixed: Buffer, keyUri: string, wrapped: Uint8Array): Buffer => {
  const uri = Buffer.from(keyUri, 'utf8');
  return Buffer.concat([fixed, u16(uri.length), uri, u16(wrapped.length), wrapped]);
};

const segmentKey = (dataKey: Uint8Array, salt: Buffer): Buffer => Buffer.from(hkdfSync('sha256', dataKey, salt, INFO, 32));
const associatedData = (authenticated: Buffer, objectKey: string): Buffer =>
  createHash('sha256').update(authenticated).update(Buffer.from([0])).update(objectKey, 'utf8').digest();
const authenticatedPart = (header: Header): Buffer => (header.version === 1 ? header.bytes : header.fixed);

function seal(key: Buffer, iv: Buffer, aad: Buffer, plaintext: Buffer): Buffer[] {
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
  return [cipher.update(plaintext), cipher.final(), cipher.getAuthTag()];
}

function open(key: Buffer, iv: Buffer, aad: Buffer, sealed: Buffer, index: number): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv).setAAD(aad).setAuthTag(sealed.subarray(sealed.length - TAG));
  const body = decipher.update(sealed.subarray(0, sealed.length - TAG));
  try {
    decipher.final();
  } catch {
    throw new EnvelopeError(`segment ${index} failed authentication: the object was modified, truncated, reordered or is not the one named`);
  }
  return body;
}

/** At most the bytes of `chunk` that can still belong to a header, without copying. */
const peek = (chunk: Uint8Array): Buffer => Buffer.from(chunk.buffer, chunk.byteOffset, Math.min(chunk.length, MAX_HEADER));

/** Parses the header from the queue, or returns undefined when more bytes are needed. */
function readHeader(queue: ByteQueue, peek: Buffer[]): Header | undefined {
  const available = Buffer.concat(peek);
  const magic = available.subarray(0, MAGIC.length);
  if (!magic.equals(MAGIC.subarray(0, magic.length))) throw new EnvelopeError('not a skyduck envelope (bad magic)');
  if (available.length > 4 && !READABLE.includes(available[4]!)) throw new EnvelopeError(`unsupported envelope version ${available[4]}`);
  if (available.length < FIXED + 2) return undefined;
  const log2 = available[5]!;
  if (log2 < 12 || log2 > 26) throw new EnvelopeError(`invalid segment size 2^${log2}`);
  const uriLength = available.readUInt16BE(FIXED);
  const wrappedAt = FIXED + 2 + uriLength;
  if (available.length < wrappedAt + 2) return undefined;
  const wrappedLength = available.readUInt16BE(wrappedAt);
  const end = wrappedAt + 2 + wrappedLength;
  if (available.length < end) return undefined;
  const bytes = queue.take(end);
  return {
    bytes,
    fixed: bytes.subarray(0, FIXED),
    version: bytes[4]!,
    segmentSize: 2 ** log2,
    salt: bytes.subarray(6, 6 + SALT),
    prefix: bytes.subarray(6 + SALT, FIXED),
    keyUri: bytes.subarray(FIXED + 2, wrappedAt).toString('utf8'),
    wrapped: bytes.subarray(wrappedAt + 2, end),
  };
}

const scheme = (uri: string): string => uri.slice(0, uri.indexOf('://'));

export class Envelope {
  private readonly keys: KeyManager;
  private readonly dataKeys: DataKeyCache;
  private readonly segmentLog2: number;

  constructor(keys: KeyManager, options: { segmentLog2?: number; limits?: DataKeyLimits } = {}) {
    this.keys = keys;
    this.dataKeys = new DataKeyCache(keys, options.limits);
    this.segmentLog2 = options.segmentLog2 ?? DEFAULT_SEGMENT_LOG2;
  }

  async *encryptStream(objectKey: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Buffer> {
    const dataKey = await this.dataKeys.next();
    const salt = randomBytes(SALT);
    const prefix = randomBytes(PREFIX);
    const fixed = Buffer.concat([MAGIC, Buffer.from([VERSION, this.segmentLog2]), salt, prefix]);
    const header = encodeHeader(fixed, dataKey.keyUri, dataKey.wrapped);
    const key = segmentKey(dataKey.plaintext, salt);
    const aad = associatedData(fixed, objectKey);
    const size = 2 ** this.segmentLog2;
    yield header;

    const queue = new ByteQueue();
    let index = 0;
    for await (const chunk of source) {
      queue.push(chunk);
      this.dataKeys.record(dataKey, chunk.length);
      // A full segment is known not to be the last only once a byte after it has arrived.
      while (queue.length > size) yield* seal(key, nonce(prefix, index++, false), aad, queue.take(size));
    }
    yield* seal(key, nonce(prefix, index, true), aad, queue.take(queue.length));
  }

  async *decryptStream(objectKey: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Buffer> {
    const queue = new ByteQueue();
    const seen: Buffer[] = [];
    let header: Header | undefined;
    let key: Buffer | undefined;
    let aad: Buffer | undefined;
    let index = 0;
    for await (const chunk of source) {
      queue.push(chunk);
      if (!header) {
        seen.push(peek(chunk));
        header = readHeader(queue, seen);
        if (!header) continue;
        seen.length = 0;
        key = segmentKey(await this.unwrap(header), header.salt);
        aad = associatedData(authenticatedPart(header), objectKey);
      }
      const unit = header.segmentSize + TAG;
      while (queue.length > unit) yield open(key!, nonce(header.prefix, index, false), aad!, queue.take(unit), index++);
    }
    if (!header) throw new EnvelopeError('truncated: the envelope header is incomplete');
    if (queue.length < TAG) throw new EnvelopeError('truncated: the last segment is missing');
    yield open(key!, nonce(header.prefix, index, true), aad!, queue.take(queue.length), index);
  }

  /**
   * The same envelope with its data key wrapped by `destination` instead of this key manager: the
   * header is re-written and every segment is copied unchanged, streaming. The segments are not checked
   * here (their aad needs the object's name); decrypting the copy checks them.
   */
  async *rewrapStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, destination: KeyManager): AsyncGenerator<Buffer> {
    const queue = new ByteQueue();
    const seen: Buffer[] = [];
    let header: Header | undefined;
    for await (const chunk of source) {
      if (header) {
        if (chunk.length > 0) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
        continue;
      }
      queue.push(chunk);
      seen.push(peek(chunk));
      header = readHeader(queue, seen);
      if (!header) continue;
      seen.length = 0;
      if (header.version === 1) {
        throw new EnvelopeError(
          'a version 1 envelope cannot be re-wrapped (its segments authenticate the wrapped data key): ' +
            `decrypt it with ${header.keyUri} and encrypt it again instead`,
        );
      }
      const dataKey = await this.unwrap(header);
      yield encodeHeader(header.fixed, destination.keyUri, await destination.encrypt(dataKey, DATA_KEY_CONTEXT));
      if (queue.length > 0) yield queue.take(queue.length);
    }
    if (!header) throw new EnvelopeError('truncated: the envelope header is incomplete');
  }

  async rewrap(envelope: Uint8Array, destination: KeyManager): Promise<Buffer> {
    return collect(this.rewrapStream([envelope], destination));
  }

  async encrypt(objectKey: string, plaintext: Uint8Array): Promise<Buffer> {
    return collect(this.encryptStream(objectKey, [plaintext]));
  }

  async decrypt(objectKey: string, envelope: Uint8Array): Promise<Buffer> {
    return collect(this.decryptStream(objectKey, [envelope]));
  }

  private async unwrap(header: Header): Promise<Uint8Array> {
    if (scheme(header.keyUri) !== scheme(this.keys.keyUri)) {
      throw new EnvelopeError(
        `the object was encrypted with ${header.keyUri}, but this key manager is ${this.keys.keyUri}: ` +
          'configure SKYDUCK_CLOUD and SKYDUCK_KMS_KEY for the key that wrapped it',
      );
    }
    return this.dataKeys.unwrap(header.keyUri, header.wrapped);
  }
}

/** The key URI in an envelope's header (its first bytes suffice): which key manager can open it. */
export function keyUriOf(bytes: Uint8Array): string {
  const queue = new ByteQueue();
  queue.push(bytes);
  const header = readHeader(queue, [peek(bytes)]);
  if (!header) throw new EnvelopeError('truncated: the envelope header is incomplete');
  return header.keyUri;
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}
