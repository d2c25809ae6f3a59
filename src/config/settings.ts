// Every setting skyduck knows, in every build, with its environment names in the order they are read.
// The first name is the preferred one; later names are fallbacks kept for existing deployments.

export interface SettingSpec {
  /** Environment names, preferred first. */
  env: readonly string[];
  /** Fallback names that warn (they are skyduck's or S3-specific legacy names, not SDK-standard ones). */
  deprecated?: readonly string[];
  describe: string;
  /** A URL: printed without user info or query, which may carry credentials. */
  url?: boolean;
  /** How the value is written and printed: a count, a size (1MiB) or a duration (30s). */
  unit?: 'count' | 'bytes' | 'ms';
}

export const SETTINGS = {
  cloud: {
    env: ['SKYDUCK_CLOUD'],
    describe: 'cloud provider: local, aws, gcp or azure (aws if a legacy S3 name is set, else local)',
  },
  bucket: {
    env: ['SKYDUCK_STORAGE_BUCKET', 'SKYDUCK_S3_BUCKET', 'S3_BUCKET'],
    deprecated: ['SKYDUCK_S3_BUCKET', 'S3_BUCKET'],
    describe: 'bucket (S3, GCS) or <account>/<container> (Azure) that holds snapshots',
  },
  region: {
    env: ['SKYDUCK_CLOUD_REGION', 'SKYDUCK_AWS_REGION', 'AWS_REGION', 'AWS_DEFAULT_REGION'],
    deprecated: ['SKYDUCK_AWS_REGION'],
    describe: 'cloud region',
  },
  endpoint: {
    env: ['SKYDUCK_STORAGE_ENDPOINT', 'SKYDUCK_S3_ENDPOINT', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'],
    deprecated: ['SKYDUCK_S3_ENDPOINT'],
    describe: 'storage endpoint URL (emulators, private endpoints)',
    url: true,
  },
  key: {
    env: ['SKYDUCK_KMS_KEY', 'SKYDUCK_KMS_KEY_ARN', 'AWS_KMS_KEY_ARN'],
    deprecated: ['SKYDUCK_KMS_KEY_ARN', 'AWS_KMS_KEY_ARN'],
    describe: 'key that wraps data keys: KMS ARN, Cloud KMS key name or Key Vault key URL',
  },
  prefix: {
    env: ['SKYDUCK_STORAGE_PREFIX'],
    describe: 'key prefix inside the bucket (default none)',
  },
  kmsEndpoint: {
    env: ['SKYDUCK_KMS_ENDPOINT', 'AWS_ENDPOINT_URL_KMS'],
    describe: 'key service endpoint URL (emulators, private endpoints)',
    url: true,
  },
  identity: {
    env: ['SKYDUCK_IDENTITY'],
    describe: 'where cloud credentials come from: auto (the SDK default chain), workload (the platform identity only) or static (keys from the environment or key files)',
  },
  dataDir: {
    env: ['SKYDUCK_DATA_DIR'],
    describe: 'directory of the DuckDB database (default ./skyduck-data)',
  },
  listen: {
    env: ['SKYDUCK_LISTEN'],
    describe: 'host:port the HTTP API listens on (default 127.0.0.1:8080; 0.0.0.0 only when asked)',
  },
  nativeCache: {
    env: ['SKYDUCK_NATIVE_CACHE'],
    describe: "directory DuckDB's native library is extracted to (must allow exec)",
  },
  maxConcurrentQueries: {
    env: ['SKYDUCK_MAX_CONCURRENT_QUERIES'],
    unit: 'count',
    describe: 'queries running at once; past it a request gets 429 with Retry-After (default 16)',
  },
  queryTimeout: {
    env: ['SKYDUCK_QUERY_TIMEOUT'],
    unit: 'ms',
    describe: 'a statement is interrupted after this long, e.g. 30s, 5m (default 60s)',
  },
  maxResultRows: {
    env: ['SKYDUCK_MAX_RESULT_ROWS'],
    unit: 'count',
    describe: 'rows in one JSON result before it is cut and marked truncated (default 100000; streams are not cut)',
  },
  maxResultBytes: {
    env: ['SKYDUCK_MAX_RESULT_BYTES'],
    unit: 'bytes',
    describe: 'bytes of one JSON result before it is cut and marked truncated, e.g. 64MiB (default 64MiB)',
  },
  maxBodyBytes: {
    env: ['SKYDUCK_MAX_BODY_BYTES'],
    unit: 'bytes',
    describe: 'largest JSON request body, e.g. 1MiB (default 1MiB); larger bodies get 413',
  },
  maxIngestBytes: {
    env: ['SKYDUCK_MAX_INGEST_BYTES'],
    unit: 'bytes',
    describe: 'largest table upload, streamed to disk, e.g. 10GiB (default 10GiB); larger uploads get 413',
  },
  requestTimeout: {
    env: ['SKYDUCK_REQUEST_TIMEOUT'],
    unit: 'ms',
    describe: 'time a client has to send a whole request, e.g. 300s (default 300s)',
  },
  memoryLimit: {
    env: ['SKYDUCK_MEMORY_LIMIT'],
    unit: 'bytes',
    describe: "DuckDB's memory limit, e.g. 4GiB (default DuckDB's: 80% of RAM)",
  },
  snapshotInterval: {
    env: ['SKYDUCK_SNAPSHOT_INTERVAL'],
    unit: 'ms',
    describe: 'take a snapshot this often when data changed, e.g. 15m (default: only on request and at exit)',
  },
  snapshotKeep: {
    env: ['SKYDUCK_SNAPSHOT_KEEP'],
    unit: 'count',
    describe: 'snapshots kept in the blob store; older ones and their unshared objects are deleted (default 7)',
  },
  snapshotExitTimeout: {
    env: ['SKYDUCK_SNAPSHOT_EXIT_TIMEOUT'],
    unit: 'ms',
    describe: 'on SIGTERM, a snapshot of changed data is given this long before exit, e.g. 25s (default 25s)',
  },
  logLevel: {
    env: ['SKYDUCK_LOG_LEVEL'],
    describe: 'debug, info, warn or error (default info); requests are logged at debug, refusals at info, failures at error',
  },
  corsOrigins: {
    env: ['SKYDUCK_CORS_ORIGINS'],
    describe: 'comma-separated browser origins allowed to call the API (default none: CORS off)',
  },
  threads: {
    env: ['SKYDUCK_THREADS'],
    unit: 'count',
    describe: "DuckDB's worker threads (default one per core)",
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;

/** SKYDUCK_* variables that are not settings of the table above but are still read. */
export const OTHER_VARIABLES = [
  'SKYDUCK_TRACE_STARTUP',
] as const;

/** Legacy names whose presence alone selects aws when SKYDUCK_CLOUD is unset. */
export const LEGACY_AWS_SIGNALS = ['SKYDUCK_S3_BUCKET', 'S3_BUCKET', 'SKYDUCK_S3_ENDPOINT'] as const;
