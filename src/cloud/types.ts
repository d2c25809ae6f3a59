// The three interfaces that hide the clouds. Everything outside src/cloud/ talks to these, never to an SDK.

import type { CloudClients, CloudSettings } from './settings.ts';

export type CloudName = 'local' | 'aws' | 'gcp' | 'azure';
export const CLOUD_NAMES: readonly CloudName[] = ['local', 'aws', 'gcp', 'azure'];

export interface BlobStorageClient {
  putObject(key: string, data: Uint8Array, opts?: { ifNoneMatch?: '*' }): Promise<void>;
  getObject(key: string): Promise<Uint8Array>;
  deleteObject(key: string): Promise<void>;
  listObjects(prefix: string): Promise<string[]>;
}

export interface KeyManager {
  encrypt(plaintext: Uint8Array, context?: Record<string, string>): Promise<Uint8Array>;
  decrypt(ciphertext: Uint8Array, context?: Record<string, string>): Promise<Uint8Array>;
  generateDataKey(): Promise<{ plaintext: Uint8Array; wrapped: Uint8Array; keyUri: string }>;
}

export interface FederationProvider {
  name: string;
  identity(): Promise<{ principal: string; expiresAt?: Date }>;
}

/** What every src/cloud/<cloud>/index.ts exports: the same shape for every cloud. */
export interface CloudModule {
  name: CloudName;
  /** The SDK packages this cloud's adapters are built on, as reported by /v1/info. */
  sdkPackages: readonly string[];
  createClients(settings: CloudSettings): CloudClients;
}

/** The running binary was built without the cloud the configuration asks for. */
export class ProviderNotCompiledError extends Error {
  readonly cloud: CloudName;
  constructor(cloud: CloudName, binary: string, carriers: readonly string[], compiled: readonly CloudName[]) {
    super(
      `SKYDUCK_CLOUD=${cloud} needs a binary built with ${cloud} support: use ${carriers.join(' or ')}. ` +
        `This is ${binary}, which has ${compiled.join(', ')}.`,
    );
    this.name = 'ProviderNotCompiledError';
    this.cloud = cloud;
  }
}
