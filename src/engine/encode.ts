// Result encoders. Values go through json-values.ts, which keeps every type without loss:
// BIGINT/HUGEINT/DECIMAL as strings, dates and timestamps as ISO-like text, lists as arrays, structs as
// objects, maps as [{key, value}], NaN/Infinity as strings. JSON is read from a materialized result up to
// the caps; NDJSON and CSV are streamed one DuckDB chunk at a time, pulled by the socket, so memory stays
// flat. @duckdb/node-api ends a stream whose query failed midway as if it had finished (it does not read
// duckdb_result_error), so a stream's end is confirmed by `confirmEnd` before it is reported complete.
import type { DuckDBMaterializedResult, DuckDBResult } from '@duckdb/node-api';
import { jsonValue } from './json-values.ts';
import type { Column } from './types.ts';

export const FORMATS = {
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8',
} as const;
export type Format = keyof typeof FORMATS;

export function columnsOf(result: DuckDBResult): Column[] {
  const names = result.columnNames();
  const types = result.columnTypes();
  return names.map((name, i) => ({ name, type: String(types[i]) }));
}

export interface Caps {
  maxRows: number;
  maxBytes: number;
}

export interface Buffered {
  columns: Column[];
  rows: unknown[][];
  truncated: boolean;
  /** Bytes of the rows as JSON text: what the audit ledger records. */
  bytes: number;
}

/**
 * Reads a materialized result, stopping at the row or byte cap (then `truncated`). Its chunks are already
 * in memory on DuckDB's side and are read synchronously: no round trip per chunk.
 */
export function readBuffered(result: DuckDBMaterializedResult, caps: Caps): Buffered {
  const rows: unknown[][] = [];
  let bytes = 0;
  let truncated = false;
  const chunks = result.chunkCount;
  for (let index = 0; index < chunks; index++) {
    const chunk = result.getChunk(index);
    if (chunk.rowCount === 0) continue;
    let converted = chunk.convertRows(jsonValue) as unknown[][];
    if (rows.length + converted.length > caps.maxRows) {
      converted = converted.slice(0, caps.maxRows - rows.length);
      truncated = true;
    }
    const size = JSON.stringify(converted).length;
    if (bytes + size > caps.maxBytes) {
      for (const row of converted) {
        const rowSize = JSON.stringify(row).length + 1;
        if (bytes + rowSize > caps.maxBytes) break;
        bytes += rowSize;
        rows.push(row);
      }
      truncated = true;
    } else {
      bytes += size;
      for (const row of converted) rows.push(row);
    }
    if (truncated) break;
  }
  return { columns: columnsOf(result), rows, truncated, bytes };
}

/** Column names made unique (a, a_1, ...) so each NDJSON line is an object a tool can read by name. */
function uniqueNames(names: string[]): string[] {
  const seen = new Set<string>();
  return names.map((name) => {
    let unique = name;
    for (let i = 1; seen.has(unique); i++) unique = `${name}_${i}`;
    seen.add(unique);
    return unique;
  });
}

type LineEncoder = (row: unknown[]) => string;

function ndjsonLine(names: string[]): LineEncoder {
  const prefixes = uniqueNames(names).map((name, i) => `${i === 0 ? '{' : ','}${JSON.stringify(name)}:`);
  return (row) => {
    let line = '';
    for (let i = 0; i < prefixes.length; i++) line += prefixes[i] + JSON.stringify(row[i] ?? null);
    return `${line || '{'}}\n`;
  };
}

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. Nested values as JSON. */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

const csvLine: LineEncoder = (row) => `${row.map(csvField).join(',')}\r\n`;

export interface StreamEnd {
  rows: number;
  bytes: number;
  error?: unknown;
}

/**
 * A byte stream of the result, produced only as fast as the client reads it. `onEnd` runs once, when
 * the last row was sent, the client went away or DuckDB failed; `describeError` turns a failure into
 * the last NDJSON line (CSV has no place for one: the response is cut short, which clients see).
 */
export function streamResult(
  result: DuckDBResult,
  format: 'ndjson' | 'csv',
  onEnd: (end: StreamEnd) => void,
  describeError: (error: unknown) => { code: string; message: string },
  confirmEnd: () => Promise<void>,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const line = format === 'ndjson' ? ndjsonLine(result.columnNames()) : csvLine;
  let header = format === 'csv' ? csvLine(result.columnNames()) : '';
  let rows = 0;
  let bytes = 0;
  let ended = false;
  const end = (error?: unknown) => {
    if (ended) return;
    ended = true;
    onEnd({ rows, bytes, error });
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const chunk = await result.fetchChunk();
          if (!chunk || chunk.rowCount === 0) {
            await confirmEnd();
            if (header) controller.enqueue(encoder.encode(header));
            controller.close();
            end();
            return;
          }
          let text = header;
          header = '';
          for (const row of chunk.convertRows(jsonValue) as unknown[][]) text += line(row);
          rows += chunk.rowCount;
          const encoded = encoder.encode(text);
          bytes += encoded.byteLength;
          controller.enqueue(encoded);
        } catch (error) {
          if (format === 'ndjson') {
            controller.enqueue(encoder.encode(`${JSON.stringify({ error: describeError(error) })}\n`));
            controller.close();
          } else {
            controller.error(error);
          }
          end(error);
        }
      },
      cancel() {
        end(new Error('the client closed the connection'));
      },
    },
    { highWaterMark: 0 },
  );
}
