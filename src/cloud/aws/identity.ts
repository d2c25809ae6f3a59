// Who skyduck runs as on AWS, and the credential provider the S3 and KMS clients use, both chosen by
// SKYDUCK_IDENTITY: `workload` accepts only the platform's identity (an IRSA web identity token file or
// EKS Pod Identity / ECS container credentials), `static` only access keys, `auto` the SDK's default chain.
import fs from 'node:fs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromEnv, fromHttp, fromIni, fromNodeProviderChain, fromTokenFile } from '@aws-sdk/credential-providers';
import { AccessDeniedError, CloudError, ConfigError, UnavailableError } from '../errors.ts';
import { withRetry } from '../retry.ts';
import { withDeadline } from '../../deadline.ts';
import type { CloudSettings } from '../settings.ts';
import type { FederationProvider, Identity } from '../types.ts';
import { type SdkError, isTransient, statusOf, summary, transport } from './transport.ts';

type CredentialProvider = ReturnType<typeof fromNodeProviderChain>;
type Credentials = Awaited<ReturnType<CredentialProvider>>;

/** A provider that hangs (an unreachable SSO portal, a stuck metadata endpoint) must not hang `identity()`. */
const RESOLVE_TIMEOUT_MS = 30_000;
/** An OIDC token is a JWT: three base64url parts separated by dots. */
const JWT = /^[\w-]+\.[\w-]+\.[\w-]*$/;
const REJECTED = new Set(['AccessDenied', 'InvalidIdentityToken', 'IDPRejectedClaim', 'ExpiredTokenException', 'InvalidClientTokenId', 'ExpiredToken']);
const AUTO_HINT = 'or set SKYDUCK_IDENTITY=auto';

/** The credential provider for one identity mode, with what it tries, for messages. */
interface Plan {
  name: string;
  /** What the provider tries, in words an operator can check. */
  tried: string;
  /** The role the credentials are for, when known before resolving them. */
  role?: string;
  provider: CredentialProvider;
}

/** Fails on first use, not at construction: creating a client must not throw for a missing identity. */
const failing = (name: string, tried: string, message: string): Plan => ({
  name,
  tried,
  provider: async () => {
    throw new ConfigError(message);
  },
});

/** Reads the token the way STS will get it, so a bad file is named here instead of in an STS refusal. */
function checkTokenFile(file: string): void {
  let token: string;
  try {
    token = fs.readFileSync(file, 'ascii').trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`cannot read the web identity token file ${file} (AWS_WEB_IDENTITY_TOKEN_FILE): ${code}; check the projected token volume`);
  }
  if (!token) throw new ConfigError(`the web identity token file ${file} (AWS_WEB_IDENTITY_TOKEN_FILE) is empty; check the projected token volume`);
  // The message describes the content, never quotes it: the token is a credential.
  if (!JWT.test(token)) throw new ConfigError(`the web identity token file ${file} (AWS_WEB_IDENTITY_TOKEN_FILE) does not hold a JWT (three base64url parts)`);
}

function webIdentityPlan(settings: CloudSettings, file: string): Plan {
  const name = 'aws web identity';
  const role = process.env.AWS_ROLE_ARN;
  if (!role) {
    return failing(name, `web identity token file ${file}`, `AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not: set it to the IAM role the token may assume (IRSA sets both)`);
  }
  const tokenFile = fromTokenFile({ webIdentityTokenFile: file, roleArn: role, clientConfig: { ...transport, region: settings.region } });
  return {
    name,
    tried: `web identity token file ${file} for role ${role}`,
    role,
    provider: async (props) => {
      checkTokenFile(file);
      return tokenFile(props);
    },
  };
}

function containerUrl(): string | undefined {
  const { AWS_CONTAINER_CREDENTIALS_FULL_URI: full, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: relative } = process.env;
  return full ?? (relative ? `http://169.254.170.2${relative}` : undefined);
}

function workloadPlan(settings: CloudSettings): Plan {
  const file = process.env.AWS_WEB_IDENTITY_TOKEN_FILE;
  if (file) return webIdentityPlan(settings, file);
  const url = containerUrl();
  // fromHttp reads the URL and the authorization token (file) from the same variables.
  if (url) return { name: 'aws container credentials', tried: `container credentials at ${url}`, provider: fromHttp({}) };
  const tried = 'a web identity token file (IRSA) and container credentials (EKS Pod Identity, ECS)';
  return failing('aws web identity', tried,
    'no workload identity: no web identity token file (AWS_WEB_IDENTITY_TOKEN_FILE is unset) and no container credentials ' +
      '(AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_CREDENTIALS_RELATIVE_URI are unset); ' +
      `on EKS enable IRSA or Pod Identity for the service account, ${AUTO_HINT}`);
}

function staticPlan(): Plan {
  const profile = process.env.AWS_PROFILE ?? 'default';
  const env = fromEnv();
  const ini = fromIni({ profile });
  return {
    name: 'aws static credentials',
    tried: `AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, then profile ${profile} of the AWS config files`,
    provider: async (props) => {
      try {
        return await env(props);
      } catch (error) {
        if ((error as SdkError).name !== 'CredentialsProviderError') throw error;
        return ini(props);
      }
    },
  };
}

function plan(settings: CloudSettings): Plan {
  switch (settings.identity ?? 'auto') {
    case 'workload':
      return workloadPlan(settings);
    case 'static':
      return staticPlan();
    case 'auto':
      return {
        name: 'aws credentials',
        tried: "the AWS SDK's default chain (environment keys, profile/SSO, web identity, container credentials, instance metadata)",
        provider: fromNodeProviderChain(),
      };
  }
}

/**
 * The `credentials` option for the S3 and KMS clients: the provider of SKYDUCK_IDENTITY, or undefined
 * under `auto` so each client keeps the SDK's default chain exactly (with its own region and profile).
 */
export function credentialsFor(settings: CloudSettings): CredentialProvider | undefined {
  return (settings.identity ?? 'auto') === 'auto' ? undefined : plan(settings).provider;
}

/** How the credentials were obtained, read from the features the SDK's providers record on them. */
function describeSource(credentials: Credentials, fallback: string): string {
  const features = (credentials as { $source?: Record<string, string> }).$source ?? {};
  const has = (...names: string[]) => names.some((name) => name in features);
  const { AWS_WEB_IDENTITY_TOKEN_FILE: file, AWS_ROLE_ARN: role, AWS_PROFILE: profile = 'default' } = process.env;
  if (has('CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN')) return `web identity token file ${file} (role ${role})`;
  if (has('CREDENTIALS_HTTP')) return `container credentials ${containerUrl()}`;
  if (has('CREDENTIALS_ENV_VARS')) return 'environment access keys';
  if (has('CREDENTIALS_PROFILE_SSO', 'CREDENTIALS_PROFILE_SSO_LEGACY', 'CREDENTIALS_SSO', 'CREDENTIALS_SSO_LEGACY')) return `SSO/profile ${profile}`;
  if (Object.keys(features).some((name) => name.startsWith('CREDENTIALS_PROFILE'))) return `profile ${profile}`;
  if (has('CREDENTIALS_IMDS')) return 'instance metadata (IMDS)';
  return fallback;
}

export class AwsWebIdentity implements FederationProvider {
  readonly name: string;
  private readonly plan: Plan;
  private readonly region: string;

  constructor(settings: CloudSettings) {
    this.plan = plan(settings);
    this.name = this.plan.name;
    this.region = settings.region ?? 'us-east-1';
  }

  identity(): Promise<Identity> {
    return withRetry(async () => {
      const credentials = await this.resolve();
      const principal = await this.callerArn(credentials);
      return { principal, expiresAt: credentials.expiration, source: describeSource(credentials, this.plan.tried) };
    });
  }

  private async resolve(): Promise<Credentials> {
    const site = { provider: 'aws' as const, resource: this.plan.role ?? 'credentials' };
    const expired = () => new UnavailableError(site, `no credentials within ${RESOLVE_TIMEOUT_MS / 1000} s from ${this.plan.tried}`);
    try {
      return await withDeadline(this.plan.provider(), RESOLVE_TIMEOUT_MS, expired);
    } catch (error) {
      throw this.mapResolveError(error);
    }
  }

  /** Messages quote only the SDK's error name and text, which never hold the token or keys. */
  private mapResolveError(error: unknown): Error {
    if (error instanceof ConfigError || error instanceof CloudError) return error;
    const options = { cause: error };
    const site = { provider: 'aws' as const, resource: this.plan.role ?? 'credentials' };
    const { name = '' } = error as SdkError;
    if (name === 'CredentialsProviderError') return new ConfigError(`no AWS credentials from ${this.plan.tried}: ${summary(error)}; ${AUTO_HINT}`, options);
    if (REJECTED.has(name) || statusOf(error) === 403) {
      const what = this.plan.role ? `STS refused to let ${this.plan.tried} assume the role` : `STS refused the credentials from ${this.plan.tried}`;
      return new AccessDeniedError(site, `${what}: ${summary(error)}; check the role's trust policy`, options);
    }
    if (isTransient(error)) return new UnavailableError(site, `cannot reach the credential source (${this.plan.tried}): ${summary(error)}`, options);
    return new Error(`aws: no credentials from ${this.plan.tried}: ${summary(error)}`, options);
  }

  private async callerArn(credentials: Credentials): Promise<string> {
    // The endpoint comes from AWS_ENDPOINT_URL_STS or AWS_ENDPOINT_URL, which the SDK reads itself.
    const sts = new STSClient({ ...transport, region: this.region, credentials });
    const site = { provider: 'aws' as const, resource: 'sts:GetCallerIdentity' };
    try {
      const { Arn } = await sts.send(new GetCallerIdentityCommand({}));
      if (!Arn) throw new Error('aws: STS GetCallerIdentity answered without an ARN');
      return Arn;
    } catch (error) {
      const options = { cause: error };
      if (isTransient(error)) throw new UnavailableError(site, `STS is unavailable: ${summary(error)}`, options);
      if (REJECTED.has((error as SdkError).name ?? '') || statusOf(error) === 403) {
        throw new AccessDeniedError(site, `STS rejected the credentials from ${this.plan.tried}: ${summary(error)}`, options);
      }
      throw error;
    } finally {
      sts.destroy();
    }
  }
}
