// Who skyduck runs as on Google Cloud, with the credentials SKYDUCK_IDENTITY allows. authFor() gives the
// storage and KMS adapters the same credentials, so the principal reported here is the one their calls
// use. Every access token stays inside google-auth-library: messages carry sources and principals only.
import os from 'node:os';
import path from 'node:path';
import { type AuthClient, Compute, GoogleAuth, gcpMetadata, JWT, UserRefreshClient } from 'google-auth-library';
import { AccessDeniedError, CloudError, ConfigError, type ErrorSite, UnavailableError } from '../errors.ts';
import { withDeadline } from '../../deadline.ts';
import type { CloudSettings, IdentityMode as Mode } from '../settings.ts';
import type { FederationProvider, Identity } from '../types.ts';


const SCOPES = ['https://www.googleapis.com/auth/cloud-platform'];
/**
 * identity() gives up after this long. The metadata client's own bound is 3 s a request with retries
 * off GCP, and none at all where it believes it runs on GCP (GKE without Workload Identity, say).
 */
const DEADLINE_MS = 10_000;

class DeadlineExceeded extends Error {}

/** Where google-auth-library sends metadata requests: GCE_METADATA_IP or _HOST replace the link-local address. */
const metadataHost = (): string => process.env.GCE_METADATA_IP || process.env.GCE_METADATA_HOST || '169.254.169.254';

/** The file ADC read: GOOGLE_APPLICATION_CREDENTIALS, else the one `gcloud auth application-default login` writes. */
function credentialsFile(): string {
  const configured = process.env.GOOGLE_APPLICATION_CREDENTIALS;
  if (configured) return configured;
  const gcloudConfig = process.env.CLOUDSDK_CONFIG
    ?? (process.platform === 'win32' ? path.join(process.env.APPDATA ?? '', 'gcloud') : path.join(os.homedir(), '.config', 'gcloud'));
  return path.join(gcloudConfig, 'application_default_credentials.json');
}

function staticKeyFile(): string {
  const file = process.env.GOOGLE_APPLICATION_CREDENTIALS;
  if (!file) {
    throw new ConfigError(
      'SKYDUCK_IDENTITY=static needs GOOGLE_APPLICATION_CREDENTIALS: set it to a service account key file, or use SKYDUCK_IDENTITY=auto',
    );
  }
  return file;
}

/**
 * The credentials the SDK clients get for `mode`. Undefined under auto: each SDK then finds Application
 * Default Credentials itself, as it always has (a laptop's gcloud login keeps working).
 */
export function authFor(mode: Mode = 'auto'): GoogleAuth | undefined {
  // The Compute client asks the metadata server only: no key file or gcloud login can stand in for it.
  if (mode === 'workload') return new GoogleAuth({ authClient: new Compute() });
  if (mode === 'static') return new GoogleAuth({ keyFilename: staticKeyFile(), scopes: SCOPES });
  return undefined;
}

/** Library messages can quote a response or a header; an access token must never reach a log. */
function detail(error: unknown): string {
  const message = (error as { message?: unknown })?.message;
  const line = typeof message === 'string' ? message.split('\n')[0]! : 'no message';
  return line.replace(/\bya29\.[\w.-]+/g, '[token]').replace(/Bearer\s+\S+/gi, 'Bearer [token]').slice(0, 300);
}

function httpStatus(error: unknown): number | undefined {
  const { status, response } = (error ?? {}) as { status?: unknown; response?: { status?: unknown } };
  return [status, response?.status].find((value): value is number => typeof value === 'number');
}

export class GcpWorkloadIdentity implements FederationProvider {
  private readonly mode: Mode;
  private readonly auth: GoogleAuth;
  /** Whether the last credential found came from the metadata server; under auto, unknown until then. */
  private fromMetadata: boolean;

  constructor(settings: CloudSettings) {
    this.mode = settings.identity ?? 'auto';
    this.auth = authFor(this.mode) ?? new GoogleAuth({ scopes: SCOPES });
    this.fromMetadata = this.mode === 'workload';
  }

  get name(): string {
    return this.fromMetadata ? 'gcp workload identity' : 'gcp credentials';
  }

  private get site(): ErrorSite {
    return { provider: 'gcp', resource: `SKYDUCK_IDENTITY=${this.mode}` };
  }

  async identity(): Promise<Identity> {
    let client: AuthClient | undefined;
    const find = async () => {
      client = await this.auth.getClient();
      this.fromMetadata = client instanceof Compute;
      return this.describe(client);
    };
    try {
      return await withDeadline(find(), DEADLINE_MS, () => new DeadlineExceeded());
    } catch (error) {
      throw this.mapError(error, client !== undefined);
    }
  }

  private async describe(client: AuthClient): Promise<Identity> {
    // getAccessToken refreshes a token that is expired or about to be, so expiresAt is the live token's.
    const { token } = await client.getAccessToken();
    if (!token) throw new Error('the credentials gave no access token');
    const expiry = client.credentials.expiry_date;
    return { ...(await this.whose(client, token)), ...(expiry ? { expiresAt: new Date(expiry) } : {}) };
  }

  private async whose(client: AuthClient, token: string): Promise<Omit<Identity, 'expiresAt'>> {
    if (client instanceof Compute) {
      const principal = String(await gcpMetadata.instance('service-accounts/default/email'));
      return { principal, source: `metadata server at ${metadataHost()}` };
    }
    if (client instanceof JWT) return { principal: client.email ?? 'a service account', source: `credentials file ${credentialsFile()}` };
    if (client instanceof UserRefreshClient) {
      // A user's refresh token names no one; Google's token info does, when the login granted the email scope.
      const { email } = await client.getTokenInfo(token);
      return { principal: email ?? 'a gcloud user', source: `gcloud user credentials ${credentialsFile()}` };
    }
    const { client_email: email } = await this.auth.getCredentials();
    return { principal: email ?? client.constructor.name, source: `Application Default Credentials (${client.constructor.name})` };
  }

  /** What a hanging or unreachable metadata server means, and what to do about it. */
  private noAnswer(): UnavailableError {
    const instead = this.mode === 'workload' ? 'SKYDUCK_IDENTITY=auto or GOOGLE_APPLICATION_CREDENTIALS' : 'GOOGLE_APPLICATION_CREDENTIALS';
    return new UnavailableError(
      this.site,
      `metadata server at ${metadataHost()} did not answer; on GKE enable Workload Identity, elsewhere set ${instead}`,
    );
  }

  /** `found`: the credentials were located, so the failure is the token's or the principal's. */
  private mapError(error: unknown, found: boolean): Error {
    if (error instanceof ConfigError || error instanceof CloudError) return error;
    const status = httpStatus(error);
    if (error instanceof DeadlineExceeded) {
      // Under auto, the one step of finding credentials that can hang is the metadata server probe.
      const metadata = this.fromMetadata || (!found && this.mode === 'auto');
      return metadata ? this.noAnswer() : new UnavailableError(this.site, `the token endpoint did not answer within ${DEADLINE_MS / 1000} s`);
    }
    if (this.fromMetadata && status === undefined) return this.noAnswer();
    if (!found && this.mode === 'static') {
      return new ConfigError(`GOOGLE_APPLICATION_CREDENTIALS=${credentialsFile()}: not a usable credentials file (${detail(error)})`);
    }
    if (!found) {
      return new AccessDeniedError(
        this.site,
        `no Google credentials found (${detail(error)}): run \`gcloud auth application-default login\`, set GOOGLE_APPLICATION_CREDENTIALS, or run on Google Cloud`,
      );
    }
    if (status !== undefined && status < 500) return new AccessDeniedError(this.site, `the credentials were refused (${status}: ${detail(error)})`);
    return new UnavailableError(this.site, `the token endpoint is unreachable or failing (${status ?? 'no response'}: ${detail(error)})`);
  }
}
