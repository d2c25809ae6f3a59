import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { EngineError } from './errors.ts';

/**
 * Streams a request body to a new file `<dir>/ingest-<random>.<extension>` so DuckDB can read it from the one
 * directory its sandbox allows; the body is never held whole in memory. The name is ours alone (random, created
 * exclusively, 0600), which is why tables.ts may hand the path to SQL. Any failure removes the partial file.
 */
export async function spoolBody(
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  dir: string,
  maxBytes: number,
  extension: string,
): Promise<{ path: string; bytes: number }> {
  // The extension comes from our own format list; refusing anything else keeps the path free of separators.
  if (!/^[a-z0-9]+$/.test(extension)) throw new Error(`spool extension must be [a-z0-9]+, got ${JSON.stringify(extension)}`);
  const file = path.join(dir, `ingest-${randomBytes(16).toString('hex')}.${extension}`);
  let bytes = 0;
  // Throwing here ends the pipeline, which stops reading (and cancels) the body instead of draining it.
  async function* capped(source: AsyncIterable<Uint8Array>) {
    for await (const chunk of source) {
      bytes += chunk.byteLength;
      if (bytes > maxBytes) {
        throw new EngineError(
          413,
          'payload_too_large',
          `the body is larger than ${maxBytes} bytes, the ingest limit (SKYDUCK_MAX_INGEST_BYTES); send a smaller file, split it into several appends, or raise the limit`,
        );
      }
      yield chunk;
    }
  }
  // Opened apart from the pipeline so a failure to create (never ours to delete) is told from a failure to fill.
  const handle = await open(file, 'wx', 0o600);
  try {
    await pipeline(body, capped, handle.createWriteStream());
    if (bytes === 0) throw new EngineError(400, 'empty_body', 'the body is empty; send the file to ingest as the request body');
  } catch (error) {
    await removeQuietly(file);
    throw error;
  }
  return { path: file, bytes };
}

/** Deletes a spool file; a cleanup failure must not hide the error or the result that caused the cleanup. */
export async function removeQuietly(file: string): Promise<void> {
  await rm(file, { force: true }).catch(() => undefined);
}
