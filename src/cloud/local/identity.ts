import os from 'node:os';
import type { FederationProvider, Identity } from '../types.ts';

/** Local storage and keys are files: skyduck acts as the operating-system user that runs it. */
export class LocalIdentity implements FederationProvider {
  readonly name = 'local user';

  async identity(): Promise<Identity> {
    const { username, uid } = os.userInfo();
    return { principal: `${username} (uid ${uid})`, source: 'the operating system' };
  }
}
