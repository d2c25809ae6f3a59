// `skyduck keys`: create, list and revoke API keys in <data dir>/keys.json. A running server sees each
// change on its next request, so none of these needs a restart.
import { type KeyInfo, KeyStore } from '../agent/keys.ts';
import type { Config } from '../config/config.ts';

export type KeysAction =
  | { action: 'create'; scope: string; agent: string }
  | { action: 'list'; json: boolean }
  | { action: 'revoke'; id: string };

/** stdout carries only the result (for `KEY=$(skyduck keys create ...)`); stderr the words around it. */
export interface KeysOutput {
  stdout: string;
  stderr: string;
}

const status = (key: KeyInfo): string => (key.revoked ? 'revoked' : 'active');

function table(keys: KeyInfo[]): string {
  const rows = [['id', 'agent', 'scope', 'created', 'status'], ...keys.map((key) => [key.id, key.agent, key.scope, key.created, status(key)])];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => `${row.map((cell, i) => (i < 4 ? cell.padEnd(widths[i]!) : cell)).join('  ')}\n`).join('');
}

export function keys(config: Config, request: KeysAction): KeysOutput {
  const store = new KeyStore(config.dataDir);
  switch (request.action) {
    case 'create': {
      const { key, info } = store.create(request);
      return {
        stdout: `${key}\n`,
        stderr: `created key ${info.id} for agent ${info.agent} (scope ${info.scope}); it is shown only once: store it now\n`,
      };
    }
    case 'list': {
      const found = store.list();
      return { stdout: request.json ? `${JSON.stringify(found.map((key) => ({ ...key, status: status(key) })))}\n` : table(found), stderr: '' };
    }
    case 'revoke': {
      const info = store.revoke(request.id);
      return { stdout: `revoked key ${info.id} (agent ${info.agent}) at ${info.revoked}\n`, stderr: '' };
    }
  }
}
