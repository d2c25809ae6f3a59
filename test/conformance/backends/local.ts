// The filesystem backend: always available.
import fs from 'node:fs';
import path from 'node:path';
import { createKeyManager, createStorage } from '../../../src/cloud/local/index.ts';
import { tempDir } from '../../support/process.ts';
import type { Backend } from '../backend.ts';

export const backend: Backend = {
  name: 'local (filesystem + key file)',
  missing: () => undefined,
  async storage() {
    const dataDir = tempDir('local-storage');
    return {
      open: (prefix) => createStorage({ dataDir, prefix }),
      teardown: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
    };
  },
  async keys() {
    const dataDir = tempDir('local-keys');
    return {
      keyManager: createKeyManager({ dataDir }),
      teardown: async () => fs.rmSync(path.join(dataDir), { recursive: true, force: true }),
    };
  },
};
