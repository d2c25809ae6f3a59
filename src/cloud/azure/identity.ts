// Who skyduck runs as on Azure, and the one credential choice the Blob and Key Vault adapters share.
// SKYDUCK_IDENTITY picks the credential: `workload` only the platform's identity (AKS workload identity
// when AZURE_FEDERATED_TOKEN_FILE is set, else the managed identity), `static` only AZURE_* secrets or
// certificates from the environment, `auto` the SDK's DefaultAzureCredential chain.
//
// @azure/identity's managed identity goes through MSAL, which picks its token source (and endpoint) from
// the environment at the first token request and keeps it, with its token cache, for the whole process.
import {
  type AccessToken,
  DefaultAzureCredential,
  EnvironmentCredential,
  ManagedIdentityCredential,
  type TokenCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import { AccessDeniedError, CloudError, type ErrorSite, UnavailableError } from '../errors.ts';
import { withDeadline } from '../../deadline.ts';
import type { CloudSettings, IdentityMode as Mode } from '../settings.ts';
import type { FederationProvider, Identity } from '../types.ts';

/** Storage's scope: the token identity() fetches is one the Blob adapter could use. */
const STORAGE_SCOPE = 'https://storage.azure.com/.default';
const TOKEN_TIMEOUT_MS = 10_000;
const IMDS_HOST = 'http://169.254.169.254';
const FALLBACK = 'or set SKYDUCK_IDENTITY=auto';


/** Where the credential for a mode comes from, for names, sources and messages. */
interface Origin {
  name: string;
  /** For Identity.source and as the error's resource. */
  source: string;
  /** What failing means, and which setting fixes it. */
  hint: string;
}

/** The credential for the identity mode; both adapters build theirs here so they act as the same principal. */
export function azureCredential(settings: Pick<CloudSettings, 'identity'>): TokenCredential {
  const mode: Mode = settings.identity ?? 'auto';
  const env = process.env;
  if (mode === 'static') return new EnvironmentCredential();
  if (mode === 'auto') return new DefaultAzureCredential();
  if (env.AZURE_FEDERATED_TOKEN_FILE) return new WorkloadIdentityCredential();
  return env.AZURE_CLIENT_ID ? new ManagedIdentityCredential({ clientId: env.AZURE_CLIENT_ID }) : new ManagedIdentityCredential();
}

export class AzureManagedIdentity implements FederationProvider {
  readonly name: string;
  readonly #mode: Mode;
  readonly #origin: Origin;
  readonly #credential: TokenCredential;

  constructor(settings: CloudSettings) {
    this.#mode = settings.identity ?? 'auto';
    this.#origin = origin(this.#mode);
    this.name = this.#origin.name;
    this.#credential = azureCredential(settings);
  }

  async identity(): Promise<Identity> {
    // In static mode a storage connection string is a credential of its own, with no token to ask for.
    if (this.#mode === 'static' && process.env.AZURE_STORAGE_CONNECTION_STRING && !hasEnvironmentCredential()) {
      const account = connectionAccount();
      return { principal: account ? `storage account ${account}` : 'a storage account', source: 'AZURE_STORAGE_CONNECTION_STRING' };
    }
    const token = await this.#token();
    return {
      principal: principalOf(token.token) ?? process.env.AZURE_CLIENT_ID ?? 'unknown (the token carries no identity claims)',
      expiresAt: new Date(token.expiresOnTimestamp),
      source: this.#origin.source,
    };
  }

  /**
   * Bounded by a timer rather than the abort signal alone: the managed identity credential does not pass
   * the signal on to MSAL, so a silent endpoint would otherwise hold the caller indefinitely.
   */
  async #token(): Promise<AccessToken> {
    const site: ErrorSite = { provider: 'azure', resource: this.#origin.source };
    // The race as well as the signal: ManagedIdentityCredential does not pass the signal on to MSAL.
    const getToken = this.#credential.getToken(STORAGE_SCOPE, { abortSignal: AbortSignal.timeout(TOKEN_TIMEOUT_MS) });
    try {
      const token = await withDeadline(getToken, TOKEN_TIMEOUT_MS,
        () => new UnavailableError(site, `no token within ${TOKEN_TIMEOUT_MS / 1000} s: ${this.#origin.hint}`));
      if (!token) throw new AccessDeniedError(site, this.#origin.hint);
      return token;
    } catch (error) {
      throw error instanceof CloudError ? error : tokenError(site, this.#origin.hint, error);
    }
  }
}

function origin(mode: Mode): Origin {
  const env = process.env;
  if (mode === 'auto') {
    return {
      name: 'azure credentials',
      source: 'DefaultAzureCredential (environment, workload identity, managed identity, az login)',
      hint: 'no credential in the chain worked: run az login, run where a managed or workload identity is assigned, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET',
    };
  }
  if (mode === 'static') {
    return {
      name: 'azure credentials',
      source: 'AZURE_* environment credentials',
      hint: `set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH), ${FALLBACK}`,
    };
  }
  if (env.AZURE_FEDERATED_TOKEN_FILE) {
    return {
      name: 'azure workload identity',
      source: `federated token file ${env.AZURE_FEDERATED_TOKEN_FILE}`,
      hint: `the token exchange failed: check AZURE_CLIENT_ID and AZURE_TENANT_ID and that the pod's service account is federated with that identity, ${FALLBACK}`,
    };
  }
  const user = env.AZURE_CLIENT_ID ? ` (AZURE_CLIENT_ID must name a user-assigned identity attached here)` : '';
  if (env.IDENTITY_ENDPOINT) {
    return {
      name: 'azure managed identity',
      source: `managed identity endpoint ${env.IDENTITY_ENDPOINT}`,
      hint: `the managed identity endpoint gave no token${user}: check that a managed identity is enabled for this app, ${FALLBACK}`,
    };
  }
  const host = env.AZURE_POD_IDENTITY_AUTHORITY_HOST ?? IMDS_HOST;
  return {
    name: 'azure managed identity',
    source: `IMDS at ${host}`,
    hint: `no managed identity: IDENTITY_ENDPOINT is unset and IMDS did not answer with a token${user}; on AKS enable workload identity, ${FALLBACK}`,
  };
}

/**
 * @azure/identity's failures: 429 and 5xx from the token service may pass, everything else needs a fix.
 * The SDK's message goes in only redacted: it can quote a response, and a secret must never reach a log.
 */
function tokenError(site: ErrorSite, hint: string, error: unknown): CloudError {
  const { statusCode, message } = (error ?? {}) as { statusCode?: number; message?: string };
  const detail = message ? ` (${redact(message)})` : '';
  if (statusCode !== undefined && (statusCode === 429 || statusCode >= 500)) {
    return new UnavailableError(site, `token service unavailable (${statusCode}): ${hint}`, { cause: error });
  }
  return new AccessDeniedError(site, `${hint}${detail}`, { cause: error });
}

/** First line, at most 300 characters, with every long token-like run (tokens, secrets, header values) cut out. */
function redact(message: string): string {
  const line = message.split('\n')[0]!.replace(/[A-Za-z0-9_\-.~+/=]{32,}/g, '[redacted]');
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** The identity an Entra access token is for, read from its claims for display only (not verified). */
function principalOf(token: string): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const principal = claims.xms_mirid ?? claims.oid ?? claims.appid;
    return typeof principal === 'string' && principal ? principal : undefined;
  } catch {
    return undefined;
  }
}

function hasEnvironmentCredential(): boolean {
  const env = process.env;
  return Boolean(env.AZURE_TENANT_ID && env.AZURE_CLIENT_ID && (env.AZURE_CLIENT_SECRET || env.AZURE_CLIENT_CERTIFICATE_PATH));
}

/** The account a storage connection string names; never any other part of it (the key, a SAS). */
function connectionAccount(): string | undefined {
  return /(?:^|;)AccountName=([^;]+)/.exec(process.env.AZURE_STORAGE_CONNECTION_STRING ?? '')?.[1];
}

/** @azure/identity's failures: no credential in the chain, or the token service refused or failed. */
export function credentialError(site: ErrorSite, error: unknown): Error | undefined {
  const { name, statusCode } = (error ?? {}) as { name?: string; statusCode?: number };
  if (name === 'AuthenticationError' && statusCode !== undefined && (statusCode === 429 || statusCode >= 500)) {
    return new UnavailableError(site, `token service unavailable (${statusCode})`, { cause: error });
  }
  if (name === 'CredentialUnavailableError' || name === 'AggregateAuthenticationError' || name === 'AuthenticationError') {
    return new AccessDeniedError(site, 'no usable Azure credential for SKYDUCK_IDENTITY (auto tries managed identity, workload identity, AZURE_* environment and az login; see skyduck doctor)', { cause: error });
  }
  return undefined;
}
