// DuckDB values as JSON, without loss. @duckdb/node-api's JSON converter does almost all of it (BIGINT,
// HUGEINT and DECIMAL as strings, lists, structs, maps, unions); this wraps it where its text cannot be
// read back by DuckDB: infinite dates and timestamps (it prints their raw sentinel as a far date) and
// blobs (it leaves a backslash byte unescaped, so "\x41" the text and "A" the byte would look alike).
// The one loss left: -0.0 is sent as 0, because JSON.stringify writes -0 as 0.
import {
  type DuckDBBlobValue, DuckDBDateValue, DuckDBTimestampMillisecondsValue, DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue, DuckDBTimestampTZValue, DuckDBTimestampValue, DuckDBTypeId, type DuckDBValueConverter,
  type Json, JsonDuckDBValueConverter,
} from '@duckdb/node-api';

/** The values that mean +infinity and -infinity, per type: DuckDB stores them as the type's extremes. */
const INFINITIES: Partial<Record<DuckDBTypeId, { pos: string; neg: string }>> = {};
const sentinel = (value: object) => Object.values(value).map(String).join();
for (const [typeId, type] of [
  [DuckDBTypeId.DATE, DuckDBDateValue],
  [DuckDBTypeId.TIMESTAMP, DuckDBTimestampValue],
  [DuckDBTypeId.TIMESTAMP_S, DuckDBTimestampSecondsValue],
  [DuckDBTypeId.TIMESTAMP_MS, DuckDBTimestampMillisecondsValue],
  [DuckDBTypeId.TIMESTAMP_NS, DuckDBTimestampNanosecondsValue],
  [DuckDBTypeId.TIMESTAMP_TZ, DuckDBTimestampTZValue],
] as const) {
  INFINITIES[typeId] = { pos: sentinel(type.PosInf), neg: sentinel(type.NegInf) };
}

/** Printable ASCII as is, every other byte and the backslash as \xHH: DuckDB's own BLOB-to-text form. */
export function blobText(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) {
    text += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return text;
}

// Module constants, read once: in the bundle every access to an imported binding goes through a getter,
// and this function runs once per value (measured: 15% of a stream's time before they were hoisted).
const BLOB = DuckDBTypeId.BLOB;
const base = JsonDuckDBValueConverter;

export const jsonValue: DuckDBValueConverter<Json> = (value, type, converter) => {
  if (value !== null && value !== undefined) {
    if (type.typeId === BLOB) return blobText((value as DuckDBBlobValue).bytes);
    const infinity = INFINITIES[type.typeId];
    if (infinity) {
      const key = sentinel(value as object);
      if (key === infinity.pos) return 'infinity';
      if (key === infinity.neg) return '-infinity';
    }
  }
  // Nested values (lists, structs, maps) come back through `converter`, which is this function.
  return base(value, type, converter);
};
