// Azure: Blob Storage on azurite, Key Vault on a fake that does real RSA, with a token from a fake
// managed identity endpoint, all through the real @azure SDKs and DefaultAzureCredential.
import { BlobServiceClient } from '@azure/storage-blob';
import { createKeyManager, createStorage } from '../../../src/cloud/azure/index.ts';
import { startFakeKeyVault } from '../../fakes/azure-key-vault.ts';
import { startFakeManagedIdentity } from '../../fakes/azure-managed-identity.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, azuriteMissing, startAzurite } from '../../support/emulators.ts';
import { setEnv } from '../../support/env.ts';
import { tempDir } from '../../support/process.ts';
import type { Backend } from '../backend.ts';

export const backend: Backend = {
  name: 'azure (Blob on azurite + Key Vault fake)',
  missing: azuriteMissing,

  async storage() {
    const azurite = await startAzurite();
    const connectionString = `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${azurite.endpoint};`;
    const restoreEnv = setEnv({ AZURE_STORAGE_CONNECTION_STRING: connectionString });
    const container = `conformance-${process.pid}`;
    await BlobServiceClient.fromConnectionString(connectionString).createContainer(container);
    const dataDir = tempDir('azure');
    return {
      open: (prefix) => createStorage({ bucket: `${AZURITE_ACCOUNT}/${container}`, prefix, dataDir }),
      async teardown() {
        restoreEnv();
        await azurite.stop();
      },
    };
  },

  async keys() {
    const identity = await startFakeManagedIdentity();
    const vault = await startFakeKeyVault({ token: identity.token });
    const restoreEnv = setEnv({ IDENTITY_ENDPOINT: identity.endpoint, IDENTITY_HEADER: identity.header });
    vault.createKey('skyduck-conformance');
    return {
      keyManager: createKeyManager({ key: `${vault.url}/keys/skyduck-conformance`, dataDir: tempDir('azure') }),
      async teardown() {
        restoreEnv();
        await Promise.all([vault.stop(), identity.stop()]);
      },
    };
  },
};
