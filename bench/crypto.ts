// npm run bench:crypto: envelope encrypt and decrypt of 256 MiB (1 MiB segments) against
// `openssl speed -evp aes-256-gcm` on 1 MiB blocks, one core, in the same run.
// Writes bench/results/crypto.json.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalKeyManager } from '../src/cloud/local/keys.ts';
import { Envelope } from '../src/crypto/envelope.ts';
import { median } from './startup.ts';

const results = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
const MiB = 1 << 20;
const SIZE = 256 * MiB;

function opensslBytesPerSecond(): number {
  const out = execFileSync('openssl', ['speed', '-seconds', '2', '-bytes', String(MiB), '-evp', 'aes-256-gcm'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const match = /AES-256-GCM\s+([\d.]+)k/.exec(out);
  if (!match) throw new Error(`cannot read openssl speed output:\n${out}`);
  return Number(match[1]) * 1000;
}

async function* chunks(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

async function drain(stream: AsyncIterable<Buffer>, keep: Buffer[] | undefined): Promise<void> {
  for await (const part of stream) keep?.push(part);
}

async function main(): Promise<void> {
  const plaintext = randomBytes(SIZE);
  const envelope = new Envelope(new LocalKeyManager(randomBytes(32)));
  const encrypt: number[] = [];
  const decrypt: number[] = [];
  const openssl: number[] = [];
  const sealed: Buffer[] = [];
  await drain(envelope.encryptStream('bench/object', chunks(plaintext, 4 * MiB)), sealed);
  const ciphertext = Buffer.concat(sealed);
  for (let round = 0; round < 5; round++) {
    // Outputs are consumed and dropped, as a stream to storage would: no time spent growing memory.
    let started = performance.now();
    await drain(envelope.encryptStream('bench/object', chunks(plaintext, 4 * MiB)), undefined);
    encrypt.push(SIZE / ((performance.now() - started) / 1000));
    started = performance.now();
    await drain(envelope.decryptStream('bench/object', chunks(ciphertext, 4 * MiB)), undefined);
    decrypt.push(SIZE / ((performance.now() - started) / 1000));
    openssl.push(opensslBytesPerSecond());
  }
  const row = {
    openssl_mb_s: median(openssl) / 1e6,
    encrypt_mb_s: median(encrypt) / 1e6,
    decrypt_mb_s: median(decrypt) / 1e6,
  };
  const ratios = { encrypt_vs_openssl: row.encrypt_mb_s / row.openssl_mb_s, decrypt_vs_openssl: row.decrypt_mb_s / row.openssl_mb_s };
  const report = { date: new Date().toISOString(), size_bytes: SIZE, segment_bytes: MiB, ...row, ...ratios, target: '>= 0.5 of openssl' };
  fs.mkdirSync(results, { recursive: true });
  fs.writeFileSync(path.join(results, 'crypto.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`openssl aes-256-gcm (1 MiB blocks): ${row.openssl_mb_s.toFixed(0)} MB/s`);
  console.log(`envelope encrypt 256 MiB:           ${row.encrypt_mb_s.toFixed(0)} MB/s (${ratios.encrypt_vs_openssl.toFixed(2)}x openssl)`);
  console.log(`envelope decrypt 256 MiB:           ${row.decrypt_mb_s.toFixed(0)} MB/s (${ratios.decrypt_vs_openssl.toFixed(2)}x openssl)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
