// What a backend provides to the conformance suite. One file per backend in ./backends/ exports
// `backend`; conformance.test.ts runs the same cases against each.
import type { BlobStorageClient, KeyManager } from '../../src/cloud/types.ts';

export interface StorageEnv {
  /** A client rooted at `prefix` inside this backend's bucket. */
  open(prefix: string): BlobStorageClient;
  teardown(): Promise<void>;
}

export interface KeysEnv {
  keyManager: KeyManager;
  teardown(): Promise<void>;
}

export interface Backend {
  name: string;
  /** Why this backend cannot run on this machine (an emulator missing), or undefined. */
  missing(): string | undefined;
  storage(): Promise<StorageEnv>;
  keys(): Promise<KeysEnv>;
}
