// Local storage keeps every object below its root, whatever the key or the configured prefix says.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStorage } from '../../src/cloud/local/index.ts';
import { tempDir } from '../support/process.ts';

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('local storage paths', () => {
  it.each(['../../escape', '/etc', '..'])('keeps a prefix of %j inside the root', async (prefix) => {
    const dataDir = tempDir('local-prefix');
    const root = path.join(dataDir, 'storage');
    const client = createStorage({ dataDir, prefix });
    await client.putObject('../x/../../y', new Uint8Array([1]));
    expect(filesUnder(dataDir).every((file) => file.startsWith(`${root}${path.sep}`))).toBe(true);
    expect(await client.listObjects('')).toEqual(['../x/../../y']);
    expect([...(await client.getObject('../x/../../y'))]).toEqual([1]);
  });
});
