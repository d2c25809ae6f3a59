export const IDENTITY_MODES = ['auto', 'workload', 'static'] as const;
export type IdentityMode = (typeof IDENTITY_MODES)[number];

/** The cloud-facing part of the configuration, the same for every cloud (names from DESIGN.md). */
export interface CloudSettings {
  /** S3/GCS bucket, `<account>/<container>` for Azure; for local, the storage directory. */
  bucket?: string;
  /** Key prefix inside the bucket ('' for none). */
  prefix?: string;
  region?: string;
  endpoint?: string;
  /** KMS key ARN, Cloud KMS key name, Key Vault key URL, or the local key file path. */
  key?: string;
  /** Key service endpoint URL (emulators, private endpoints); the SDK's default when unset. */
  kmsEndpoint?: string;
  /**
   * Where credentials come from: `auto` follows each SDK's default chain (a laptop's `aws sso login`,
   * `gcloud auth application-default login` or `az login` keeps working), `workload` accepts only the
   * platform's workload identity, `static` only keys from the environment or key files.
   */
  identity?: IdentityMode;
  /** skyduck's data dir: local storage and the local key file live under it by default. */
  dataDir: string;
}
