// Baseline for the start-up benchmark: the least a Node + DuckDB server can do. A bare script on the
// same Node binary that opens a DuckDB file through @duckdb/node-api and answers {sql} over node:http.
import http from 'node:http';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const [port, dataDir] = process.argv.slice(2);
const instance = await DuckDBInstance.create(path.join(dataDir, 'baseline.duckdb'));
const connection = await instance.connect();

http.createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  const reader = await connection.runAndReadAll(JSON.parse(body).sql);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ rows: reader.getRowsJson() }));
}).listen(Number(port), '127.0.0.1');
