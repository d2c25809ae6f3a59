// `skyduck keygen`: a new local key file. It never overwrites one: data wrapped with a key is lost with it.
import path from 'node:path';
import { defaultKeyFile } from '../cloud/local/index.ts';
import { writeKeyFile } from '../cloud/local/keys.ts';
import type { Config } from '../config/config.ts';

export function keygen(config: Config, out?: string): string {
  const file = path.resolve(out ?? (config.cloud === 'local' && config.key ? config.key : defaultKeyFile(config)));
  const id = writeKeyFile(file);
  return `wrote local key ${id} to ${file} (mode 0600)\n` +
    'back it up somewhere safe: snapshots encrypted under it cannot be read without it\n';
}
